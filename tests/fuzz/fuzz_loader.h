/*
 * Shared body of the kernel loader harnesses (fuzz_bzimage.c, fuzz_pvh.c,
 * fuzz_multiboot.c): a hostile kernel file is handed to one loader over
 * fake guest RAM with a PC-like e820 map.
 *
 * Input: [flags u8][cmdline len u8][cmdline][initrd len u16][initrd][kernel...]
 *   flags bit 0-1: RAM 16/32/48/64 MiB; bit 2: initrd present.
 */
#ifndef LHYVE_FUZZ_LOADER_H
#define LHYVE_FUZZ_LOADER_H

#include "fuzz.h"
#include "lhyve/loader.h"
#include "lhyve/tables.h"
#include "lhyve/x86_platform.h"

typedef int fz_loader_fn(const uint8_t *img, size_t len, const struct boot_spec *spec,
			 struct guest_mem *gm, const struct e820_map *e820,
			 uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen);

static inline void fz_loader_run(fz_loader_fn *load, int (*probe)(const uint8_t *, size_t),
				 const uint8_t *data, size_t size)
{
	struct guest_mem gm;
	struct e820_map e820 = { 0 };
	struct boot_info bi = { 0 };
	char err[512];
	struct fz in;

	fz_init(&in, data, size);
	uint8_t flags = fz_u8(&in);
	char *cmdline = malloc(256);
	if (!cmdline)
		abort();
	size_t clen = fz_bytes(&in, cmdline, fz_u8(&in));
	cmdline[clen] = '\0';
	size_t ilen = fz_u16(&in);
	uint8_t *initrd = malloc(ilen ? ilen : 1);
	if (!initrd)
		abort();
	ilen = fz_bytes(&in, initrd, ilen);
	/* The kernel image: a copy of its own, so overreads are caught. */
	size_t klen = fz_left(&in);
	uint8_t *img = malloc(klen ? klen : 1);
	if (!img)
		abort();
	fz_bytes(&in, img, klen);

	uint64_t lowmem = (16ULL << 20) * (1 + (flags & 3));
	fz_gm_acquire(&gm, lowmem);
	e820.e[0] = (struct e820_entry){ 0, PLAT_EBDA, E820_RAM };
	e820.e[1] = (struct e820_entry){ PLAT_EBDA, 0x100000 - PLAT_EBDA, E820_RESERVED };
	e820.e[2] = (struct e820_entry){ 0x100000, lowmem - 0x100000, E820_RAM };
	e820.n = 3;
	struct boot_spec spec = {
		.kernel = "fuzz-kernel",
		.cmdline = cmdline,
		.initrd = (flags & 4) ? "fuzz-initrd" : NULL,
		.initrd_data = (flags & 4) ? initrd : NULL,
		.initrd_size = (flags & 4) ? ilen : 0,
	};
	probe(img, klen);
	err[0] = '\0';
	int rc = load(img, klen, &spec, &gm, &e820, 0xe0000, &bi, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "loader: rc %d format %s entry 0x%llx: %s\n", rc,
			bi.format ? bi.format : "-", (unsigned long long)bi.entry, err);
	if (rc < 0 && !err[0])
		abort(); /* the contract: an error always comes with a message */
	fz_gm_release(&gm);
	free(img);
	free(initrd);
	free(cmdline);
}

#endif
