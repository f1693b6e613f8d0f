/*
 * Linux bzImage via the 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the protected-mode kernel is loaded as is, boot_params ("zero page") is
 * built at PLAT_ZERO_PAGE from the image's setup header, and the vCPU starts
 * in long mode at load address + 0x200 with %rsi = boot_params.
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

/* Setup header fields (offsets in the image and in boot_params). */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_VID_MODE 0x1fa
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MAX_END 0x290 /* boot_params: edd_mbr_sig_buffer follows */
#define HDR_MIN_END_206 0x23c /* through cmdline_size */

/* Other boot_params fields. */
#define BP_SIZE 0x1000
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_E820_ENTRY_SIZE 20

#define LF_LOADED_HIGH 0x01
#define LF_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define BZ_HEAP_END_PTR 0xde00 /* heap end 0xe000 - 0x200, per boot.rst */
#define BZ_DEFAULT_LOAD 0x100000ULL
#define BZ_OLD_INITRD_MAX 0x37ffffffULL
#define BZ_OLD_CMDLINE_MAX 255
#define BZ_ENTRY64_OFF 0x200

_Static_assert(BP_E820_TABLE + E820_MAX * BP_E820_ENTRY_SIZE <= BP_SIZE,
	       "e820 table does not fit in boot_params");
_Static_assert(sizeof(struct e820_entry) == BP_E820_ENTRY_SIZE,
	       "e820 entry layout");

int bzimage_probe(const uint8_t *img, size_t len)
{
	return img && len >= HDR_MAGIC + 4 && memcmp(img + HDR_MAGIC, "HdrS", 4) == 0;
}

/* Lowest address >= 1 MiB, aligned, where `need` bytes fit in e820 RAM. */
static int bzimage_place_low(const struct guest_mem *gm,
			     const struct e820_map *e820, uint64_t need,
			     uint64_t align, uint64_t *addr)
{
	bool found = false;

	for (unsigned i = 0; i < e820->n && i < E820_MAX; i++) {
		const struct e820_entry *e = &e820->e[i];
		uint64_t a;

		if (e->type != E820_RAM || e->addr + e->size < e->addr)
			continue;
		a = ALIGN_UP(MAX(e->addr, LOADER_LOW_RESERVED), align);
		if (a + need < a || a + need > FOUR_GiB)
			continue;
		if (loader_in_ram(gm, e820, a, need) && (!found || a < *addr)) {
			*addr = a;
			found = true;
		}
	}
	return found ? 0 : -ENOSPC;
}

int bzimage_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
		 struct guest_mem *gm, const struct e820_map *e820,
		 uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen)
{
	const char *kname = loader_kname(spec);
	uint8_t bp[BP_SIZE];
	struct loader_blob rd;
	unsigned version, setup_sects, hdr_end, loadflags;
	uint64_t setup_size, pm_len, init_size, need, load = 0, align;
	uint64_t rd_addr = 0, rd_limit, cmdline_max;
	bool relocatable;
	int ret;

	if (!img || !spec || !gm || !e820 || !bi) {
		loader_errf(err, errlen, "bzimage: invalid arguments");
		return -EINVAL;
	}
	memset(bi, 0, sizeof(*bi));
	if (!bzimage_probe(img, len)) {
		loader_errf(err, errlen, "kernel %s: not a bzImage (no HdrS signature)",
			    kname);
		return -ENOEXEC;
	}
	if (len < HDR_MAX_END) {
		loader_errf(err, errlen, "kernel %s: truncated bzImage (%zu bytes)",
			    kname, len);
		return -EINVAL;
	}
	version = get_le16(img + HDR_VERSION);
	if (version < 0x206) {
		loader_errf(err, errlen,
			    "kernel %s: boot protocol %u.%02u is too old (need 2.06 or later)",
			    kname, version >> 8, version & 0xff);
		return -EINVAL;
	}
	hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (hdr_end < HDR_MIN_END_206) {
		loader_errf(err, errlen,
			    "kernel %s: setup header too short (ends at 0x%x) for protocol %u.%02u",
			    kname, hdr_end, version >> 8, version & 0xff);
		return -EINVAL;
	}
	hdr_end = MIN(hdr_end, HDR_MAX_END);
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= len || len - setup_size <= BZ_ENTRY64_OFF) {
		loader_errf(err, errlen,
			    "kernel %s: truncated bzImage: setup code is %llu bytes, file is %zu",
			    kname, (unsigned long long)setup_size, len);
		return -EINVAL;
	}
	pm_len = len - setup_size;
	loadflags = img[HDR_LOADFLAGS];
	if (!(loadflags & LF_LOADED_HIGH)) {
		loader_errf(err, errlen,
			    "kernel %s: zImage (not loaded high) is not supported", kname);
		return -EINVAL;
	}
	if (version >= 0x20c) {
		if (!(get_le16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
			loader_errf(err, errlen,
				    "kernel %s: not a 64-bit kernel (no 64-bit entry point, XLF_KERNEL_64 clear)",
				    kname);
			return -ENOEXEC;
		}
	} else {
		log_warn("kernel %s: boot protocol %u.%02u cannot say if it is 64-bit; assuming so",
			 kname, version >> 8, version & 0xff);
	}

	/* Where the kernel goes: pref_address, else the lowest aligned fit. */
	init_size = version >= 0x20a ? get_le32(img + HDR_INIT_SIZE) : 0;
	need = MAX(pm_len, init_size);
	relocatable = img[HDR_RELOCATABLE] != 0;
	align = get_le32(img + HDR_KERNEL_ALIGNMENT);
	if (relocatable && (align < LOADER_PAGE || align > GiB || (align & (align - 1)))) {
		loader_errf(err, errlen, "kernel %s: bad kernel_alignment 0x%llx",
			    kname, (unsigned long long)align);
		return -EINVAL;
	}
	load = version >= 0x20a ? get_le64(img + HDR_PREF_ADDRESS) : BZ_DEFAULT_LOAD;
	if (load < LOADER_LOW_RESERVED || load >= FOUR_GiB ||
	    load + need > FOUR_GiB || !loader_in_ram(gm, e820, load, need)) {
		if (!relocatable ||
		    bzimage_place_low(gm, e820, need, align, &load) < 0) {
			loader_errf(err, errlen,
				    "kernel %s: needs %llu MiB at 0x%llx (init_size), which is not in guest RAM",
				    kname, (unsigned long long)((need + MiB - 1) / MiB),
				    (unsigned long long)load);
			return -ENOMEM;
		}
	}

	cmdline_max = get_le32(img + HDR_CMDLINE_SIZE);
	ret = loader_cmdline_write(spec, gm, (size_t)MIN(cmdline_max, SIZE_MAX),
				   "the kernel's cmdline_size", err, errlen);
	if (ret < 0)
		return ret;

	ret = loader_initrd_get(spec, gm, &rd, err, errlen);
	if (ret < 0)
		return ret;
	if (rd.present && rd.len > 0) {
		struct loader_range avoid = { load, load + need };

		rd_limit = version >= 0x203 ? get_le32(img + HDR_INITRD_ADDR_MAX)
					    : BZ_OLD_INITRD_MAX;
		rd_limit = MIN(rd_limit + 1, FOUR_GiB); /* e820 bounds the rest */
		ret = loader_initrd_put(spec, gm, e820, &rd, rd_limit, &avoid,
					&rd_addr, err, errlen);
		if (ret < 0)
			goto err_rd;
	}

	if (gm_write(gm, load, img + setup_size, pm_len) < 0) {
		ret = -EFAULT; /* checked by loader_in_ram */
		goto err_rd;
	}

	/* boot_params: the image's setup header plus what we know. */
	memset(bp, 0, sizeof(bp));
	memcpy(bp + HDR_START, img + HDR_START, hdr_end - HDR_START);
	put_le16(bp + HDR_VID_MODE, 0xffff);
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] = (uint8_t)(loadflags | LF_LOADED_HIGH | LF_CAN_USE_HEAP);
	put_le16(bp + HDR_HEAP_END_PTR, BZ_HEAP_END_PTR);
	put_le32(bp + HDR_CODE32_START, (uint32_t)load);
	put_le32(bp + HDR_CMD_LINE_PTR, PLAT_CMDLINE);
	put_le32(bp + HDR_RAMDISK_IMAGE, (uint32_t)rd_addr);
	put_le32(bp + HDR_RAMDISK_SIZE, rd.present ? (uint32_t)rd.len : 0);
	if (hdr_end >= HDR_SETUP_DATA + 8)
		put_le64(bp + HDR_SETUP_DATA, 0); /* no setup_data chain */
	if (rsdp_gpa)
		put_le64(bp + BP_ACPI_RSDP, rsdp_gpa);
	{
		unsigned n = 0;
		for (unsigned i = 0; i < e820->n && i < E820_MAX && n < BP_E820_MAX; i++) {
			uint8_t *e = bp + BP_E820_TABLE + n * BP_E820_ENTRY_SIZE;
			if (e820->e[i].size == 0)
				continue;
			put_le64(e + 0, e820->e[i].addr);
			put_le64(e + 8, e820->e[i].size);
			put_le32(e + 16, e820->e[i].type);
			n++;
		}
		bp[BP_E820_ENTRIES] = (uint8_t)n;
	}
	if (gm_write(gm, PLAT_ZERO_PAGE, bp, sizeof(bp)) < 0) {
		loader_errf(err, errlen,
			    "kernel %s: no guest RAM for boot_params at 0x%x", kname,
			    PLAT_ZERO_PAGE);
		ret = -EFAULT;
		goto err_rd;
	}

	bi->mode = BOOT_LONG64;
	bi->entry = load + BZ_ENTRY64_OFF;
	bi->rsi = PLAT_ZERO_PAGE;
	bi->format = "bzImage";
	log_info("bzImage: protocol %u.%02u, kernel at 0x%llx (%llu KiB), initrd at 0x%llx (%zu bytes)",
		 version >> 8, version & 0xff, (unsigned long long)load,
		 (unsigned long long)(pm_len / KiB), (unsigned long long)rd_addr,
		 rd.len);
	ret = 0;
err_rd:
	loader_blob_free(&rd);
	return ret;
}
