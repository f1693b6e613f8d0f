/*
 * Shared helpers for the libFuzzer harnesses in tests/fuzz.
 *
 * Every harness defines its entry point with FUZZ_TARGET(name) { ... }:
 *   - built by tests/fuzz/fuzz.mk with -DFUZZ_LIBFUZZER it also gets the
 *     LLVMFuzzerTestOneInput symbol libFuzzer calls;
 *   - tests/unit/test_fuzz_regress.c #includes every harness (without
 *     FUZZ_LIBFUZZER) and replays the committed corpora and crash inputs
 *     through fuzz_<name>() in `make check`.
 * Because all harnesses share one translation unit in the regression test,
 * every static function in a harness carries that harness's prefix.
 *
 * Inputs are consumed with struct fz: reads past the end return zeros, so
 * a harness never has to check lengths itself. Harness setup failures
 * (out of fds, memory) are our own invariants: the harnesses abort().
 */
#ifndef LHYVE_FUZZ_H
#define LHYVE_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lhyve/irq.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "unit.h"

/* unit.h (fake guest memory) brings counters only the regression test uses. */
static inline void fz_unit_refs(void)
{
	(void)unit_current;
	(void)unit_passed;
	(void)unit_failed;
}

/* Guest-triggered warnings are expected by the thousand: keep errors only. */
static inline void fuzz_quiet(void)
{
	if (log_get_level() != LOG_ERR && !getenv("FUZZ_VERBOSE"))
		log_set_level(LOG_ERR);
}

#ifdef FUZZ_LIBFUZZER
#define FUZZ_TARGET(name)                                                    \
	int fuzz_##name(const uint8_t *data, size_t size);                   \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);        \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)         \
	{                                                                    \
		fuzz_quiet();                                                \
		return fuzz_##name(data, size);                              \
	}                                                                    \
	int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)                                                    \
	int fuzz_##name(const uint8_t *data, size_t size);                   \
	int fuzz_##name(const uint8_t *data, size_t size)
#endif

/* ---- input consumer ---- */
struct fz {
	const uint8_t *p;
	size_t n, pos;
};

static inline void fz_init(struct fz *f, const uint8_t *p, size_t n)
{
	f->p = p;
	f->n = n;
	f->pos = 0;
}

static inline size_t fz_left(const struct fz *f)
{
	return f->n - f->pos;
}

static inline uint64_t fz_uint(struct fz *f, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		uint64_t b = f->pos < f->n ? f->p[f->pos++] : 0;
		v |= b << (8 * i);
	}
	return v;
}

static inline uint8_t fz_u8(struct fz *f) { return (uint8_t)fz_uint(f, 1); }
static inline uint16_t fz_u16(struct fz *f) { return (uint16_t)fz_uint(f, 2); }
static inline uint32_t fz_u32(struct fz *f) { return (uint32_t)fz_uint(f, 4); }
static inline uint64_t fz_u64(struct fz *f) { return fz_uint(f, 8); }
static inline bool fz_bool(struct fz *f) { return fz_u8(f) & 1; }

/* Up to max bytes (fewer at the end of input); returns the count. */
static inline size_t fz_bytes(struct fz *f, void *buf, size_t max)
{
	size_t n = fz_left(f) < max ? fz_left(f) : max;
	if (n)
		memcpy(buf, f->p + f->pos, n);
	f->pos += n;
	return n;
}

/* Access size 1, 2, 4 or 8 from two bits. */
static inline unsigned fz_size(struct fz *f)
{
	return 1u << (fz_u8(f) & 3);
}

/*
 * A malloc'ed NUL-terminated string: the bytes up to the next `sep` byte
 * (or the end of input), at most max of them. An embedded NUL cuts the
 * string there, as it would for any C caller.
 */
static inline char *fz_str(struct fz *f, uint8_t sep, size_t max)
{
	size_t start = f->pos, len = 0;
	while (f->pos < f->n && f->p[f->pos] != sep && len < max) {
		f->pos++;
		len++;
	}
	if (f->pos < f->n && f->p[f->pos] == sep)
		f->pos++;
	char *s = malloc(len + 1);
	if (!s)
		abort();
	if (len)
		memcpy(s, f->p + start, len);
	s[len] = '\0';
	return s;
}

/* A guest physical address: mostly inside [0, ram + 4 KiB), sometimes anything. */
static inline uint64_t fz_addr(struct fz *f, uint64_t ram)
{
	uint8_t sel = fz_u8(f);
	if (sel >= 0xf0)
		return fz_u64(f);
	return fz_u32(f) % (ram + 0x1000);
}

/* ---- a fake interrupt controller that only counts ---- */
struct fz_irq {
	unsigned lines, msis;
};

static inline int fz_irq_set_line(void *o, unsigned gsi, bool level)
{
	struct fz_irq *s = o;
	__atomic_add_fetch(&s->lines, 1, __ATOMIC_RELAXED);
	return 0;
}

static inline int fz_irq_msi(void *o, uint64_t addr, uint32_t data)
{
	struct fz_irq *s = o;
	__atomic_add_fetch(&s->msis, 1, __ATOMIC_RELAXED);
	return 0;
}

static const struct irq_chip_ops fz_irq_ops = { fz_irq_set_line, fz_irq_msi };

/*
 * Fake guest RAM for harnesses, like fake_gm_init() in unit.h but fast:
 * one mmap per size per process, followed by a PROT_NONE guard page, and
 * zeroed again for each input with MADV_DONTNEED (calloc/free of many MiB
 * per input under ASan dominated the run time). Only one region: RAM at
 * [0, lowmem). fz_gm_release() forgets it (the mapping is kept for reuse).
 */
#define FZ_GM_CACHE 16
static inline void fz_gm_acquire(struct guest_mem *gm, uint64_t lowmem)
{
	static struct {
		uint64_t size;
		uint8_t *p;
	} cache[FZ_GM_CACHE];
	uint8_t *p = NULL;
	unsigned i;

	for (i = 0; i < FZ_GM_CACHE && cache[i].p; i++)
		if (cache[i].size == lowmem) {
			p = cache[i].p;
			if (madvise(p, lowmem, MADV_DONTNEED) < 0)
				abort();
			break;
		}
	if (!p) {
		if (i == FZ_GM_CACHE)
			abort(); /* harness bug: too many sizes */
		p = mmap(NULL, lowmem + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED || mprotect(p + lowmem, 4096, PROT_NONE) < 0)
			abort();
		cache[i].size = lowmem;
		cache[i].p = p;
	}
	memset(gm, 0, sizeof(*gm));
	gm->region[0] = (struct gm_region){ 0, lowmem, p };
	gm->nregions = 1;
	gm->lowmem = lowmem;
}

static inline void fz_gm_release(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

/*
 * ---- a per-process temporary directory, removed at exit ----
 * libFuzzer leaves with _Exit() (no atexit) after -max_total_time and on
 * crashes, so tests/fuzz/run.sh points TMPDIR at build-fuzz/tmp and empties
 * it after each harness.
 */
#define FZ_TMPDIR_MAX 64
static inline char *fz_tmpdir_buf(void)
{
	static char dir[FZ_TMPDIR_MAX];
	return dir;
}

static inline void fz_tmpdir_cleanup(void)
{
	const char *d = fz_tmpdir_buf();
	char path[512];
	struct dirent *e;
	DIR *dp = opendir(d);

	/* Flat: only files the harnesses created live there (images, sockets). */
	while (dp && (e = readdir(dp))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
			unlink(path);
		}
	}
	if (dp)
		closedir(dp);
	rmdir(d);
}

static inline const char *fz_tmpdir(void)
{
	char *dir = fz_tmpdir_buf();
	if (!dir[0]) {
		const char *base = getenv("TMPDIR");
		/* Short enough for UNIX socket paths inside it. */
		snprintf(dir, FZ_TMPDIR_MAX, "%s/lhyve-fuzz.XXXXXX",
			 base && *base && strlen(base) < 40 ? base : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(fz_tmpdir_cleanup);
	}
	return dir;
}

#endif
