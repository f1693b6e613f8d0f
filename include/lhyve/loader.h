/*
 * Direct kernel boot: Linux bzImage (64-bit boot protocol), ELF with a PVH
 * entry note (XEN_ELFNOTE_PHYS32_ENTRY), multiboot v1 ELF. The loader places
 * kernel, initrd/module, command line and boot info in guest memory and says
 * how the boot vCPU must start. The core turns boot_info into registers
 * (GDT at PLAT_GDT_ADDR, identity page tables at PLAT_PML4 for BOOT_LONG64).
 */
#ifndef LHYVE_LOADER_H
#define LHYVE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "mem.h"
#include "tables.h"

enum boot_mode {
	BOOT_PROT32, /* 32-bit protected mode, flat segments, paging off */
	BOOT_LONG64, /* 64-bit long mode, identity-mapped 4 GiB, flat segments */
};

struct boot_spec {
	const char *kernel;  /* host path, required */
	const char *initrd;  /* host path or NULL (multiboot: loaded as module 0) */
	const char *cmdline; /* NULL = "" */
	/*
	 * Optional in-memory initrd (tests, fuzzers, callers that already read
	 * it): used instead of reading `initrd` when non-NULL; `initrd` then
	 * only names it in messages and the multiboot module string.
	 */
	const void *initrd_data;
	size_t initrd_size;
};

struct boot_info {
	enum boot_mode mode;
	uint64_t entry;            /* RIP */
	uint64_t rsp;              /* 0: core default */
	uint64_t rax, rbx, rsi;    /* per protocol: multiboot eax/ebx, PVH ebx, Linux rsi */
	const char *format;        /* "bzImage", "PVH ELF", "multiboot ELF" */
};

/*
 * Detect the format and load. On error returns -errno and writes one line
 * (no trailing newline) into err naming the problem, e.g.
 * "kernel /x: not a bzImage, PVH ELF or multiboot kernel".
 */
int loader_load(const struct boot_spec *spec, struct guest_mem *gm,
		const struct e820_map *e820, uint64_t rsdp_gpa,
		struct boot_info *bi, char *err, size_t errlen);

/*
 * The individual formats work on a kernel image already read into memory;
 * the initrd comes from spec->initrd_data, else is read from spec->initrd.
 * Same error convention as loader_load; on failure guest memory may
 * already be partly written.
 */
int bzimage_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
		 struct guest_mem *gm, const struct e820_map *e820,
		 uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen);
int pvh_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
	     struct guest_mem *gm, const struct e820_map *e820,
	     uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen);
int multiboot_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
		   struct guest_mem *gm, const struct e820_map *e820,
		   uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen);
/* Format probes (no side effects): 1 if the image claims that format, else 0. */
int bzimage_probe(const uint8_t *img, size_t len);
int pvh_probe(const uint8_t *img, size_t len);
int multiboot_probe(const uint8_t *img, size_t len);

#endif
