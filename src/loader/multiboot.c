/*
 * Multiboot v1 (Multiboot Specification 0.6.96): the header (magic
 * 0x1BADB002, flags, checksum) lies 4-byte aligned in the first 8192 bytes.
 * The kernel is loaded from its ELF program headers, or from the header's
 * address fields when flag 16 (the "a.out kludge") is set. The vCPU starts
 * in 32-bit protected mode, paging off, %eax = 0x2BADB002 and %ebx = the
 * multiboot information structure at PLAT_MB_INFO.
 *
 * Stateless; no locking needed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lhyve/loader.h"
#include "lhyve/log.h"
#include "lhyve/x86_platform.h"
#include "elf_load.h"

#define MB_MAGIC 0x1BADB002U
#define MB_BOOT_MAGIC 0x2BADB002U
#define MB_SEARCH 8192
#define MB_HDR_SIZE 12
#define MB_HDR_AOUT_SIZE 32

#define MB_F_PAGE_ALIGN (1U << 0)
#define MB_F_MEMORY_INFO (1U << 1)
#define MB_F_VIDEO_MODE (1U << 2)
#define MB_F_AOUT_KLUDGE (1U << 16)
#define MB_F_REQUIRED_MASK 0xffffU
#define MB_F_KNOWN (MB_F_PAGE_ALIGN | MB_F_MEMORY_INFO | MB_F_VIDEO_MODE)

/* Multiboot information structure. */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE 88
#define MBI_HAVE_MEM (1U << 0)
#define MBI_HAVE_CMDLINE (1U << 2)
#define MBI_HAVE_MODS (1U << 3)
#define MBI_HAVE_MMAP (1U << 6)
#define MBI_HAVE_LOADER_NAME (1U << 9)
#define MB_MOD_SIZE 16   /* mod_start, mod_end, string, reserved */
#define MB_MMAP_SIZE 24  /* size (=20), base_addr, length, type */

/* Layout of the 4 KiB information page. */
#define MB_PAGE 0x1000
#define MB_MODS_OFF 128
#define MB_MMAP_OFF 256
#define MB_NAME_OFF (MB_MMAP_OFF + E820_MAX * MB_MMAP_SIZE)
#define MB_MODSTR_OFF (MB_NAME_OFF + 32)
#define MB_LOADER_NAME "lhyve"

_Static_assert(MB_MODSTR_OFF < MB_PAGE, "multiboot info page overflow");

/* Offset of the first header magic, preferring one with a valid checksum. */
static int multiboot_find(const uint8_t *img, size_t len, size_t *off)
{
	size_t lim = MIN(len, (size_t)MB_SEARCH);
	bool found = false;

	for (size_t o = 0; o + MB_HDR_SIZE <= lim; o += 4) {
		uint32_t magic = get_le32(img + o);
		uint32_t flags = get_le32(img + o + 4);
		uint32_t sum = get_le32(img + o + 8);

		if (magic != MB_MAGIC)
			continue;
		if ((uint32_t)(magic + flags + sum) == 0) {
			*off = o;
			return 1;
		}
		if (!found) {
			*off = o;
			found = true;
		}
	}
	return found ? 1 : 0;
}

int multiboot_probe(const uint8_t *img, size_t len)
{
	size_t off;

	return img ? multiboot_find(img, len, &off) : 0;
}

/* Load per the header's address fields (flag 16). */
static int multiboot_load_aout(const uint8_t *img, size_t len, size_t hoff,
			       struct guest_mem *gm, const struct e820_map *e820,
			       const char *kname, uint64_t *entry,
			       struct elf_extent *ext, char *err, size_t errlen)
{
	const uint8_t *h = img + hoff;
	uint64_t header_addr, load_addr, load_end, bss_end, file_off, load_size;
	uint64_t mem_end;
	uint8_t *dst;

	if (len - hoff < MB_HDR_AOUT_SIZE) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot header with address fields is truncated",
			    kname);
		return -EINVAL;
	}
	header_addr = get_le32(h + 12);
	load_addr = get_le32(h + 16);
	load_end = get_le32(h + 20);
	bss_end = get_le32(h + 24);
	*entry = get_le32(h + 28);
	if (load_addr > header_addr || header_addr - load_addr > hoff) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot load_addr 0x%llx / header_addr 0x%llx point before the start of the file",
			    kname, (unsigned long long)load_addr,
			    (unsigned long long)header_addr);
		return -EINVAL;
	}
	file_off = hoff - (header_addr - load_addr);
	if (load_end == 0) {
		load_size = len - file_off;
	} else if (load_end <= load_addr) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot load_end_addr 0x%llx is not above load_addr 0x%llx",
			    kname, (unsigned long long)load_end,
			    (unsigned long long)load_addr);
		return -EINVAL;
	} else {
		load_size = load_end - load_addr;
	}
	if (load_size > len - file_off) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot load range (0x%llx bytes at file offset 0x%llx) extends past end of file",
			    kname, (unsigned long long)load_size,
			    (unsigned long long)file_off);
		return -EINVAL;
	}
	mem_end = load_addr + load_size;
	if (bss_end) {
		if (bss_end < mem_end) {
			loader_errf(err, errlen,
				    "kernel %s: multiboot bss_end_addr 0x%llx is below the loaded end 0x%llx",
				    kname, (unsigned long long)bss_end,
				    (unsigned long long)mem_end);
			return -EINVAL;
		}
		mem_end = bss_end;
	}
	if (mem_end == load_addr) {
		loader_errf(err, errlen, "kernel %s: multiboot kernel is empty", kname);
		return -EINVAL;
	}
	if (load_addr < LOADER_LOW_RESERVED) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot load_addr 0x%llx overlaps the first MiB (boot structures)",
			    kname, (unsigned long long)load_addr);
		return -EINVAL;
	}
	if (!loader_in_ram(gm, e820, load_addr, mem_end - load_addr)) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot kernel [0x%llx-0x%llx) is outside guest RAM",
			    kname, (unsigned long long)load_addr,
			    (unsigned long long)mem_end);
		return -EINVAL;
	}
	dst = gm_ptr(gm, load_addr, mem_end - load_addr);
	if (!dst)
		return -EFAULT;
	memcpy(dst, img + file_off, load_size);
	memset(dst + load_size, 0, mem_end - load_addr - load_size);
	ext->lo = load_addr;
	ext->hi = mem_end;
	return 0;
}

static int multiboot_load_elf(const uint8_t *img, size_t len,
			      struct guest_mem *gm, const struct e820_map *e820,
			      const char *kname, uint64_t *entry,
			      struct elf_extent *ext, char *err, size_t errlen)
{
	struct elf_info ei;
	char msg[200], what[320];
	int ret;

	ret = elf_parse(img, len, &ei, msg, sizeof(msg));
	if (ret == -ENOEXEC) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot kernel is not ELF and has no address fields (flag 16)",
			    kname);
		return ret;
	}
	if (ret < 0) {
		loader_errf(err, errlen, "kernel %s: %s", kname, msg);
		return ret;
	}
	snprintf(what, sizeof(what), "kernel %.300s", kname);
	ret = elf_load_segments(img, len, &ei, gm, e820, FOUR_GiB, ext, what,
				err, errlen);
	if (ret < 0)
		return ret;
	/* A higher-half kernel's e_entry is virtual: use its load address. */
	*entry = elf_virt_to_phys(img, &ei, ei.entry);
	return 0;
}

/* Fill the 4 KiB information page (info, module list, mmap, strings). */
static void multiboot_build_info(uint8_t *pg, const struct e820_map *e820,
				 bool have_mod, uint64_t mod_start,
				 uint64_t mod_len, const char *modname)
{
	uint32_t flags = MBI_HAVE_MEM | MBI_HAVE_CMDLINE | MBI_HAVE_MMAP |
			 MBI_HAVE_LOADER_NAME;
	uint64_t lower = 0, upper = 0;
	unsigned n = 0;

	memset(pg, 0, MB_PAGE);
	for (unsigned i = 0; i < e820->n && i < E820_MAX; i++) {
		const struct e820_entry *e = &e820->e[i];
		uint64_t end = e->addr + e->size;
		uint8_t *m;

		if (e->size == 0)
			continue;
		if (e->type == E820_RAM && e->addr == 0)
			lower = MIN(e->size, 640 * KiB) / KiB;
		if (e->type == E820_RAM && e->addr <= LOADER_LOW_RESERVED &&
		    end > LOADER_LOW_RESERVED)
			upper = MIN((end - LOADER_LOW_RESERVED) / KiB, UINT32_MAX);
		m = pg + MB_MMAP_OFF + n * MB_MMAP_SIZE;
		put_le32(m + 0, MB_MMAP_SIZE - 4);
		put_le64(m + 4, e->addr);
		put_le64(m + 12, e->size);
		put_le32(m + 20, e->type);
		n++;
	}
	put_le32(pg + MBI_MEM_LOWER, (uint32_t)lower);
	put_le32(pg + MBI_MEM_UPPER, (uint32_t)upper);
	put_le32(pg + MBI_CMDLINE, PLAT_CMDLINE);
	put_le32(pg + MBI_MMAP_LENGTH, n * MB_MMAP_SIZE);
	put_le32(pg + MBI_MMAP_ADDR, PLAT_MB_INFO + MB_MMAP_OFF);
	memcpy(pg + MB_NAME_OFF, MB_LOADER_NAME, sizeof(MB_LOADER_NAME));
	put_le32(pg + MBI_BOOT_LOADER_NAME, PLAT_MB_INFO + MB_NAME_OFF);
	if (have_mod) {
		uint8_t *m = pg + MB_MODS_OFF;
		size_t room = MB_PAGE - MB_MODSTR_OFF - 1;
		size_t sl = MIN(strlen(modname), room);

		memcpy(pg + MB_MODSTR_OFF, modname, sl);
		pg[MB_MODSTR_OFF + sl] = '\0';
		put_le32(m + 0, (uint32_t)mod_start);
		put_le32(m + 4, (uint32_t)(mod_start + mod_len));
		put_le32(m + 8, PLAT_MB_INFO + MB_MODSTR_OFF);
		put_le32(m + 12, 0);
		put_le32(pg + MBI_MODS_COUNT, 1);
		put_le32(pg + MBI_MODS_ADDR, PLAT_MB_INFO + MB_MODS_OFF);
		flags |= MBI_HAVE_MODS;
	}
	put_le32(pg + MBI_FLAGS, flags);
}

int multiboot_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
		   struct guest_mem *gm, const struct e820_map *e820,
		   uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen)
{
	const char *kname = loader_kname(spec);
	uint8_t pg[MB_PAGE];
	struct loader_blob rd;
	struct elf_extent ext = { 0, 0 };
	uint32_t flags, sum;
	uint64_t entry = 0, mod_addr = 0;
	size_t hoff;
	bool aout;
	int ret;

	if (!img || !spec || !gm || !e820 || !bi) {
		loader_errf(err, errlen, "multiboot: invalid arguments");
		return -EINVAL;
	}
	memset(bi, 0, sizeof(*bi));
	if (!multiboot_find(img, len, &hoff)) {
		loader_errf(err, errlen, "kernel %s: no multiboot header in the first %u bytes",
			    kname, MB_SEARCH);
		return -ENOEXEC;
	}
	flags = get_le32(img + hoff + 4);
	sum = get_le32(img + hoff + 8);
	if ((uint32_t)(MB_MAGIC + flags + sum) != 0) {
		loader_errf(err, errlen,
			    "kernel %s: bad multiboot header checksum at offset 0x%zx",
			    kname, hoff);
		return -EINVAL;
	}
	if (flags & MB_F_REQUIRED_MASK & ~MB_F_KNOWN) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot header requires unsupported features (flags 0x%x)",
			    kname, flags);
		return -EINVAL;
	}
	if (flags & MB_F_VIDEO_MODE)
		log_info("kernel %s: multiboot video mode request ignored (text console only)",
			 kname);
	aout = flags & MB_F_AOUT_KLUDGE;

	ret = loader_cmdline_write(spec, gm, PLAT_CMDLINE_MAX - 1, "multiboot",
				   err, errlen);
	if (ret < 0)
		return ret;
	ret = loader_initrd_get(spec, gm, &rd, err, errlen);
	if (ret < 0)
		return ret;

	if (aout)
		ret = multiboot_load_aout(img, len, hoff, gm, e820, kname, &entry,
					  &ext, err, errlen);
	else
		ret = multiboot_load_elf(img, len, gm, e820, kname, &entry, &ext,
					 err, errlen);
	if (ret < 0)
		goto err_rd;
	if (entry < ext.lo || entry >= ext.hi) {
		loader_errf(err, errlen,
			    "kernel %s: multiboot entry 0x%llx is outside the loaded kernel [0x%llx-0x%llx)",
			    kname, (unsigned long long)entry,
			    (unsigned long long)ext.lo, (unsigned long long)ext.hi);
		ret = -EINVAL;
		goto err_rd;
	}

	/* Module 0 = initrd, page aligned right above the kernel. */
	if (rd.present) {
		mod_addr = ALIGN_UP(ext.hi, LOADER_PAGE);
		if (mod_addr + rd.len > FOUR_GiB ||
		    (rd.len && !loader_in_ram(gm, e820, mod_addr, rd.len))) {
			ret = loader_initrd_nofit(spec, rd.len, err, errlen);
			goto err_rd;
		}
		if (rd.len && gm_write(gm, mod_addr, rd.data, rd.len) < 0) {
			ret = -EFAULT; /* checked above */
			goto err_rd;
		}
	}

	multiboot_build_info(pg, e820, rd.present, mod_addr, rd.len,
			     loader_basename(spec->initrd));
	if (gm_write(gm, PLAT_MB_INFO, pg, sizeof(pg)) < 0) {
		loader_errf(err, errlen,
			    "kernel %s: no guest RAM for the multiboot info at 0x%x",
			    kname, PLAT_MB_INFO);
		ret = -EFAULT;
		goto err_rd;
	}

	bi->mode = BOOT_PROT32;
	bi->entry = entry;
	bi->rax = MB_BOOT_MAGIC;
	bi->rbx = PLAT_MB_INFO;
	bi->format = aout ? "multiboot" : "multiboot ELF";
	ret = 0;
err_rd:
	loader_blob_free(&rd);
	return ret;
}
