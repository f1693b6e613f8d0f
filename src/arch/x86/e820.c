/*
 * The e820 memory map handed to loaders (Linux boot_params, PVH memmap,
 * multiboot mmap). Pure computation on a caller-owned struct: no locking.
 */
#include <errno.h>
#include <string.h>

#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define E820_1MIB 0x100000ULL
#define E820_4GIB 0x100000000ULL

int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	unsigned i;

	if (size == 0 || addr + size < addr)
		return -EINVAL;
	if (map->n > E820_MAX)
		return -EINVAL;
	for (i = 0; i < map->n; i++) {
		const struct e820_entry *e = &map->e[i];
		if (addr < e->addr + e->size && e->addr < addr + size)
			return -EEXIST;
	}
	/* Insertion point: entries are sorted and disjoint. */
	for (i = 0; i < map->n && map->e[i].addr < addr; i++)
		;
	if (map->n == E820_MAX)
		return -ENOSPC;
	memmove(&map->e[i + 1], &map->e[i], (map->n - i) * sizeof(map->e[0]));
	map->e[i].addr = addr;
	map->e[i].size = size;
	map->e[i].type = type;
	map->n++;
	return 0;
}

void e820_build(struct e820_map *map, uint64_t lowmem, uint64_t highmem)
{
	memset(map, 0, sizeof(*map));

	/* Conventional memory below the EBDA (a tiny guest gets what it has). */
	if (lowmem)
		e820_add(map, 0, MIN(lowmem, (uint64_t)PLAT_EBDA), E820_RAM);
	/* EBDA + MP table, ACPI tables, SMBIOS, BIOS area: reserved to 1 MiB. */
	e820_add(map, PLAT_EBDA, E820_1MIB - PLAT_EBDA, E820_RESERVED);
	if (lowmem > GM_LOWMEM_LIMIT)
		lowmem = GM_LOWMEM_LIMIT;
	if (lowmem > E820_1MIB)
		e820_add(map, E820_1MIB, lowmem - E820_1MIB, E820_RAM);
	if (highmem && highmem <= UINT64_MAX - E820_4GIB)
		e820_add(map, E820_4GIB, highmem, E820_RAM);
}
