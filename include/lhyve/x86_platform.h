/*
 * Fixed x86 platform facts shared by the device models, the ACPI/MP/SMBIOS
 * builders, the loaders and the core, so that they all describe one machine.
 */
#ifndef LHYVE_X86_PLATFORM_H
#define LHYVE_X86_PLATFORM_H

/* ---- I/O ports ---- */
#define PLAT_PIC_MASTER 0x20 /* 8259 pairs: 2 ports each */
#define PLAT_PIC_SLAVE 0xA0
#define PLAT_ELCR 0x4D0       /* edge/level control, 2 ports */
#define PLAT_PIT 0x40
#define PLAT_PIT_LEN 4
#define PLAT_NMI_SC 0x61 /* NMI status and control: PIT channel 2 gate/output */
#define PLAT_I8042_DATA 0x60
#define PLAT_I8042_CMD 0x64 /* write 0xFE: pulse reset line */
#define PLAT_RTC 0x70       /* index 0x70, data 0x71 */
#define PLAT_POST 0x80
#define PLAT_SMI_CMD 0xB2
#define PLAT_ACPI_ENABLE 0xA0  /* value written to SMI_CMD */
#define PLAT_ACPI_DISABLE 0xA1
#define PLAT_RESET_PORT 0xCF9  /* reset control register */
#define PLAT_RESET_VALUE 0x06  /* FADT RESET_VALUE written to it */
#define PLAT_PM1A_EVT 0x400    /* 4 bytes: PM1_STS (2), PM1_EN (2) */
#define PLAT_PM1A_EVT_LEN 4
#define PLAT_PM1A_CNT 0x404    /* 2 bytes */
#define PLAT_PM1A_CNT_LEN 2
#define PLAT_PM_TMR 0x408      /* 4 bytes, 24-bit counter at 3.579545 MHz */
#define PLAT_PM_TMR_LEN 4
#define PLAT_GPE0 0x40C        /* 4 bytes: GPE0_STS (2), GPE0_EN (2) */
#define PLAT_GPE0_LEN 4
#define PLAT_SLP_TYP_S5 5      /* SLP_TYPa value of \_S5 in the DSDT */
#define PLAT_PM_TMR_HZ 3579545

static const unsigned short plat_com_port[4] = { 0x3F8, 0x2F8, 0x3E8, 0x2E8 };
static const unsigned char plat_com_irq[4] = { 4, 3, 4, 3 };

/* ---- ISA IRQs / GSIs ---- */
#define PLAT_IRQ_PIT 0 /* wired to IOAPIC pin 2 (MADT interrupt override) */
#define PLAT_IRQ_RTC 8
#define PLAT_IRQ_SCI 9 /* level, active high (MADT interrupt override) */
#define PLAT_NUM_IOAPIC_PINS 24

/* ---- MMIO ---- */
#define PLAT_IOAPIC_BASE 0xFEC00000ULL
#define PLAT_IOAPIC_LEN 0x1000ULL
#define PLAT_LAPIC_BASE 0xFEE00000ULL
#define PLAT_HPET_BASE 0xFED00000ULL
#define PLAT_PCI_MMIO_BASE 0xC0000000ULL /* 32-bit PCI hole start (= lowmem limit) */
#define PLAT_ECAM_BASE 0xE0000000ULL     /* PCIe ECAM, bus 0-255: 256 MiB */
#define PLAT_ECAM_SIZE 0x10000000ULL

/* ---- Low memory map used by the loaders and table builders ---- */
#define PLAT_GDT_ADDR 0x500        /* boot GDT (core) */
#define PLAT_BOOT_STACK 0x6000     /* initial stack top (grows down to 0x1000) */
#define PLAT_PVH_START_INFO 0x6000 /* hvm_start_info + modlist + memmap */
#define PLAT_ZERO_PAGE 0x7000      /* Linux boot_params */
#define PLAT_PML4 0x9000           /* identity page tables for 64-bit entry */
#define PLAT_PDPT 0xA000
#define PLAT_PD 0xB000             /* 4 pages: identity-map 4 GiB with 2 MiB pages */
#define PLAT_MB_INFO 0xF000        /* multiboot info block (4 KiB) */
#define PLAT_CMDLINE 0x20000       /* kernel command line */
#define PLAT_CMDLINE_MAX 0x10000
#define PLAT_EBDA 0x9FC00          /* MP table lives here; reserved to 1 MiB */
#define PLAT_ACPI_BASE 0xE0000     /* RSDP then tables, up to 0xEFFFF */
#define PLAT_ACPI_END 0xF0000
#define PLAT_SMBIOS_BASE 0xF0000   /* SMBIOS entry point then structures */
#define PLAT_SMBIOS_END 0x100000

#endif
