/*
 * Firmware tables written into guest memory: e820 map, ACPI (RSDP, XSDT,
 * FADT, FACS, MADT, HPET?, DSDT), Intel MP table, SMBIOS. Layout from
 * x86_platform.h. Builders return 0 or -errno (never write outside RAM).
 */
#ifndef LHYVE_TABLES_H
#define LHYVE_TABLES_H

#include <stdbool.h>
#include <stdint.h>
#include "mem.h"

/* ---- e820 ---- */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_MAX 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct e820_map {
	struct e820_entry e[E820_MAX];
	unsigned n;
};

/*
 * RAM [0, PLAT_EBDA), reserved [PLAT_EBDA, 1 MiB) (EBDA, ACPI, SMBIOS, BIOS
 * area), RAM [1 MiB, lowmem), RAM [4 GiB, 4 GiB + highmem) if highmem.
 */
void e820_build(struct e820_map *map, uint64_t lowmem, uint64_t highmem);
/*
 * Insert [addr, addr+size) keeping the map sorted. Returns 0, -EINVAL (empty
 * or wrapping range), -EEXIST (overlaps an entry) or -ENOSPC (map full).
 * For reserving MMIO windows the OS must know about: with PCI the machine
 * calls e820_add(map, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED) after
 * e820_build().
 */
int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type);

/* ---- ACPI ---- */
struct acpi_params {
	unsigned ncpus;      /* APIC IDs are 0..ncpus-1 */
	bool x2apic;         /* guest starts in x2APIC mode (-x) */
	bool hpet;           /* describe an HPET (only if the core provides one) */
	/*
	 * Describe the PCI host bridge: \_SB.PCI0 (PNP0A08, bus 0-255, I/O and
	 * memory windows, _PRT routing INTx to pci_intx_gsi()), the ECAM window
	 * as a PNP0C02 motherboard resource, and an MCFG table.
	 */
	bool pci;
	/* 64-bit PCI memory window [base, base + size) (pci only; size 0: none). */
	uint64_t mmio64_base, mmio64_size;
	uint64_t lowmem, highmem;
	unsigned com_mask;   /* bit N set: COM(N+1) exists (described in the DSDT) */
};
/*
 * Write RSDP, XSDT, RSDT, FADT, FACS, MADT, [MCFG,] DSDT into
 * [PLAT_ACPI_BASE, PLAT_ACPI_END) (RSDP first, at PLAT_ACPI_BASE);
 * *rsdp_gpa = RSDP address. Returns 0, -EINVAL (ncpus not 1..254, or a 64-bit
 * window below 4 GiB or wrapping), -EOPNOTSUPP (hpet not yet described),
 * -ENOSPC (tables do not fit), -EFAULT (region not in RAM).
 */
int acpi_build(struct guest_mem *gm, const struct acpi_params *p, uint64_t *rsdp_gpa);

/*
 * ---- MP table (MP spec 1.4) at PLAT_EBDA ----
 * Floating pointer then configuration table, all below 0xA0000 (1 KiB).
 * irqs[0..nirqs): PCI bus 0 functions with an INTx pin (slot 0-31, pin 1-4 =
 * INTA#-INTD#); duplicates are merged. With nirqs > 0 the table has a PCI
 * bus (ID 0, ISA becomes ID 1) and one I/O interrupt entry per distinct
 * (slot, pin): source IRQ (slot << 2) | (pin - 1), I/O APIC pin
 * pci_intx_gsi(slot, pin), level-triggered, active low. nirqs == 0: ISA only
 * (bus ID 0). Returns 0, -EINVAL (ncpus 0 or > 254, bad slot/pin), -ENOSPC
 * (does not fit: 40 CPUs without PCI; each PCI entry and the bus take 8
 * bytes, a CPU 20), -EFAULT.
 */
struct mp_pci_irq {
	uint8_t slot, pin;
};
int mptable_build(struct guest_mem *gm, unsigned ncpus, const struct mp_pci_irq *irqs,
		  unsigned nirqs);

/* ---- SMBIOS 2.x entry point + structures at PLAT_SMBIOS_BASE ---- */
struct smbios_params {
	uint8_t uuid[16];    /* system UUID (type 1), in SMBIOS byte order */
	unsigned ncpus;
	uint64_t ram_size;
	/* Strings (NULL = default). Keys of bhyve_config(5): bios.vendor ... */
	const char *bios_vendor, *bios_version, *bios_release_date;
	const char *system_manufacturer, *system_product_name, *system_version,
		*system_serial_number, *system_sku, *system_family_name;
	const char *board_manufacturer, *board_product_name, *board_version,
		*board_serial_number, *board_asset_tag, *board_location;
	const char *chassis_manufacturer, *chassis_version, *chassis_serial_number,
		*chassis_asset_tag, *chassis_sku;
};
/*
 * SMBIOS 2.8 32-bit entry point at PLAT_SMBIOS_BASE, then structures types
 * 0, 1, 2, 3, 4 (x ncpus), 16, 17, 19 (per RAM range), 32, 127. Empty strings
 * leave the field unset. Returns 0, -EINVAL, -ENOSPC or -EFAULT.
 */
int smbios_build(struct guest_mem *gm, const struct smbios_params *p);

#endif
