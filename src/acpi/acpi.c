/*
 * ACPI table builder (ACPI 6.x, chapter 5). The tables are laid out in a host
 * buffer that mirrors [PLAT_ACPI_BASE, PLAT_ACPI_END) and copied into guest
 * memory in one gm_write() at the end, so a failure leaves guest memory
 * untouched. Layout: RSDP (at the base), FACS, DSDT, FADT, MADT, [more
 * tables], RSDT, XSDT. Run once at VM set-up: no locking.
 *
 * Adding a table: write an acpi_build_xxx() that calls
 * acpi_table_alloc() + acpi_table_done() and call it from acpi_build_tables();
 * the RSDT/XSDT pick it up automatically. DSDT content goes in acpi_dsdt_*().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/aml.h"
#include "lhyve/log.h"
#include "lhyve/pci.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define ACPI_OEM_ID "LHYVE "       /* 6 bytes */
#define ACPI_OEM_TABLE_ID "LHYVE   " /* 8 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "LHYV"
#define ACPI_CREATOR_REVISION 1

#define ACPI_HDR_LEN 36
#define ACPI_RSDP_LEN 36
#define ACPI_FACS_LEN 64
#define ACPI_FADT_LEN 276 /* revision 6 layout */
#define ACPI_MAX_TABLES 16
#define ACPI_MAX_CPUS 254  /* xAPIC IDs 0..253, I/O APIC ID = ncpus */

/* Generic Address Structure: address space IDs and access sizes. */
#define ACPI_GAS_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2
#define ACPI_GAS_ACCESS_DWORD 3

/* FADT Flags (Table 5.10). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* set = control-method power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* set = no fixed sleep button */
#define ACPI_FADT_FIX_RTC (1u << 6)
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH (Table 5.11). */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)

#define ACPI_FADT_CENTURY 0x32
#define ACPI_FADT_MINOR 3 /* ACPI 6.3 */

/* MADT (5.2.12). */
#define ACPI_MADT_PCAT_COMPAT 1
#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_ISO 2
#define ACPI_MADT_LAPIC_NMI 4
#define ACPI_MADT_X2APIC 9
#define ACPI_MADT_X2APIC_NMI 10
#define ACPI_MADT_ENABLED 1
/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2. */
#define ACPI_INTI_POL_HIGH 0x1
#define ACPI_INTI_TRIG_EDGE (0x1 << 2)
#define ACPI_INTI_TRIG_LEVEL (0x3 << 2)

/* MCFG (PCI Firmware spec 3.x, 4.1.2): header, 8 reserved, allocations. */
#define ACPI_MCFG_ALLOC_LEN 16
#define ACPI_MCFG_LEN (ACPI_HDR_LEN + 8 + ACPI_MCFG_ALLOC_LEN)

/* PCI host bridge (bus 0) as described in the DSDT. */
#define ACPI_PCI_SLOTS 32
#define ACPI_PCI_PINS 4
#define ACPI_PCI_CFG_PORT 0xCF8  /* CONFIG_ADDRESS/CONFIG_DATA, 8 ports */
#define ACPI_PCI_CFG_PORT_LEN 8
#define ACPI_VGA_BASE 0xA0000
#define ACPI_VGA_END 0xBFFFF
#define ACPI_4GIB 0x100000000ULL

struct acpi_ctx {
	const struct acpi_params *p;
	uint8_t *buf;   /* host image of [base, base + cap) */
	size_t len, cap;
	uint64_t base;
	uint64_t facs, dsdt; /* guest addresses */
	uint64_t table[ACPI_MAX_TABLES]; /* listed in RSDT/XSDT */
	unsigned ntables;
};

/* Reserve len bytes aligned to align; *off = offset in c->buf. */
static int acpi_alloc(struct acpi_ctx *c, size_t len, size_t align, size_t *off)
{
	size_t start = ALIGN_UP(c->len, align);

	if (start > c->cap || len > c->cap - start)
		return -ENOSPC;
	memset(c->buf + start, 0, len);
	c->len = start + len;
	*off = start;
	return 0;
}

static void acpi_checksum(uint8_t *t, size_t len, size_t csum_off)
{
	t[csum_off] = 0;
	t[csum_off] = (uint8_t)-byte_sum(t, len);
}

/* Standard 36-byte System Description Table header; checksum set later. */
static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put_le32(t + 24, ACPI_OEM_REVISION);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put_le32(t + 32, ACPI_CREATOR_REVISION);
}

/* Allocate a table of len bytes (16-aligned) and fill its header; *off = offset. */
static int acpi_table_alloc(struct acpi_ctx *c, const char *sig, size_t len,
			    uint8_t rev, size_t *off)
{
	int ret;

	if (len > UINT32_MAX)
		return -ENOSPC;
	ret = acpi_alloc(c, len, 16, off);
	if (ret)
		return ret;
	acpi_header(c->buf + *off, sig, (uint32_t)len, rev);
	return 0;
}

/* Checksum the table at off and, if list, add it to the RSDT/XSDT. */
static int acpi_table_done(struct acpi_ctx *c, size_t off, bool list)
{
	uint8_t *t = c->buf + off;

	acpi_checksum(t, get_le32(t + 4), 9);
	if (!list)
		return 0;
	if (c->ntables == ACPI_MAX_TABLES)
		return -ENOSPC;
	c->table[c->ntables++] = c->base + off;
	return 0;
}

static void acpi_gas(uint8_t *g, uint8_t space, uint8_t bit_width, uint8_t access,
		     uint64_t addr)
{
	g[0] = space;
	g[1] = bit_width;
	g[2] = 0; /* bit offset */
	g[3] = access;
	put_le64(g + 4, addr);
}

static int acpi_build_facs(struct acpi_ctx *c)
{
	size_t off;
	int ret = acpi_alloc(c, ACPI_FACS_LEN, 64, &off); /* 64-byte aligned */

	if (ret)
		return ret;
	uint8_t *t = c->buf + off;
	memcpy(t, "FACS", 4);
	put_le32(t + 4, ACPI_FACS_LEN);
	/* Hardware signature 0, waking vectors 0, global lock 0, flags 0. */
	t[32] = 2; /* version */
	c->facs = c->base + off;
	return 0;
}

/* ---- DSDT ---- */

static void acpi_dsdt_s5(struct aml *a)
{
	aml_name(a, "\\_S5");
	aml_package_begin(a, 4);
	aml_integer(a, PLAT_SLP_TYP_S5); /* SLP_TYPa */
	aml_integer(a, PLAT_SLP_TYP_S5); /* SLP_TYPb */
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
}

/* Processor devices; _UID matches the MADT ACPI Processor UID (= index). */
static void acpi_dsdt_cpus(struct aml *a, const struct acpi_params *p)
{
	char name[8];

	for (unsigned i = 0; i < p->ncpus; i++) {
		snprintf(name, sizeof(name), "C%03X", i & 0xFFF);
		aml_device_begin(a, name);
		aml_name(a, "_HID");
		aml_string(a, "ACPI0007");
		aml_name(a, "_UID");
		aml_integer(a, i);
		aml_end(a);
	}
}

static void acpi_dsdt_uart(struct aml *a, unsigned idx)
{
	char name[8];
	uint16_t port = plat_com_port[idx];

	snprintf(name, sizeof(name), "COM%u", (idx + 1) & 7);
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, idx + 1);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, port, port, 1, 8);
	aml_rt_irq_noflags(a, (uint16_t)(1u << plat_com_irq[idx]));
	aml_end(a);
	aml_end(a);
}

/*
 * Open Device(name) with _HID EISAID(hid) and a _CRS resource template; the
 * caller adds the resources, then closes template and device (aml_end x2).
 */
static void acpi_dsdt_crs_device(struct aml *a, const char *name, const char *hid)
{
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
}

/* ISA/LPC devices, directly under \_SB whether or not PCI is described. */
static void acpi_dsdt_legacy(struct aml *a, const struct acpi_params *p)
{
	for (unsigned i = 0; i < ARRAY_SIZE(plat_com_port); i++)
		if (p->com_mask & (1u << i))
			acpi_dsdt_uart(a, i);

	acpi_dsdt_crs_device(a, "RTC", "PNP0B00");
	aml_rt_io(a, PLAT_RTC, PLAT_RTC, 1, 2);
	aml_rt_irq_noflags(a, 1u << PLAT_IRQ_RTC);
	aml_end(a);
	aml_end(a);

	acpi_dsdt_crs_device(a, "KBD", "PNP0303");
	aml_rt_io(a, PLAT_I8042_DATA, PLAT_I8042_DATA, 1, 1);
	aml_rt_io(a, PLAT_I8042_CMD, PLAT_I8042_CMD, 1, 1);
	aml_end(a);
	aml_end(a);

	acpi_dsdt_crs_device(a, "PIT", "PNP0100");
	aml_rt_io(a, PLAT_PIT, PLAT_PIT, 1, 4);
	aml_rt_irq_noflags(a, 1u << PLAT_IRQ_PIT);
	aml_end(a);
	aml_end(a);

	/* Motherboard resources: ACPI PM/GPE block and the SMI command port. */
	acpi_dsdt_crs_device(a, "SYSR", "PNP0C02");
	aml_rt_io(a, PLAT_PM1A_EVT, PLAT_PM1A_EVT, 1,
		  PLAT_GPE0 + PLAT_GPE0_LEN - PLAT_PM1A_EVT);
	aml_rt_io(a, PLAT_SMI_CMD, PLAT_SMI_CMD, 1, 1);
	/* The ECAM window (MCFG): Linux wants it reserved here or in e820. */
	if (p->pci)
		aml_rt_mem32_fixed(a, (uint32_t)PLAT_ECAM_BASE, (uint32_t)PLAT_ECAM_SIZE);
	aml_end(a);
	aml_end(a);
}

/* _CRS of PCI0: what the host bridge decodes and forwards to bus 0. */
static void acpi_dsdt_pci_crs(struct aml *a, const struct acpi_params *p)
{
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0x00, 0xFF);
	/* Configuration mechanism #1 ports: consumed by the bridge itself. */
	aml_rt_io(a, ACPI_PCI_CFG_PORT, ACPI_PCI_CFG_PORT, 1, ACPI_PCI_CFG_PORT_LEN);
	aml_rt_word_io(a, 0x0000, ACPI_PCI_CFG_PORT - 1);
	aml_rt_word_io(a, ACPI_PCI_CFG_PORT + ACPI_PCI_CFG_PORT_LEN, 0xFFFF);
	aml_rt_dword_mem(a, ACPI_VGA_BASE, ACPI_VGA_END, true);
	aml_rt_dword_mem(a, (uint32_t)PLAT_PCI_MMIO_BASE, (uint32_t)(PLAT_ECAM_BASE - 1), false);
	if (p->mmio64_size)
		aml_rt_qword_mem(a, p->mmio64_base, p->mmio64_base + p->mmio64_size - 1, true);
	aml_end(a);
}

/*
 * _PRT: every slot's INTA#-INTD# wired straight to an I/O APIC input
 * (Source 0: SourceIndex is a GSI, level-triggered, active low).
 */
static void acpi_dsdt_pci_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package_begin(a, ACPI_PCI_SLOTS * ACPI_PCI_PINS);
	for (unsigned slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < ACPI_PCI_PINS; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, ((uint64_t)slot << 16) | 0xFFFF); /* any function */
			aml_integer(a, pin);                              /* 0 = INTA# */
			aml_integer(a, 0);                                /* Source */
			aml_integer(a, pci_intx_gsi(slot, pin + 1));      /* SourceIndex */
			aml_end(a);
		}
	}
	aml_end(a);
}

/* \_SB.PCI0: the PCI Express host bridge of segment 0, buses 0-255. */
static void acpi_dsdt_pci(struct aml *a, const struct acpi_params *p)
{
	aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	/* No _ADR: a device has _HID or _ADR, not both (ACPI 6.1.5). */
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	acpi_dsdt_pci_crs(a, p);
	acpi_dsdt_pci_prt(a);
	aml_end(a);
}

static int acpi_build_dsdt(struct acpi_ctx *c)
{
	struct aml a;
	size_t off;
	int ret;

	ret = aml_init(&a);
	if (ret)
		return ret;
	acpi_dsdt_s5(&a);
	aml_scope_begin(&a, "\\_SB");
	acpi_dsdt_cpus(&a, c->p);
	acpi_dsdt_legacy(&a, c->p);
	if (c->p->pci)
		acpi_dsdt_pci(&a, c->p);
	aml_end(&a);
	ret = aml_finish(&a);
	if (ret)
		goto err_aml;

	/* Revision 2: 64-bit AML integers. */
	ret = acpi_table_alloc(c, "DSDT", ACPI_HDR_LEN + a.len, 2, &off);
	if (ret)
		goto err_aml;
	memcpy(c->buf + off + ACPI_HDR_LEN, a.buf, a.len);
	ret = acpi_table_done(c, off, false); /* reached through the FADT */
	if (ret)
		goto err_aml;
	c->dsdt = c->base + off;
	aml_free(&a);
	return 0;

err_aml:
	aml_free(&a);
	return ret;
}

/* ---- FADT ---- */

static int acpi_build_fadt(struct acpi_ctx *c)
{
	size_t off;
	int ret = acpi_table_alloc(c, "FACP", ACPI_FADT_LEN, 6, &off);

	if (ret)
		return ret;
	uint8_t *t = c->buf + off;
	put_le32(t + 36, (uint32_t)c->facs);  /* FIRMWARE_CTRL */
	put_le32(t + 40, (uint32_t)c->dsdt);  /* DSDT */
	t[45] = 0;                            /* Preferred_PM_Profile: unspecified */
	put_le16(t + 46, PLAT_IRQ_SCI);       /* SCI_INT */
	put_le32(t + 48, PLAT_SMI_CMD);
	t[52] = PLAT_ACPI_ENABLE;
	t[53] = PLAT_ACPI_DISABLE;
	put_le32(t + 56, PLAT_PM1A_EVT);      /* PM1a_EVT_BLK */
	put_le32(t + 64, PLAT_PM1A_CNT);      /* PM1a_CNT_BLK */
	put_le32(t + 76, PLAT_PM_TMR);        /* PM_TMR_BLK */
	put_le32(t + 80, PLAT_GPE0);          /* GPE0_BLK */
	t[88] = PLAT_PM1A_EVT_LEN;
	t[89] = PLAT_PM1A_CNT_LEN;
	t[91] = PLAT_PM_TMR_LEN;
	t[92] = PLAT_GPE0_LEN;
	put_le16(t + 96, 101);                /* P_LVL2_LAT > 100: no C2 */
	put_le16(t + 98, 1001);               /* P_LVL3_LAT > 1000: no C3 */
	t[108] = ACPI_FADT_CENTURY;
	put_le16(t + 109, ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042);
	put_le32(t + 112, ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
			  ACPI_FADT_FIX_RTC | ACPI_FADT_RESET_REG_SUP);
	acpi_gas(t + 116, ACPI_GAS_IO, 8, ACPI_GAS_ACCESS_BYTE, PLAT_RESET_PORT);
	t[128] = PLAT_RESET_VALUE;
	t[131] = ACPI_FADT_MINOR;
	put_le64(t + 132, c->facs);           /* X_FIRMWARE_CTRL */
	put_le64(t + 140, c->dsdt);           /* X_DSDT */
	acpi_gas(t + 148, ACPI_GAS_IO, PLAT_PM1A_EVT_LEN * 8, ACPI_GAS_ACCESS_WORD,
		 PLAT_PM1A_EVT);
	acpi_gas(t + 172, ACPI_GAS_IO, PLAT_PM1A_CNT_LEN * 8, ACPI_GAS_ACCESS_WORD,
		 PLAT_PM1A_CNT);
	acpi_gas(t + 208, ACPI_GAS_IO, PLAT_PM_TMR_LEN * 8, ACPI_GAS_ACCESS_DWORD,
		 PLAT_PM_TMR);
	acpi_gas(t + 220, ACPI_GAS_IO, PLAT_GPE0_LEN * 8, ACPI_GAS_ACCESS_BYTE, PLAT_GPE0);
	memcpy(t + 268, "LHYVE\0\0\0", 8);    /* Hypervisor Vendor Identity */
	return acpi_table_done(c, off, true);
}

/* ---- MADT ---- */

static int acpi_build_madt(struct acpi_ctx *c)
{
	const struct acpi_params *p = c->p;
	size_t cpu_len = p->x2apic ? 16 : 8, nmi_len = p->x2apic ? 12 : 6;
	size_t len = ACPI_HDR_LEN + 8 + p->ncpus * cpu_len + 12 + 2 * 10 + nmi_len;
	size_t off;
	int ret = acpi_table_alloc(c, "APIC", len, 5, &off);

	if (ret)
		return ret;
	uint8_t *t = c->buf + off, *e = t + ACPI_HDR_LEN + 8;
	put_le32(t + 36, (uint32_t)PLAT_LAPIC_BASE);
	put_le32(t + 40, ACPI_MADT_PCAT_COMPAT);

	for (unsigned i = 0; i < p->ncpus; i++) {
		if (p->x2apic) {
			e[0] = ACPI_MADT_X2APIC;
			e[1] = 16;
			put_le32(e + 4, i);             /* x2APIC ID */
			put_le32(e + 8, ACPI_MADT_ENABLED);
			put_le32(e + 12, i);            /* ACPI Processor UID */
		} else {
			e[0] = ACPI_MADT_LAPIC;
			e[1] = 8;
			e[2] = (uint8_t)i;              /* ACPI Processor UID */
			e[3] = (uint8_t)i;              /* APIC ID */
			put_le32(e + 4, ACPI_MADT_ENABLED);
		}
		e += cpu_len;
	}

	e[0] = ACPI_MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)p->ncpus;                       /* I/O APIC ID */
	put_le32(e + 4, (uint32_t)PLAT_IOAPIC_BASE);
	put_le32(e + 8, 0);                             /* GSI base */
	e += 12;

	/* ISA IRQ0 (PIT) -> GSI 2, edge, bus-conforming polarity. */
	e[0] = ACPI_MADT_ISO;
	e[1] = 10;
	e[2] = 0;                                       /* bus: ISA */
	e[3] = PLAT_IRQ_PIT;
	put_le32(e + 4, 2);
	put_le16(e + 8, ACPI_INTI_TRIG_EDGE);
	e += 10;
	/* SCI: ISA IRQ9 -> GSI 9, level, active high. */
	e[0] = ACPI_MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = PLAT_IRQ_SCI;
	put_le32(e + 4, PLAT_IRQ_SCI);
	put_le16(e + 8, ACPI_INTI_TRIG_LEVEL | ACPI_INTI_POL_HIGH);
	e += 10;

	/* NMI on LINT1 of every processor. */
	if (p->x2apic) {
		e[0] = ACPI_MADT_X2APIC_NMI;
		e[1] = 12;
		put_le16(e + 2, 0);                     /* flags: conforming */
		put_le32(e + 4, 0xFFFFFFFFu);           /* all processors */
		e[8] = 1;                               /* LINT1 */
	} else {
		e[0] = ACPI_MADT_LAPIC_NMI;
		e[1] = 6;
		e[2] = 0xFF;                            /* all processors */
		put_le16(e + 3, 0);                     /* flags: conforming */
		e[5] = 1;                               /* LINT1 */
	}
	e += nmi_len;
	if ((size_t)(e - t) != len)
		abort(); /* our own layout arithmetic */
	return acpi_table_done(c, off, true);
}

/* ---- MCFG ---- */

/* One ECAM allocation: segment 0, buses 0-255 at PLAT_ECAM_BASE. */
static int acpi_build_mcfg(struct acpi_ctx *c)
{
	size_t off;
	int ret = acpi_table_alloc(c, "MCFG", ACPI_MCFG_LEN, 1, &off);

	if (ret)
		return ret;
	uint8_t *e = c->buf + off + ACPI_HDR_LEN + 8; /* after 8 reserved bytes */
	put_le64(e, PLAT_ECAM_BASE);
	put_le16(e + 8, 0);      /* PCI segment group */
	e[10] = 0;               /* start bus */
	e[11] = (uint8_t)((PLAT_ECAM_SIZE >> 20) - 1); /* end bus: 1 MiB per bus */
	return acpi_table_done(c, off, true);
}

/* ---- RSDT, XSDT, RSDP ---- */

static int acpi_build_rsdt_xsdt(struct acpi_ctx *c, uint64_t *rsdt, uint64_t *xsdt)
{
	size_t off;
	int ret;

	ret = acpi_table_alloc(c, "RSDT", ACPI_HDR_LEN + 4 * c->ntables, 1, &off);
	if (ret)
		return ret;
	for (unsigned i = 0; i < c->ntables; i++)
		put_le32(c->buf + off + ACPI_HDR_LEN + 4 * i, (uint32_t)c->table[i]);
	ret = acpi_table_done(c, off, false);
	if (ret)
		return ret;
	*rsdt = c->base + off;

	ret = acpi_table_alloc(c, "XSDT", ACPI_HDR_LEN + 8 * c->ntables, 1, &off);
	if (ret)
		return ret;
	for (unsigned i = 0; i < c->ntables; i++)
		put_le64(c->buf + off + ACPI_HDR_LEN + 8 * i, c->table[i]);
	ret = acpi_table_done(c, off, false);
	if (ret)
		return ret;
	*xsdt = c->base + off;
	return 0;
}

static void acpi_fill_rsdp(uint8_t *r, uint64_t rsdt, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;                              /* revision: ACPI 2.0+ */
	put_le32(r + 16, (uint32_t)rsdt);
	put_le32(r + 20, ACPI_RSDP_LEN);
	put_le64(r + 24, xsdt);
	acpi_checksum(r, 20, 8);                /* ACPI 1.0 part */
	acpi_checksum(r, ACPI_RSDP_LEN, 32);    /* extended checksum */
}

static int acpi_build_tables(struct acpi_ctx *c)
{
	uint64_t rsdt, xsdt;
	size_t rsdp_off;
	int ret;

	ret = acpi_alloc(c, ACPI_RSDP_LEN, 16, &rsdp_off);
	if (ret)
		return ret;
	ret = acpi_build_facs(c);
	if (ret)
		return ret;
	ret = acpi_build_dsdt(c);
	if (ret)
		return ret;
	ret = acpi_build_fadt(c);
	if (ret)
		return ret;
	ret = acpi_build_madt(c);
	if (ret)
		return ret;
	if (c->p->pci) {
		ret = acpi_build_mcfg(c);
		if (ret)
			return ret;
	}
	/* HPET, ... go here, each listed through acpi_table_done(). */
	ret = acpi_build_rsdt_xsdt(c, &rsdt, &xsdt);
	if (ret)
		return ret;
	acpi_fill_rsdp(c->buf + rsdp_off, rsdt, xsdt);
	return 0;
}

int acpi_build(struct guest_mem *gm, const struct acpi_params *p, uint64_t *rsdp_gpa)
{
	struct acpi_ctx c;
	int ret;

	if (p->ncpus == 0 || p->ncpus > ACPI_MAX_CPUS) {
		log_err("acpi: unsupported CPU count %u (1..%u)", p->ncpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (p->hpet) {
		log_err("acpi: HPET tables are not implemented");
		return -EOPNOTSUPP;
	}
	if (p->pci && p->mmio64_size &&
	    (p->mmio64_base < ACPI_4GIB || p->mmio64_base + p->mmio64_size < p->mmio64_base)) {
		log_err("acpi: bad 64-bit PCI window %#llx+%#llx",
			(unsigned long long)p->mmio64_base, (unsigned long long)p->mmio64_size);
		return -EINVAL;
	}
	if (!gm_ptr(gm, PLAT_ACPI_BASE, PLAT_ACPI_END - PLAT_ACPI_BASE))
		return -EFAULT;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.base = PLAT_ACPI_BASE;
	c.cap = PLAT_ACPI_END - PLAT_ACPI_BASE;
	c.buf = calloc(1, c.cap);
	if (!c.buf)
		return -ENOMEM;
	ret = acpi_build_tables(&c);
	if (ret) {
		if (ret == -ENOSPC)
			log_err("acpi: tables do not fit in %#zx bytes", c.cap);
		goto err_buf;
	}
	/* Zero the unused rest too, so no stale table is found by a scan. */
	ret = gm_write(gm, PLAT_ACPI_BASE, c.buf, c.cap);
	if (ret)
		goto err_buf;
	*rsdp_gpa = c.base;
	free(c.buf);
	return 0;

err_buf:
	free(c.buf);
	return ret;
}
