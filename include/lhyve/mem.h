/*
 * Guest physical memory as seen by device models: a few regions of host
 * memory. Every guest-supplied address goes through gm_ptr(), which checks
 * that the whole [gpa, gpa+len) range lies inside one region (overflow-safe).
 */
#ifndef LHYVE_MEM_H
#define LHYVE_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

/* x86 layout: RAM below 3 GiB, MMIO hole 3-4 GiB, the rest from 4 GiB. */
#define GM_LOWMEM_LIMIT 0xC0000000ULL
#define GM_HIGHMEM_BASE 0x100000000ULL

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct gm_region region[GM_MAX_REGIONS];
	unsigned nregions;
	uint64_t lowmem;  /* bytes of RAM at [0, lowmem) */
	uint64_t highmem; /* bytes of RAM at [4 GiB, 4 GiB + highmem) */
};

/* Split a RAM size into low and high parts per the layout above. */
void gm_layout(uint64_t ram_size, uint64_t *lowmem, uint64_t *highmem);
/* Host pointer for [gpa, gpa+len) or NULL if not entirely inside one region. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy out of / into guest memory; -EFAULT if the range is not RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len);

#endif
