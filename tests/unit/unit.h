/*
 * Tiny unit test framework. A test file defines static test functions and
 *   int main(void) { RUN(test_a); RUN(test_b); return unit_report(); }
 * Output ends with "N passed, N failed" (counted per CHECK).
 */
#ifndef LHYVE_UNIT_H
#define LHYVE_UNIT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/mem.h"

static int unit_passed, unit_failed;
static const char *unit_current;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			unit_passed++;                                       \
		} else {                                                     \
			unit_failed++;                                       \
			fprintf(stderr, "FAIL %s:%d %s: %s\n", __FILE__,     \
				__LINE__, unit_current, #cond);              \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);           \
		if (va_ == vb_) {                                            \
			unit_passed++;                                       \
		} else {                                                     \
			unit_failed++;                                       \
			fprintf(stderr,                                      \
				"FAIL %s:%d %s: %s == %s (0x%" PRIx64        \
				" != 0x%" PRIx64 ")\n",                      \
				__FILE__, __LINE__, unit_current, #a, #b,    \
				va_, vb_);                                   \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *sa_ = (a), *sb_ = (b);                           \
		if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                   \
			unit_passed++;                                       \
		} else {                                                     \
			unit_failed++;                                       \
			fprintf(stderr, "FAIL %s:%d %s: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, unit_current, #a, #b,    \
				sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
		}                                                            \
	} while (0)

#define RUN(fn)                                                              \
	do {                                                                 \
		unit_current = #fn;                                          \
		fn();                                                        \
	} while (0)

static inline int unit_report(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

/* Fake guest memory: one zeroed region [0, lowmem) plus optional high RAM. */
static inline int fake_gm_init(struct guest_mem *gm, uint64_t lowmem, uint64_t highmem)
{
	memset(gm, 0, sizeof(*gm));
	gm->region[0].gpa = 0;
	gm->region[0].size = lowmem;
	gm->region[0].hva = calloc(1, lowmem);
	if (!gm->region[0].hva)
		return -1;
	gm->nregions = 1;
	gm->lowmem = lowmem;
	if (highmem) {
		gm->region[1].gpa = GM_HIGHMEM_BASE;
		gm->region[1].size = highmem;
		gm->region[1].hva = calloc(1, highmem);
		if (!gm->region[1].hva)
			return -1;
		gm->nregions = 2;
		gm->highmem = highmem;
	}
	return 0;
}

static inline void fake_gm_free(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		free(gm->region[i].hva);
	memset(gm, 0, sizeof(*gm));
}

#endif
