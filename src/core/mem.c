/* Guest physical memory lookup with bounds checks (see lhyve/mem.h). */
#include <errno.h>
#include <string.h>

#include "lhyve/mem.h"

void gm_layout(uint64_t ram_size, uint64_t *lowmem, uint64_t *highmem)
{
	if (ram_size > GM_LOWMEM_LIMIT) {
		*lowmem = GM_LOWMEM_LIMIT;
		*highmem = ram_size - GM_LOWMEM_LIMIT;
	} else {
		*lowmem = ram_size;
		*highmem = 0;
	}
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}
