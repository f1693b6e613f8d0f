/*
 * Minimal ELF reader for the PVH and multiboot loaders (ELF32 and ELF64,
 * little-endian, x86). Layouts from the System V gABI. Every field taken
 * from the file is checked against the file length before use; images are
 * untrusted input.
 *
 * Stateless; no locking needed.
 */
#include <errno.h>
#include <string.h>

#include "lhyve/util.h"
#include "elf_load.h"

#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define EM_X86_64 62
#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56
#define ELF_PN_XNUM 0xffff
#define ELF_NOTE_HDR 12

bool elf_is_elf(const uint8_t *img, size_t len)
{
	return img && len >= 4 && img[0] == 0x7f && img[1] == 'E' &&
	       img[2] == 'L' && img[3] == 'F';
}

int elf_parse(const uint8_t *img, size_t len, struct elf_info *ei,
	      char *err, size_t errlen)
{
	unsigned type;
	uint64_t tbl;

	memset(ei, 0, sizeof(*ei));
	if (!elf_is_elf(img, len))
		return -ENOEXEC;
	if (len < 16) {
		loader_errf(err, errlen, "truncated ELF header");
		return -EINVAL;
	}
	if (img[EI_CLASS] != ELFCLASS32 && img[EI_CLASS] != ELFCLASS64) {
		loader_errf(err, errlen, "unsupported ELF class %u", img[EI_CLASS]);
		return -EINVAL;
	}
	if (img[EI_DATA] != ELFDATA2LSB) {
		loader_errf(err, errlen, "ELF file is not little-endian");
		return -EINVAL;
	}
	if (img[EI_CLASS] == ELFCLASS32) {
		if (len < ELF32_EHDR_SIZE) {
			loader_errf(err, errlen, "truncated ELF32 header");
			return -EINVAL;
		}
		ei->bits = 32;
		ei->entry = get_le32(img + 24);
		ei->phoff = get_le32(img + 28);
		ei->phentsize = get_le16(img + 42);
		ei->phnum = get_le16(img + 44);
	} else {
		if (len < ELF64_EHDR_SIZE) {
			loader_errf(err, errlen, "truncated ELF64 header");
			return -EINVAL;
		}
		ei->bits = 64;
		ei->entry = get_le64(img + 24);
		ei->phoff = get_le64(img + 32);
		ei->phentsize = get_le16(img + 54);
		ei->phnum = get_le16(img + 56);
	}
	type = get_le16(img + 16);
	ei->machine = get_le16(img + 18);
	if (type != ET_EXEC && type != ET_DYN) {
		loader_errf(err, errlen, "ELF type %u is not an executable", type);
		return -EINVAL;
	}
	if (ei->machine != EM_386 && ei->machine != EM_X86_64) {
		loader_errf(err, errlen, "ELF machine %u is not x86", ei->machine);
		return -EINVAL;
	}
	if (ei->phnum == 0 || ei->phnum == ELF_PN_XNUM) {
		loader_errf(err, errlen, "ELF file has %s program headers",
			    ei->phnum ? "too many" : "no");
		return -EINVAL;
	}
	if (ei->phentsize < (ei->bits == 32 ? ELF32_PHDR_SIZE : ELF64_PHDR_SIZE)) {
		loader_errf(err, errlen, "ELF program header size %u too small",
			    ei->phentsize);
		return -EINVAL;
	}
	tbl = (uint64_t)ei->phnum * ei->phentsize; /* < 2^32, no overflow */
	if (ei->phoff > len || tbl > len - ei->phoff) {
		loader_errf(err, errlen,
			    "ELF program headers (offset 0x%llx, %u entries) extend past end of file",
			    (unsigned long long)ei->phoff, ei->phnum);
		return -EINVAL;
	}
	return 0;
}

void elf_phdr_get(const uint8_t *img, const struct elf_info *ei, unsigned i,
		  struct elf_phdr *ph)
{
	const uint8_t *p = img + ei->phoff + (uint64_t)i * ei->phentsize;

	if (ei->bits == 32) {
		ph->type = get_le32(p + 0);
		ph->offset = get_le32(p + 4);
		ph->vaddr = get_le32(p + 8);
		ph->paddr = get_le32(p + 12);
		ph->filesz = get_le32(p + 16);
		ph->memsz = get_le32(p + 20);
		ph->flags = get_le32(p + 24);
		ph->align = get_le32(p + 28);
	} else {
		ph->type = get_le32(p + 0);
		ph->flags = get_le32(p + 4);
		ph->offset = get_le64(p + 8);
		ph->vaddr = get_le64(p + 16);
		ph->paddr = get_le64(p + 24);
		ph->filesz = get_le64(p + 32);
		ph->memsz = get_le64(p + 40);
		ph->align = get_le64(p + 48);
	}
}

/* Walk one note segment [p, p+n). Returns 1 found, 0 not, -EINVAL bad. */
static int elf_note_scan(const uint8_t *p, uint64_t n, uint64_t align,
			 const char *name, uint32_t type, const uint8_t **desc,
			 uint32_t *descsz)
{
	size_t want = strlen(name);
	uint64_t pos = 0;

	while (n - pos >= ELF_NOTE_HDR) {
		uint64_t nsz = get_le32(p + pos);
		uint64_t dsz = get_le32(p + pos + 4);
		uint32_t t = get_le32(p + pos + 8);
		uint64_t name_off = pos + ELF_NOTE_HDR;
		uint64_t desc_off, next;

		/* All quantities < 2^33 here: no overflow in uint64_t. */
		desc_off = name_off + ALIGN_UP(nsz, align);
		if (desc_off > n || dsz > n - desc_off)
			return -EINVAL;
		next = desc_off + ALIGN_UP(dsz, align);
		if (t == type && (nsz == want + 1 || nsz == want) &&
		    memcmp(p + name_off, name, want) == 0 &&
		    (nsz == want || p[name_off + want] == '\0')) {
			*desc = p + desc_off;
			*descsz = (uint32_t)dsz;
			return 1;
		}
		if (next >= n)
			break;
		pos = next;
	}
	return 0;
}

int elf_note_find(const uint8_t *img, size_t len, const struct elf_info *ei,
		  const char *name, uint32_t type, const uint8_t **desc,
		  uint32_t *descsz, char *err, size_t errlen)
{
	for (unsigned i = 0; i < ei->phnum; i++) {
		struct elf_phdr ph;
		int r;

		elf_phdr_get(img, ei, i, &ph);
		if (ph.type != ELF_PT_NOTE)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset) {
			loader_errf(err, errlen,
				    "ELF note segment %u extends past end of file", i);
			return -EINVAL;
		}
		r = elf_note_scan(img + ph.offset, ph.filesz, ph.align == 8 ? 8 : 4,
				  name, type, desc, descsz);
		if (r < 0) {
			loader_errf(err, errlen, "ELF note segment %u is malformed", i);
			return r;
		}
		if (r > 0)
			return 1;
	}
	return 0;
}

int elf_load_segments(const uint8_t *img, size_t len, const struct elf_info *ei,
		      struct guest_mem *gm, const struct e820_map *e820,
		      uint64_t limit, struct elf_extent *ext, const char *what,
		      char *err, size_t errlen)
{
	struct elf_phdr ph;
	unsigned i, nload = 0;

	ext->lo = UINT64_MAX;
	ext->hi = 0;
	/* Pass 1: validate everything, write nothing. */
	for (i = 0; i < ei->phnum; i++) {
		elf_phdr_get(img, ei, i, &ph);
		if (ph.type != ELF_PT_LOAD || (ph.memsz == 0 && ph.filesz == 0))
			continue;
		if (ph.filesz > ph.memsz) {
			loader_errf(err, errlen,
				    "%s: ELF segment %u has file size 0x%llx > memory size 0x%llx",
				    what, i, (unsigned long long)ph.filesz,
				    (unsigned long long)ph.memsz);
			return -EINVAL;
		}
		if (ph.offset > len || ph.filesz > len - ph.offset) {
			loader_errf(err, errlen,
				    "%s: ELF segment %u (offset 0x%llx, size 0x%llx) extends past end of file",
				    what, i, (unsigned long long)ph.offset,
				    (unsigned long long)ph.filesz);
			return -EINVAL;
		}
		if (ph.paddr + ph.memsz < ph.paddr || ph.paddr + ph.memsz > limit) {
			loader_errf(err, errlen,
				    "%s: ELF segment %u at 0x%llx (size 0x%llx) is beyond the 0x%llx limit",
				    what, i, (unsigned long long)ph.paddr,
				    (unsigned long long)ph.memsz,
				    (unsigned long long)limit);
			return -EINVAL;
		}
		if (ph.paddr < LOADER_LOW_RESERVED) {
			loader_errf(err, errlen,
				    "%s: ELF segment %u at 0x%llx overlaps the first MiB (boot structures)",
				    what, i, (unsigned long long)ph.paddr);
			return -EINVAL;
		}
		if (!loader_in_ram(gm, e820, ph.paddr, ph.memsz)) {
			loader_errf(err, errlen,
				    "%s: ELF segment %u [0x%llx-0x%llx) is outside guest RAM",
				    what, i, (unsigned long long)ph.paddr,
				    (unsigned long long)(ph.paddr + ph.memsz));
			return -EINVAL;
		}
		nload++;
	}
	if (nload == 0) {
		loader_errf(err, errlen, "%s: ELF file has no loadable segments", what);
		return -EINVAL;
	}
	/* Pass 2: copy and zero. */
	for (i = 0; i < ei->phnum; i++) {
		uint8_t *dst;

		elf_phdr_get(img, ei, i, &ph);
		if (ph.type != ELF_PT_LOAD || (ph.memsz == 0 && ph.filesz == 0))
			continue;
		dst = gm_ptr(gm, ph.paddr, ph.memsz);
		if (!dst) /* checked in pass 1 */
			return -EFAULT;
		memcpy(dst, img + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
		ext->lo = MIN(ext->lo, ph.paddr);
		ext->hi = MAX(ext->hi, ph.paddr + ph.memsz);
	}
	return 0;
}

uint64_t elf_virt_to_phys(const uint8_t *img, const struct elf_info *ei,
			  uint64_t vaddr)
{
	for (unsigned i = 0; i < ei->phnum; i++) {
		struct elf_phdr ph;

		elf_phdr_get(img, ei, i, &ph);
		if (ph.type != ELF_PT_LOAD)
			continue;
		if (vaddr >= ph.vaddr && vaddr - ph.vaddr < ph.memsz)
			return ph.paddr + (vaddr - ph.vaddr);
	}
	return vaddr;
}
