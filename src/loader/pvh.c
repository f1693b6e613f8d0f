/*
 * PVH direct boot: an ELF kernel (ELF32 or ELF64) carrying the Xen note
 * XEN_ELFNOTE_PHYS32_ENTRY (owner "Xen", type 18) with the 32-bit physical
 * entry point. The vCPU starts in 32-bit protected mode, paging off, with
 * %ebx = physical address of struct hvm_start_info (version 1, with the
 * memory map). Layouts from Xen's public arch-x86/hvm/start_info.h.
 *
 * Stateless; no locking needed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lhyve/loader.h"
#include "lhyve/x86_platform.h"
#include "elf_load.h"

#define PVH_NOTE_NAME "Xen"
#define PVH_NOTE_PHYS32_ENTRY 18
#define PVH_START_MAGIC 0x336ec578U
#define PVH_START_VERSION 1

/* hvm_start_info (56 bytes) */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_FLAGS 8
#define SI_NR_MODULES 12
#define SI_MODLIST 16
#define SI_CMDLINE 24
#define SI_RSDP 32
#define SI_MEMMAP 40
#define SI_MEMMAP_ENTRIES 48
#define SI_SIZE 56
/* hvm_modlist_entry (32 bytes): paddr, size, cmdline_paddr, reserved */
#define MOD_SIZE 32
/* hvm_memmap_table_entry (24 bytes): addr, size, type, reserved */
#define MM_SIZE 24

/* Placement inside the start-info page. */
#define PVH_MODLIST_OFF 64
#define PVH_MEMMAP_OFF 128
#define PVH_PAGE_USED (PVH_MEMMAP_OFF + E820_MAX * MM_SIZE)

_Static_assert(PVH_PAGE_USED <= 0x1000, "start info page overflow");
_Static_assert(PLAT_PVH_START_INFO + 0x1000 <= PLAT_ZERO_PAGE ||
	       PLAT_PVH_START_INFO >= PLAT_ZERO_PAGE + 0x1000,
	       "PVH start info overlaps the zero page");

/* Entry point from the PVH note; -ENOEXEC if absent, -EINVAL if unusable. */
static int pvh_entry(const uint8_t *img, size_t len, const struct elf_info *ei,
		     uint64_t *entry, char *msg, size_t msglen)
{
	const uint8_t *desc;
	uint32_t dsz;
	int r;

	r = elf_note_find(img, len, ei, PVH_NOTE_NAME, PVH_NOTE_PHYS32_ENTRY,
			  &desc, &dsz, msg, msglen);
	if (r < 0)
		return r;
	if (r == 0) {
		loader_errf(msg, msglen,
			    "ELF file has no PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY)");
		return -ENOEXEC;
	}
	if (dsz == 4) {
		*entry = get_le32(desc);
	} else if (dsz == 8) {
		*entry = get_le64(desc);
	} else {
		loader_errf(msg, msglen, "PVH entry note has bad size %u", dsz);
		return -EINVAL;
	}
	if (*entry >= FOUR_GiB) {
		loader_errf(msg, msglen, "PVH entry 0x%llx is above 4 GiB",
			    (unsigned long long)*entry);
		return -EINVAL;
	}
	return 0;
}

int pvh_probe(const uint8_t *img, size_t len)
{
	struct elf_info ei;
	const uint8_t *desc;
	uint32_t dsz;

	if (elf_parse(img, len, &ei, NULL, 0) < 0)
		return 0;
	return elf_note_find(img, len, &ei, PVH_NOTE_NAME, PVH_NOTE_PHYS32_ENTRY,
			     &desc, &dsz, NULL, 0) == 1;
}

/* Build hvm_start_info + modlist + memmap in buf (PVH_PAGE_USED bytes). */
static void pvh_build_start_info(uint8_t *buf, const struct e820_map *e820,
				 uint64_t rsdp_gpa, bool have_mod,
				 uint64_t mod_addr, uint64_t mod_size)
{
	unsigned n = 0;

	memset(buf, 0, PVH_PAGE_USED);
	put_le32(buf + SI_MAGIC, PVH_START_MAGIC);
	put_le32(buf + SI_VERSION, PVH_START_VERSION);
	put_le32(buf + SI_FLAGS, 0);
	put_le64(buf + SI_CMDLINE, PLAT_CMDLINE);
	put_le64(buf + SI_RSDP, rsdp_gpa);
	if (have_mod) {
		uint8_t *m = buf + PVH_MODLIST_OFF;
		put_le32(buf + SI_NR_MODULES, 1);
		put_le64(buf + SI_MODLIST, PLAT_PVH_START_INFO + PVH_MODLIST_OFF);
		put_le64(m + 0, mod_addr);
		put_le64(m + 8, mod_size);
		put_le64(m + 16, 0); /* no module command line */
	}
	for (unsigned i = 0; i < e820->n && i < E820_MAX; i++) {
		uint8_t *e = buf + PVH_MEMMAP_OFF + n * MM_SIZE;
		if (e820->e[i].size == 0)
			continue;
		put_le64(e + 0, e820->e[i].addr);
		put_le64(e + 8, e820->e[i].size);
		put_le32(e + 16, e820->e[i].type);
		put_le32(e + 20, 0);
		n++;
	}
	put_le64(buf + SI_MEMMAP, PLAT_PVH_START_INFO + PVH_MEMMAP_OFF);
	put_le32(buf + SI_MEMMAP_ENTRIES, n);
}

int pvh_load(const uint8_t *img, size_t len, const struct boot_spec *spec,
	     struct guest_mem *gm, const struct e820_map *e820,
	     uint64_t rsdp_gpa, struct boot_info *bi, char *err, size_t errlen)
{
	const char *kname = loader_kname(spec);
	struct loader_blob rd;
	struct elf_extent ext;
	struct elf_info ei;
	uint8_t si[PVH_PAGE_USED];
	uint64_t entry = 0, rd_addr = 0;
	char msg[200], what[320];
	int ret;

	if (!img || !spec || !gm || !e820 || !bi) {
		loader_errf(err, errlen, "pvh: invalid arguments");
		return -EINVAL;
	}
	memset(bi, 0, sizeof(*bi));
	msg[0] = '\0';
	ret = elf_parse(img, len, &ei, msg, sizeof(msg));
	if (ret == -ENOEXEC)
		loader_errf(err, errlen, "kernel %s: not an ELF file", kname);
	if (ret < 0) {
		if (ret != -ENOEXEC)
			loader_errf(err, errlen, "kernel %s: %s", kname, msg);
		return ret;
	}
	ret = pvh_entry(img, len, &ei, &entry, msg, sizeof(msg));
	if (ret < 0) {
		loader_errf(err, errlen, "kernel %s: %s", kname, msg);
		return ret;
	}
	ret = loader_cmdline_write(spec, gm, PLAT_CMDLINE_MAX - 1, "PVH", err,
				   errlen);
	if (ret < 0)
		return ret;
	ret = loader_initrd_get(spec, gm, &rd, err, errlen);
	if (ret < 0)
		return ret;

	snprintf(what, sizeof(what), "kernel %.300s", kname);
	ret = elf_load_segments(img, len, &ei, gm, e820, FOUR_GiB, &ext, what,
				err, errlen);
	if (ret < 0)
		goto err_rd;
	if (entry < ext.lo || entry >= ext.hi) {
		loader_errf(err, errlen,
			    "kernel %s: PVH entry 0x%llx is outside the loaded segments [0x%llx-0x%llx)",
			    kname, (unsigned long long)entry,
			    (unsigned long long)ext.lo, (unsigned long long)ext.hi);
		ret = -EINVAL;
		goto err_rd;
	}

	if (rd.present && rd.len > 0) {
		struct loader_range avoid = { ext.lo, ext.hi };

		ret = loader_initrd_put(spec, gm, e820, &rd,
					MIN(FOUR_GiB, GM_LOWMEM_LIMIT), &avoid,
					&rd_addr, err, errlen);
		if (ret < 0)
			goto err_rd;
	}

	pvh_build_start_info(si, e820, rsdp_gpa, rd.present && rd.len > 0,
			     rd_addr, rd.len);
	if (gm_write(gm, PLAT_PVH_START_INFO, si, sizeof(si)) < 0) {
		loader_errf(err, errlen,
			    "kernel %s: no guest RAM for the PVH start info at 0x%x",
			    kname, PLAT_PVH_START_INFO);
		ret = -EFAULT;
		goto err_rd;
	}

	bi->mode = BOOT_PROT32;
	bi->entry = entry;
	bi->rbx = PLAT_PVH_START_INFO;
	bi->format = "PVH ELF";
	ret = 0;
err_rd:
	loader_blob_free(&rd);
	return ret;
}
