/*
 * Internal to src/loader: the ELF reader shared by the PVH and multiboot
 * loaders (elf.c, elf_* functions) and the helpers every format uses
 * (loader.c, loader_* functions). Not a public interface.
 *
 * Nothing here keeps state between calls; all functions are reentrant.
 */
#ifndef LHYVE_LOADER_ELF_LOAD_H
#define LHYVE_LOADER_ELF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lhyve/loader.h"
#include "lhyve/mem.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"

/* Everything below 1 MiB belongs to boot structures and firmware tables. */
#define LOADER_LOW_RESERVED 0x100000ULL
#define LOADER_PAGE 4096ULL
#define FOUR_GiB 0x100000000ULL

/* ---- ELF (elf.c) ---- */
#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4

struct elf_info {
	unsigned bits;      /* 32 or 64 */
	uint16_t machine;   /* EM_386 (3) or EM_X86_64 (62) */
	uint64_t entry;
	uint64_t phoff;     /* program header table, validated against len */
	unsigned phentsize;
	unsigned phnum;
};

struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* Physical extent of the loaded segments. */
struct elf_extent {
	uint64_t lo, hi; /* [lo, hi); lo > hi when nothing was loaded */
};

/* True if the image starts with the ELF magic. */
bool elf_is_elf(const uint8_t *img, size_t len);
/*
 * Validate the ELF header (little-endian, x86, executable) and that the
 * program header table lies inside the file. -ENOEXEC if not ELF at all,
 * -EINVAL (with err) if malformed.
 */
int elf_parse(const uint8_t *img, size_t len, struct elf_info *ei,
	      char *err, size_t errlen);
/* Program header i (i < ei->phnum) of an image accepted by elf_parse. */
void elf_phdr_get(const uint8_t *img, const struct elf_info *ei, unsigned i,
		  struct elf_phdr *ph);
/*
 * Find an ELF note (PT_NOTE segments) with this owner name and type.
 * Returns 1 and sets *desc and *descsz if found, 0 if not, -EINVAL on a
 * malformed note segment (err set if err != NULL).
 */
int elf_note_find(const uint8_t *img, size_t len, const struct elf_info *ei,
		  const char *name, uint32_t type, const uint8_t **desc,
		  uint32_t *descsz, char *err, size_t errlen);
/*
 * Copy all PT_LOAD segments to p_paddr and zero their bss. Every segment is
 * validated first (file range, filesz <= memsz, destination in e820 RAM,
 * above 1 MiB, below `limit`), so nothing is written for a bad image.
 */
int elf_load_segments(const uint8_t *img, size_t len, const struct elf_info *ei,
		      struct guest_mem *gm, const struct e820_map *e820,
		      uint64_t limit, struct elf_extent *ext, const char *what,
		      char *err, size_t errlen);
/* Translate a virtual address inside a PT_LOAD segment to its p_paddr. */
uint64_t elf_virt_to_phys(const uint8_t *img, const struct elf_info *ei,
			  uint64_t vaddr);

/* ---- shared helpers (loader.c) ---- */

/* Format one error line into err (no newline). */
void loader_errf(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Name of the kernel for messages ("<memory>" without a path). */
const char *loader_kname(const struct boot_spec *spec);
/* Name of the initrd for messages. */
const char *loader_iname(const struct boot_spec *spec);
/* Last path component ("" for NULL). */
const char *loader_basename(const char *path);

/* An initrd in host memory: borrowed from the spec or read from its path. */
struct loader_blob {
	const uint8_t *data;
	size_t len;
	void *owned; /* freed by loader_blob_free */
	bool present;
};
/* Get spec's initrd (none if spec->initrd and initrd_data are both NULL). */
int loader_initrd_get(const struct boot_spec *spec, const struct guest_mem *gm,
		      struct loader_blob *b, char *err, size_t errlen);
void loader_blob_free(struct loader_blob *b);

/*
 * Read a whole regular file. Rejects files larger than max. The buffer is
 * malloc'ed (at least 1 byte); *len may be 0.
 */
int loader_read_file(const char *what, const char *path, uint64_t max,
		     uint8_t **buf, size_t *len, char *err, size_t errlen);

/* True if [addr, addr+size) lies inside one e820 RAM entry and in gm. */
bool loader_in_ram(const struct guest_mem *gm, const struct e820_map *e820,
		   uint64_t addr, uint64_t size);

struct loader_range {
	uint64_t start, end; /* [start, end) */
};
/*
 * Highest page-aligned address for `size` bytes in e820 RAM at or above
 * 1 MiB, ending at or below `limit`, not overlapping any of `avoid`.
 * -ENOSPC if there is none.
 */
int loader_place_high(const struct guest_mem *gm, const struct e820_map *e820,
		      uint64_t size, uint64_t limit,
		      const struct loader_range *avoid, unsigned navoid,
		      uint64_t *addr);
/* Report that spec's initrd of len bytes does not fit; returns -ENOMEM. */
int loader_initrd_nofit(const struct boot_spec *spec, uint64_t len, char *err,
			size_t errlen);
/*
 * Copy a non-empty initrd to the highest place loader_place_high finds
 * below `limit` outside *avoid; its guest address in *addr. -ENOMEM (with
 * a message) if it does not fit.
 */
int loader_initrd_put(const struct boot_spec *spec, struct guest_mem *gm,
		      const struct e820_map *e820, const struct loader_blob *rd,
		      uint64_t limit, const struct loader_range *avoid,
		      uint64_t *addr, char *err, size_t errlen);
/*
 * Write spec's command line (NUL-terminated) at PLAT_CMDLINE. maxlen is the
 * longest string the protocol accepts (without the NUL); longer -> -E2BIG.
 */
int loader_cmdline_write(const struct boot_spec *spec, struct guest_mem *gm,
			 size_t maxlen, const char *proto, char *err, size_t errlen);

#endif
