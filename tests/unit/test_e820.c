/* e820 map: layout for several RAM sizes, ordering, e820_add. */
#include <errno.h>

#include "unit.h"

#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

static void check_sorted(const struct e820_map *m)
{
	for (unsigned i = 1; i < m->n; i++)
		CHECK(m->e[i - 1].addr + m->e[i - 1].size <= m->e[i].addr);
	for (unsigned i = 0; i < m->n; i++)
		CHECK(m->e[i].size > 0);
}

static void check_entry(const struct e820_map *m, unsigned i, uint64_t addr,
			uint64_t size, uint32_t type)
{
	CHECK(i < m->n);
	if (i >= m->n)
		return;
	CHECK_EQ(m->e[i].addr, addr);
	CHECK_EQ(m->e[i].size, size);
	CHECK_EQ(m->e[i].type, type);
}

static void check_layout(uint64_t ram)
{
	struct e820_map m;
	uint64_t lo, hi;

	gm_layout(ram, &lo, &hi);
	e820_build(&m, lo, hi);
	CHECK_EQ(m.n, hi ? 4 : 3);
	check_sorted(&m);
	check_entry(&m, 0, 0, PLAT_EBDA, E820_RAM);
	check_entry(&m, 1, PLAT_EBDA, 0x100000 - PLAT_EBDA, E820_RESERVED);
	check_entry(&m, 2, 0x100000, lo - 0x100000, E820_RAM);
	if (hi)
		check_entry(&m, 3, 4 * GiB, hi, E820_RAM);
	/* Every table region lies in reserved memory. */
	uint64_t total = 0;
	for (unsigned i = 0; i < m.n; i++) {
		const struct e820_entry *e = &m.e[i];
		if (e->type == E820_RAM) {
			total += e->size;
			CHECK(!(e->addr < PLAT_SMBIOS_END && PLAT_EBDA < e->addr + e->size));
			CHECK(!(e->addr < 4 * GiB && 3 * GiB < e->addr + e->size));
		}
	}
	CHECK_EQ(total, ram - (0x100000 - PLAT_EBDA));
}

static void test_256m(void) { check_layout(256 * MiB); }
static void test_3g(void) { check_layout(3 * GiB); }
static void test_5g(void) { check_layout(5 * GiB); }

static void test_entry_size(void)
{
	/* The boot protocol layout: 8 + 8 + 4 bytes, packed. */
	CHECK_EQ(sizeof(struct e820_entry), 20);
}

static void test_add(void)
{
	struct e820_map m;

	e820_build(&m, 256 * MiB, 0);
	/* Reserve the PCIe ECAM window: inserted in order. */
	CHECK_EQ(e820_add(&m, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED), 0);
	check_entry(&m, 3, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED);
	/* Something between existing entries lands in the middle. */
	CHECK_EQ(e820_add(&m, 512 * MiB, MiB, E820_ACPI), 0);
	check_entry(&m, 3, 512 * MiB, MiB, E820_ACPI);
	check_entry(&m, 4, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED);
	check_sorted(&m);
	/* Overlaps and bad ranges. */
	CHECK_EQ(e820_add(&m, 0, 1, E820_RESERVED), -EEXIST);
	CHECK_EQ(e820_add(&m, 200 * MiB, 100 * MiB, E820_RESERVED), -EEXIST);
	CHECK_EQ(e820_add(&m, PLAT_ECAM_BASE - 1, 2, E820_RESERVED), -EEXIST);
	CHECK_EQ(e820_add(&m, 1 * GiB, 0, E820_RESERVED), -EINVAL);
	CHECK_EQ(e820_add(&m, UINT64_MAX, 2, E820_RESERVED), -EINVAL);
	/* Adjacent is fine. */
	CHECK_EQ(e820_add(&m, 256 * MiB, MiB, E820_RESERVED), 0);
	check_sorted(&m);
	/* Fill up. */
	unsigned n = m.n;
	for (unsigned i = n; i < E820_MAX; i++)
		CHECK_EQ(e820_add(&m, 8 * GiB + i * MiB, MiB, E820_RESERVED), 0);
	CHECK_EQ(m.n, E820_MAX);
	CHECK_EQ(e820_add(&m, 16 * GiB, MiB, E820_RESERVED), -ENOSPC);
	check_sorted(&m);
}

/* What the machine does with PCI: reserve the ECAM window in the hole. */
static void check_ecam(uint64_t ram)
{
	struct e820_map m;
	uint64_t lo, hi;

	gm_layout(ram, &lo, &hi);
	e820_build(&m, lo, hi);
	unsigned n = m.n;
	CHECK_EQ(e820_add(&m, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED), 0);
	CHECK_EQ(m.n, n + 1);
	check_sorted(&m);
	check_entry(&m, 3, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED);
	check_entry(&m, 2, 0x100000, lo - 0x100000, E820_RAM);
	if (hi)
		check_entry(&m, 4, 4 * GiB, hi, E820_RAM);
	/* The window lies in the PCI hole, above the 32-bit BAR window. */
	CHECK(lo <= PLAT_PCI_MMIO_BASE);
	CHECK(PLAT_PCI_MMIO_BASE < PLAT_ECAM_BASE);
	CHECK(PLAT_ECAM_BASE + PLAT_ECAM_SIZE <= PLAT_IOAPIC_BASE);
	/* Twice is an overlap, not a second entry. */
	CHECK_EQ(e820_add(&m, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED), -EEXIST);
	CHECK_EQ(m.n, n + 1);
}

static void test_ecam_256m(void) { check_ecam(256 * MiB); }
static void test_ecam_3g(void) { check_ecam(3 * GiB); }
static void test_ecam_5g(void) { check_ecam(5 * GiB); }

static void test_tiny(void)
{
	struct e820_map m;

	/* Below 1 MiB: only what exists, plus the reserved BIOS area. */
	e820_build(&m, 512 * KiB, 0);
	CHECK_EQ(m.n, 2);
	check_entry(&m, 0, 0, 512 * KiB, E820_RAM);
	check_entry(&m, 1, PLAT_EBDA, 0x100000 - PLAT_EBDA, E820_RESERVED);
	check_sorted(&m);
}

int main(void)
{
	RUN(test_256m);
	RUN(test_3g);
	RUN(test_5g);
	RUN(test_entry_size);
	RUN(test_add);
	RUN(test_ecam_256m);
	RUN(test_ecam_3g);
	RUN(test_ecam_5g);
	RUN(test_tiny);
	return unit_report();
}
