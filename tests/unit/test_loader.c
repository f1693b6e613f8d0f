/*
 * Unit tests for the direct kernel boot loaders (src/loader): synthetic
 * bzImage, PVH ELF and multiboot images in host memory, fake guest memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "unit.h"
#include "lhyve/loader.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define RAM (64 * MiB)

struct env {
	struct guest_mem gm;
	struct e820_map e820;
	struct boot_info bi;
	char err[512];
};

static void env_init(struct env *e, uint64_t lowmem)
{
	memset(e, 0, sizeof(*e));
	if (fake_gm_init(&e->gm, lowmem, 0) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	e->e820.e[0] = (struct e820_entry){ 0, PLAT_EBDA, E820_RAM };
	e->e820.e[1] = (struct e820_entry){ PLAT_EBDA, 0x100000 - PLAT_EBDA,
					    E820_RESERVED };
	e->e820.e[2] = (struct e820_entry){ 0x100000, lowmem - 0x100000, E820_RAM };
	e->e820.n = 3;
}

static void env_free(struct env *e)
{
	fake_gm_free(&e->gm);
}

static uint8_t *G(struct env *e, uint64_t gpa)
{
	uint8_t *p = gm_ptr(&e->gm, gpa, 1);
	if (!p) {
		fprintf(stderr, "bad gpa 0x%llx in test\n", (unsigned long long)gpa);
		exit(2);
	}
	return p;
}

static bool has(const char *s, const char *sub)
{
	bool ok = strstr(s, sub) != NULL;
	if (!ok)
		fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", s, sub);
	return ok;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* ------------------------------------------------------------ bzImage */

struct bz_opts {
	unsigned version, setup_sects, xloadflags;
	uint64_t pref;
	uint32_t align, init_size, cmdline_size, initrd_max;
	bool relocatable;
	size_t pm_len;
};

static const struct bz_opts bz_default = {
	.version = 0x20f, .setup_sects = 4, .xloadflags = 1,
	.pref = 0x1000000, .align = 0x200000, .init_size = 0x400000,
	.cmdline_size = 2047, .initrd_max = 0x7fffffff, .relocatable = true,
	.pm_len = 0x3000,
};

static uint8_t *make_bzimage(const struct bz_opts *o, size_t *len)
{
	unsigned ss = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (size_t)(ss + 1) * 512;
	uint8_t *b = calloc(1, setup + o->pm_len);

	b[0x1f1] = (uint8_t)o->setup_sects;
	put_le16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put_le16(b + 0x206, (uint16_t)o->version);
	b[0x211] = 0x01; /* LOADED_HIGH */
	put_le32(b + 0x22c, o->initrd_max);
	put_le32(b + 0x230, o->align);
	b[0x234] = o->relocatable;
	put_le16(b + 0x236, (uint16_t)o->xloadflags);
	put_le32(b + 0x238, o->cmdline_size);
	put_le64(b + 0x258, o->pref);
	put_le32(b + 0x260, o->init_size);
	fill_pattern(b + setup, o->pm_len, 3);
	*len = setup + o->pm_len;
	return b;
}

static void test_bzimage_basic(void)
{
	struct env e;
	size_t len, rdlen = 0x5000 + 123;
	uint8_t *img = make_bzimage(&bz_default, &len);
	uint8_t *rd = malloc(rdlen);
	struct boot_spec spec = { .kernel = "bz", .initrd = "/boot/initrd.img",
				  .cmdline = "console=ttyS0 root=/dev/vda",
				  .initrd_data = rd, .initrd_size = rdlen };
	uint8_t *bp;
	int ret;

	fill_pattern(rd, rdlen, 9);
	env_init(&e, RAM);
	CHECK(bzimage_probe(img, len));
	ret = bzimage_load(img, len, &spec, &e.gm, &e.e820, 0xe0000, &e.bi,
			   e.err, sizeof(e.err));
	CHECK_EQ(ret, 0);
	CHECK_EQ(e.bi.mode, BOOT_LONG64);
	CHECK_EQ(e.bi.entry, 0x1000000 + 0x200);
	CHECK_EQ(e.bi.rsi, PLAT_ZERO_PAGE);
	CHECK_STR(e.bi.format, "bzImage");
	/* protected-mode kernel at pref_address */
	CHECK(memcmp(G(&e, 0x1000000), img + 5 * 512, bz_default.pm_len) == 0);
	bp = G(&e, PLAT_ZERO_PAGE);
	CHECK(memcmp(bp + 0x202, "HdrS", 4) == 0);
	CHECK_EQ(get_le16(bp + 0x206), 0x20f);
	CHECK_EQ(bp[0x1f1], 4);
	CHECK_EQ(get_le16(bp + 0x1fa), 0xffff);
	CHECK_EQ(bp[0x210], 0xff);
	CHECK_EQ(bp[0x211] & 0x81, 0x81);
	CHECK_EQ(get_le32(bp + 0x228), PLAT_CMDLINE);
	CHECK_STR((char *)G(&e, PLAT_CMDLINE), "console=ttyS0 root=/dev/vda");
	CHECK_EQ(get_le64(bp + 0x070), 0xe0000);
	CHECK_EQ(get_le32(bp + 0x214), 0x1000000);
	/* e820 copy */
	CHECK_EQ(bp[0x1e8], 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(get_le64(bp + 0x2d0 + i * 20), e.e820.e[i].addr);
		CHECK_EQ(get_le64(bp + 0x2d0 + i * 20 + 8), e.e820.e[i].size);
		CHECK_EQ(get_le32(bp + 0x2d0 + i * 20 + 16), e.e820.e[i].type);
	}
	/* initrd: as high as possible, page aligned */
	uint32_t ri = get_le32(bp + 0x218);
	CHECK_EQ(get_le32(bp + 0x21c), rdlen);
	CHECK_EQ(ri % 4096, 0);
	CHECK_EQ(ri, ALIGN_DOWN(RAM - rdlen, 4096));
	CHECK(ri >= 0x1000000 + bz_default.init_size);
	CHECK(memcmp(G(&e, ri), rd, rdlen) == 0);
	free(rd);
	free(img);
	env_free(&e);
}

static void test_bzimage_no_rsdp_no_initrd(void)
{
	struct env e;
	size_t len;
	uint8_t *img = make_bzimage(&bz_default, &len);
	struct boot_spec spec = { .kernel = "bz" };

	env_init(&e, RAM);
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), 0);
	CHECK_EQ(get_le64(G(&e, PLAT_ZERO_PAGE) + 0x070), 0);
	CHECK_EQ(get_le32(G(&e, PLAT_ZERO_PAGE) + 0x218), 0);
	CHECK_EQ(get_le32(G(&e, PLAT_ZERO_PAGE) + 0x21c), 0);
	CHECK_EQ(*G(&e, PLAT_CMDLINE), 0);
	free(img);
	env_free(&e);
}

static void test_bzimage_small_ram_relocates(void)
{
	struct env e;
	size_t len;
	struct bz_opts o = bz_default;
	uint8_t *img;
	struct boot_spec spec = { .kernel = "bz" };

	o.init_size = 20 * MiB; /* 16 MiB + 20 MiB does not fit in 24 MiB */
	img = make_bzimage(&o, &len);
	env_init(&e, 24 * MiB);
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), 0);
	CHECK_EQ(e.bi.entry, 0x200000 + 0x200); /* ALIGN_UP(1 MiB, 2 MiB) */
	CHECK(memcmp(G(&e, 0x200000), img + 5 * 512, o.pm_len) == 0);
	env_free(&e);

	/* Not relocatable: must be at pref_address, which is not RAM. */
	o.relocatable = false;
	free(img);
	img = make_bzimage(&o, &len);
	env_init(&e, 24 * MiB);
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "not in guest RAM"));
	free(img);
	env_free(&e);
}

static void test_bzimage_initrd_below_kernel(void)
{
	struct env e;
	size_t len, rdlen = 3 * MiB;
	struct bz_opts o = bz_default;
	uint8_t *img, *rd = calloc(1, rdlen);
	struct boot_spec spec = { .kernel = "bz", .initrd = "r",
				  .initrd_data = rd, .initrd_size = rdlen };
	uint32_t ri;

	/* initrd_addr_max inside the kernel: the initrd must go below it. */
	o.initrd_max = 0x1000000 + 0x100000 - 1;
	img = make_bzimage(&o, &len);
	env_init(&e, RAM);
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), 0);
	ri = get_le32(G(&e, PLAT_ZERO_PAGE) + 0x218);
	CHECK_EQ(ri, 0x1000000 - rdlen);
	CHECK_EQ(ri % 4096, 0);
	free(rd);
	free(img);
	env_free(&e);
}

static void test_bzimage_errors(void)
{
	struct env e;
	size_t len, rdlen = 60 * MiB;
	struct bz_opts o;
	uint8_t *img, *rd;
	struct boot_spec spec = { .kernel = "bz" };

	env_init(&e, RAM);

	/* initrd too large */
	rd = calloc(1, rdlen);
	img = make_bzimage(&bz_default, &len);
	spec.initrd = "/x/big.img";
	spec.initrd_data = rd;
	spec.initrd_size = rdlen;
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), -ENOMEM);
	CHECK(has(e.err, "initrd /x/big.img (60 MiB) does not fit in guest RAM"));
	free(rd);
	spec.initrd = NULL;
	spec.initrd_data = NULL;
	spec.initrd_size = 0;

	/* command line too long for cmdline_size */
	o = bz_default;
	o.cmdline_size = 10;
	free(img);
	img = make_bzimage(&o, &len);
	spec.cmdline = "this is more than ten bytes";
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), -E2BIG);
	CHECK(has(e.err, "command line"));
	spec.cmdline = NULL;

	/* 32-bit only kernel */
	o = bz_default;
	o.xloadflags = 0;
	free(img);
	img = make_bzimage(&o, &len);
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "64-bit"));

	/* old protocol */
	o = bz_default;
	o.version = 0x205;
	free(img);
	img = make_bzimage(&o, &len);
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "too old"));

	/* bad alignment */
	o = bz_default;
	o.align = 0x3000;
	free(img);
	img = make_bzimage(&o, &len);
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "kernel_alignment"));

	/* truncated: setup sectors past EOF, and tiny files */
	o = bz_default;
	free(img);
	img = make_bzimage(&o, &len);
	img[0x1f1] = 200;
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "truncated"));
	img[0x1f1] = 4;
	CHECK(bzimage_load(img, 0x210, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "truncated"));
	CHECK(!bzimage_probe(img, 0x204));
	CHECK(bzimage_load(img, 0x204, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	/* init_size larger than RAM */
	o = bz_default;
	o.init_size = 0xfff00000;
	free(img);
	img = make_bzimage(&o, &len);
	CHECK(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			   sizeof(e.err)) < 0);
	CHECK(has(e.err, "not in guest RAM"));
	free(img);
	env_free(&e);
}

/* ------------------------------------------------------------ ELF builders */

struct seg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* ELF header + phdrs at offset 64 (ELF64) or 52 (ELF32). */
static void elf_header(uint8_t *b, unsigned bits, uint64_t entry,
		       const struct seg *s, unsigned n)
{
	b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
	b[4] = bits == 64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	put_le16(b + 16, 2);
	put_le16(b + 18, bits == 64 ? 62 : 3);
	put_le32(b + 20, 1);
	if (bits == 64) {
		put_le64(b + 24, entry);
		put_le64(b + 32, 64);
		put_le16(b + 52, 64);
		put_le16(b + 54, 56);
		put_le16(b + 56, (uint16_t)n);
		for (unsigned i = 0; i < n; i++) {
			uint8_t *p = b + 64 + i * 56;
			put_le32(p, s[i].type);
			put_le32(p + 4, 5);
			put_le64(p + 8, s[i].offset);
			put_le64(p + 16, s[i].vaddr);
			put_le64(p + 24, s[i].paddr);
			put_le64(p + 32, s[i].filesz);
			put_le64(p + 40, s[i].memsz);
			put_le64(p + 48, s[i].align);
		}
	} else {
		put_le32(b + 24, (uint32_t)entry);
		put_le32(b + 28, 52);
		put_le16(b + 40, 52);
		put_le16(b + 42, 32);
		put_le16(b + 44, (uint16_t)n);
		for (unsigned i = 0; i < n; i++) {
			uint8_t *p = b + 52 + i * 32;
			put_le32(p, s[i].type);
			put_le32(p + 4, (uint32_t)s[i].offset);
			put_le32(p + 8, (uint32_t)s[i].vaddr);
			put_le32(p + 12, (uint32_t)s[i].paddr);
			put_le32(p + 16, (uint32_t)s[i].filesz);
			put_le32(p + 20, (uint32_t)s[i].memsz);
			put_le32(p + 24, 5);
			put_le32(p + 28, (uint32_t)s[i].align);
		}
	}
}

#define PVH_IMG_LEN 0x4000
#define PVH_NOTE_OFF 0x400
#define PVH_ENTRY 0x100040

/*
 * PVH image: note at 0x400, text at file 0x1000 -> 0x100000 (0x1000 bytes),
 * data at file 0x2000 -> 0x200000 (0x800 file, 0x3000 mem).
 */
static uint8_t *make_pvh(unsigned bits, struct seg *s, size_t *len)
{
	uint8_t *b = calloc(1, PVH_IMG_LEN);
	unsigned dsz = bits == 64 ? 8 : 4;
	uint8_t *n = b + PVH_NOTE_OFF;

	/* an unrelated note first, then the Xen one */
	put_le32(n, 4); put_le32(n + 4, 4); put_le32(n + 8, 1);
	memcpy(n + 12, "GNU", 4);
	put_le32(n + 16, 0xdeadbeef);
	n += 20;
	put_le32(n, 4);
	put_le32(n + 4, dsz);
	put_le32(n + 8, 18);
	memcpy(n + 12, "Xen", 4);
	if (dsz == 8)
		put_le64(n + 16, PVH_ENTRY);
	else
		put_le32(n + 16, PVH_ENTRY);
	s[0] = (struct seg){ 4, PVH_NOTE_OFF, 0, 0, 20 + 16 + dsz, 20 + 16 + dsz, 4 };
	s[1] = (struct seg){ 1, 0x1000, 0xffffffff81000000ULL & (bits == 64 ? ~0ULL : 0xffffffffULL),
			     0x100000, 0x1000, 0x1000, 0x1000 };
	s[2] = (struct seg){ 1, 0x2000, 0x200000, 0x200000, 0x800, 0x3000, 0x1000 };
	fill_pattern(b + 0x1000, 0x1000, 1);
	fill_pattern(b + 0x2000, 0x2000, 2);
	elf_header(b, bits, 0xffffffff81000040ULL, s, 3);
	*len = PVH_IMG_LEN;
	return b;
}

static void test_pvh_elf64(void)
{
	struct env e;
	struct seg s[3];
	size_t len, rdlen = 0x2345;
	uint8_t *img = make_pvh(64, s, &len);
	uint8_t *rd = malloc(rdlen), *si;
	struct boot_spec spec = { .kernel = "vmlinux", .initrd = "rd",
				  .cmdline = "console=hvc0", .initrd_data = rd,
				  .initrd_size = rdlen };
	uint64_t mm, mod;

	fill_pattern(rd, rdlen, 5);
	env_init(&e, RAM);
	memset(G(&e, 0x200000), 0xaa, 0x3000); /* bss must be cleared */
	CHECK(pvh_probe(img, len));
	CHECK(!bzimage_probe(img, len));
	CHECK_EQ(pvh_load(img, len, &spec, &e.gm, &e.e820, 0xe0000, &e.bi, e.err,
			  sizeof(e.err)), 0);
	CHECK_EQ(e.bi.mode, BOOT_PROT32);
	CHECK_EQ(e.bi.entry, PVH_ENTRY);
	CHECK_EQ(e.bi.rbx, PLAT_PVH_START_INFO);
	CHECK_STR(e.bi.format, "PVH ELF");
	CHECK(memcmp(G(&e, 0x100000), img + 0x1000, 0x1000) == 0);
	CHECK(memcmp(G(&e, 0x200000), img + 0x2000, 0x800) == 0);
	bool zero = true;
	for (unsigned i = 0x800; i < 0x3000; i++)
		zero &= *G(&e, 0x200000 + i) == 0;
	CHECK(zero);
	CHECK_EQ(*G(&e, 0x203000), 0); /* past memsz untouched (was 0) */
	si = G(&e, PLAT_PVH_START_INFO);
	CHECK_EQ(get_le32(si + 0), 0x336ec578);
	CHECK_EQ(get_le32(si + 4), 1);
	CHECK_EQ(get_le32(si + 12), 1);
	CHECK_EQ(get_le64(si + 24), PLAT_CMDLINE);
	CHECK_STR((char *)G(&e, PLAT_CMDLINE), "console=hvc0");
	CHECK_EQ(get_le64(si + 32), 0xe0000);
	mod = get_le64(si + 16);
	CHECK(gm_ptr(&e.gm, mod, 32) != NULL);
	CHECK_EQ(get_le64(G(&e, mod) + 8), rdlen);
	uint64_t ra = get_le64(G(&e, mod));
	CHECK_EQ(ra % 4096, 0);
	CHECK_EQ(ra, ALIGN_DOWN(RAM - rdlen, 4096));
	CHECK(memcmp(G(&e, ra), rd, rdlen) == 0);
	mm = get_le64(si + 40);
	CHECK_EQ(get_le32(si + 48), 3);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *m = G(&e, mm + i * 24);
		CHECK_EQ(get_le64(m), e.e820.e[i].addr);
		CHECK_EQ(get_le64(m + 8), e.e820.e[i].size);
		CHECK_EQ(get_le32(m + 16), e.e820.e[i].type);
		CHECK_EQ(get_le32(m + 20), 0);
	}
	free(rd);
	free(img);
	env_free(&e);
}

static void test_pvh_elf32_no_initrd(void)
{
	struct env e;
	struct seg s[3];
	size_t len;
	uint8_t *img = make_pvh(32, s, &len);
	struct boot_spec spec = { .kernel = "k32" };

	env_init(&e, RAM);
	CHECK(pvh_probe(img, len));
	CHECK_EQ(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			  sizeof(e.err)), 0);
	CHECK_EQ(e.bi.entry, PVH_ENTRY);
	CHECK_EQ(get_le32(G(&e, PLAT_PVH_START_INFO) + 12), 0);
	CHECK_EQ(get_le64(G(&e, PLAT_PVH_START_INFO) + 16), 0);
	CHECK(memcmp(G(&e, 0x100000), img + 0x1000, 0x1000) == 0);
	free(img);
	env_free(&e);
}

/* Rebuild the header of a PVH image with modified segment i. */
static int pvh_try(struct env *e, unsigned bits, unsigned i, struct seg mod)
{
	struct seg s[3];
	size_t len;
	uint8_t *img = make_pvh(bits, s, &len);
	struct boot_spec spec = { .kernel = "bad" };
	int ret;

	s[i] = mod;
	elf_header(img, bits, 0, s, 3);
	ret = pvh_load(img, len, &spec, &e->gm, &e->e820, 0, &e->bi, e->err,
		       sizeof(e->err));
	free(img);
	return ret;
}

static void test_pvh_malformed(void)
{
	struct env e;
	struct seg s[3];
	size_t len;
	uint8_t *img;
	struct boot_spec spec = { .kernel = "bad" };

	env_init(&e, RAM);
	/* segment outside RAM */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, 0x8000000, 0x800, 0x3000, 0 }) < 0);
	CHECK(has(e.err, "outside guest RAM"));
	/* segment straddling the end of RAM */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, RAM - 0x1000, 0x800, 0x3000, 0 }) < 0);
	CHECK(has(e.err, "outside guest RAM"));
	/* segment in the low MiB */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, 0x7000, 0x800, 0x800, 0 }) < 0);
	CHECK(has(e.err, "first MiB"));
	/* offset past EOF */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x3f00, 0, 0x200000, 0x800, 0x800, 0 }) < 0);
	CHECK(has(e.err, "past end of file"));
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, ~0ULL - 4, 0, 0x200000, 0x800, 0x800, 0 }) < 0);
	/* filesz > memsz */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, 0x200000, 0x800, 0x400, 0 }) < 0);
	CHECK(has(e.err, "file size"));
	/* huge sizes that overflow */
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, 0x200000, 0x800, ~0ULL - 0x1000, 0 }) < 0);
	CHECK(pvh_try(&e, 64, 2, (struct seg){ 1, 0x2000, 0, ~0ULL - 0x100, 0x800, 0x1000, 0 }) < 0);
	CHECK(pvh_try(&e, 32, 2, (struct seg){ 1, 0x2000, 0, 0xfffff000, 0x800, 0x2000, 0 }) < 0);
	/* note segment past EOF / malformed note */
	CHECK(pvh_try(&e, 64, 0, (struct seg){ 4, 0x3ff0, 0, 0, 0x100, 0x100, 4 }) < 0);
	img = make_pvh(64, s, &len);
	put_le32(img + PVH_NOTE_OFF, 0xfffffff0); /* namesz of the first note */
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	CHECK(has(e.err, "malformed"));
	free(img);
	/* entry outside the loaded segments */
	img = make_pvh(64, s, &len);
	put_le64(img + PVH_NOTE_OFF + 20 + 16, 0x5000000);
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	CHECK(has(e.err, "entry"));
	/* entry above 4 GiB */
	put_le64(img + PVH_NOTE_OFF + 20 + 16, 0x100000000ULL);
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	free(img);
	/* program headers past EOF, truncated header, too many phdrs */
	img = make_pvh(64, s, &len);
	put_le64(img + 32, 0x3ff0);
	CHECK(!pvh_probe(img, len));
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	CHECK(has(e.err, "program headers"));
	put_le64(img + 32, 64);
	put_le16(img + 56, 0xfffe);
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	put_le16(img + 56, 3);
	CHECK(!pvh_probe(img, 40));
	CHECK(pvh_load(img, 40, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	CHECK(has(e.err, "truncated"));
	/* ELF without the note */
	put_le32(img + 64, 6); /* PT_NOTE -> PT_PHDR */
	CHECK(!pvh_probe(img, len));
	CHECK(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
		       sizeof(e.err)) < 0);
	CHECK(has(e.err, "PVH entry note"));
	free(img);
	env_free(&e);
}

/* With RAM above 4 GiB, initrds still go below 4 GiB (32-bit fields). */
static void test_highmem_initrd_below_4g(void)
{
	struct env e;
	struct seg s[3];
	size_t len, rdlen = 0x3000;
	uint8_t *img, *rd = calloc(1, rdlen);
	struct boot_spec spec = { .kernel = "k", .initrd = "r", .initrd_data = rd,
				  .initrd_size = rdlen };

	memset(&e, 0, sizeof(e));
	env_init(&e, RAM);
	fake_gm_free(&e.gm);
	if (fake_gm_init(&e.gm, RAM, 16 * MiB) < 0)
		exit(2);
	e.e820.e[3] = (struct e820_entry){ GM_HIGHMEM_BASE, 16 * MiB, E820_RAM };
	e.e820.n = 4;

	img = make_bzimage(&bz_default, &len);
	CHECK_EQ(bzimage_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			      sizeof(e.err)), 0);
	CHECK_EQ(get_le32(G(&e, PLAT_ZERO_PAGE) + 0x218), RAM - rdlen);
	CHECK_EQ(*G(&e, PLAT_ZERO_PAGE + 0x1e8), 4);
	CHECK_EQ(get_le64(G(&e, PLAT_ZERO_PAGE) + 0x2d0 + 3 * 20), GM_HIGHMEM_BASE);
	free(img);

	img = make_pvh(64, s, &len);
	CHECK_EQ(pvh_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			  sizeof(e.err)), 0);
	uint64_t mod = get_le64(G(&e, PLAT_PVH_START_INFO) + 16);
	CHECK_EQ(get_le64(G(&e, mod)), RAM - rdlen);
	CHECK_EQ(get_le32(G(&e, PLAT_PVH_START_INFO) + 48), 4);
	free(img);
	free(rd);
	env_free(&e);
}

/* ------------------------------------------------------------ multiboot */

#define MB_TEXT_OFF 0x1000

static void mb_header(uint8_t *h, uint32_t flags)
{
	put_le32(h, 0x1BADB002);
	put_le32(h + 4, flags);
	put_le32(h + 8, (uint32_t)-(0x1BADB002U + flags));
}

/* ELF32: one PT_LOAD file 0x1000 -> 0x100000 (0x2000 file, 0x3000 mem). */
static uint8_t *make_mb_elf(uint32_t flags, uint64_t vbase, size_t *len)
{
	uint8_t *b = calloc(1, 0x3000);
	struct seg s = { 1, MB_TEXT_OFF, vbase, 0x100000, 0x2000, 0x3000, 0x1000 };

	fill_pattern(b + MB_TEXT_OFF, 0x2000, 4);
	mb_header(b + MB_TEXT_OFF + 16, flags);
	elf_header(b, 32, vbase + 0x40, &s, 1);
	*len = 0x3000;
	return b;
}

static void test_multiboot_elf(void)
{
	struct env e;
	size_t len, rdlen = 0x1801;
	uint8_t *img = make_mb_elf(0x3, 0x100000, &len);
	uint8_t *rd = malloc(rdlen), *mbi, *mm;
	struct boot_spec spec = { .kernel = "mb.elf", .initrd = "/tmp/dir/initrd.img",
				  .cmdline = "hello world", .initrd_data = rd,
				  .initrd_size = rdlen };
	uint32_t flags, mod;

	fill_pattern(rd, rdlen, 6);
	env_init(&e, RAM);
	memset(G(&e, 0x102000), 0xbb, 0x1000);
	CHECK(multiboot_probe(img, len));
	CHECK(!pvh_probe(img, len));
	CHECK_EQ(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
				sizeof(e.err)), 0);
	CHECK_EQ(e.bi.mode, BOOT_PROT32);
	CHECK_EQ(e.bi.entry, 0x100040);
	CHECK_EQ(e.bi.rax, 0x2BADB002);
	CHECK_EQ(e.bi.rbx, PLAT_MB_INFO);
	CHECK_STR(e.bi.format, "multiboot ELF");
	CHECK(memcmp(G(&e, 0x100000), img + MB_TEXT_OFF, 0x2000) == 0);
	CHECK_EQ(*G(&e, 0x102000), 0);
	CHECK_EQ(*G(&e, 0x102fff), 0);
	mbi = G(&e, PLAT_MB_INFO);
	flags = get_le32(mbi);
	CHECK_EQ(flags & 0x1, 0x1);
	CHECK_EQ(flags & 0x4, 0x4);
	CHECK_EQ(flags & 0x8, 0x8);
	CHECK_EQ(flags & 0x40, 0x40);
	CHECK_EQ(flags & 0x200, 0x200);
	CHECK_EQ(get_le32(mbi + 4), PLAT_EBDA / 1024);
	CHECK_EQ(get_le32(mbi + 8), (RAM - MiB) / 1024);
	CHECK_EQ(get_le32(mbi + 16), PLAT_CMDLINE);
	CHECK_STR((char *)G(&e, PLAT_CMDLINE), "hello world");
	CHECK_EQ(get_le32(mbi + 20), 1);
	mod = get_le32(mbi + 24);
	CHECK_EQ(get_le32(G(&e, mod)), 0x103000);
	CHECK_EQ(get_le32(G(&e, mod) + 4), 0x103000 + rdlen);
	CHECK_STR((char *)G(&e, get_le32(G(&e, mod) + 8)), "initrd.img");
	CHECK(memcmp(G(&e, 0x103000), rd, rdlen) == 0);
	CHECK_EQ(get_le32(mbi + 44), 3 * 24);
	mm = G(&e, get_le32(mbi + 48));
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(get_le32(mm + i * 24), 20);
		CHECK_EQ(get_le64(mm + i * 24 + 4), e.e820.e[i].addr);
		CHECK_EQ(get_le64(mm + i * 24 + 12), e.e820.e[i].size);
		CHECK_EQ(get_le32(mm + i * 24 + 20), e.e820.e[i].type);
	}
	CHECK_STR((char *)G(&e, get_le32(mbi + 64)), "lhyve");
	free(rd);
	free(img);
	env_free(&e);
}

static void test_multiboot_higher_half_no_initrd(void)
{
	struct env e;
	size_t len;
	uint8_t *img = make_mb_elf(0x1, 0xc0100000, &len);
	struct boot_spec spec = { .kernel = "hh" };

	env_init(&e, RAM);
	CHECK_EQ(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
				sizeof(e.err)), 0);
	CHECK_EQ(e.bi.entry, 0x100040);
	CHECK_EQ(get_le32(G(&e, PLAT_MB_INFO)) & 0x8, 0);
	CHECK_EQ(get_le32(G(&e, PLAT_MB_INFO) + 20), 0);
	CHECK_EQ(*G(&e, PLAT_CMDLINE), 0);
	free(img);
	env_free(&e);
}

/* a.out kludge: raw binary, header at offset 8, loaded at 0x200000. */
static uint8_t *make_mb_aout(size_t *len, uint32_t load_end, uint32_t bss_end)
{
	uint8_t *b = calloc(1, 0x1800);
	uint8_t *h = b + 8;

	fill_pattern(b, 0x1800, 8);
	mb_header(h, 0x10003);
	put_le32(h + 12, 0x200008);  /* header_addr */
	put_le32(h + 16, 0x200000);  /* load_addr */
	put_le32(h + 20, load_end);
	put_le32(h + 24, bss_end);
	put_le32(h + 28, 0x200100);  /* entry */
	*len = 0x1800;
	return b;
}

static void test_multiboot_aout(void)
{
	struct env e;
	size_t len;
	uint8_t *img = make_mb_aout(&len, 0, 0x203000);
	struct boot_spec spec = { .kernel = "raw", .initrd = "m",
				  .initrd_data = "", .initrd_size = 0 };

	env_init(&e, RAM);
	memset(G(&e, 0x201800), 0xcc, 0x1800);
	CHECK(multiboot_probe(img, len));
	CHECK_EQ(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
				sizeof(e.err)), 0);
	CHECK_EQ(e.bi.entry, 0x200100);
	CHECK_STR(e.bi.format, "multiboot");
	CHECK(memcmp(G(&e, 0x200000), img, len) == 0);
	CHECK_EQ(*G(&e, 0x201800), 0);
	CHECK_EQ(*G(&e, 0x202fff), 0);
	/* empty module right after the bss */
	uint32_t mod = get_le32(G(&e, PLAT_MB_INFO) + 24);
	CHECK_EQ(get_le32(G(&e, PLAT_MB_INFO) + 20), 1);
	CHECK_EQ(get_le32(G(&e, mod)), 0x203000);
	CHECK_EQ(get_le32(G(&e, mod) + 4), 0x203000);
	free(img);

	/* load_end_addr limits what is copied */
	img = make_mb_aout(&len, 0x200800, 0);
	memset(G(&e, 0x200000), 0, 0x3000);
	CHECK_EQ(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
				sizeof(e.err)), 0);
	CHECK(memcmp(G(&e, 0x200000), img, 0x800) == 0);
	CHECK_EQ(*G(&e, 0x200800), 0);
	free(img);
	env_free(&e);
}

static void test_multiboot_malformed(void)
{
	struct env e;
	size_t len;
	uint8_t *img;
	struct boot_spec spec = { .kernel = "mb" };

	env_init(&e, RAM);
	/* bad checksum */
	img = make_mb_elf(0x3, 0x100000, &len);
	put_le32(img + MB_TEXT_OFF + 16 + 8, 0x12345678);
	CHECK(multiboot_probe(img, len));
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "checksum"));
	free(img);
	/* unknown required flag */
	img = make_mb_elf(0x9, 0x100000, &len);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "unsupported"));
	free(img);
	/* header beyond the first 8 KiB is not found */
	img = calloc(1, 0x3000);
	mb_header(img + 0x2000, 0);
	CHECK(!multiboot_probe(img, 0x3000));
	CHECK(multiboot_load(img, 0x3000, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	/* not ELF and no kludge */
	mb_header(img + 0x100, 0);
	CHECK(multiboot_load(img, 0x3000, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "not ELF"));
	/* truncated kludge header */
	mb_header(img + 0x100, 0x10000);
	CHECK(multiboot_load(img, 0x110, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "truncated"));
	free(img);
	/* kludge: load_addr > header_addr, header_addr far beyond offset */
	img = make_mb_aout(&len, 0, 0);
	put_le32(img + 8 + 16, 0x300000);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	put_le32(img + 8 + 16, 0x100000);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	free(img);
	/* kludge: load_end past EOF; bss below load end; outside RAM; low MiB */
	img = make_mb_aout(&len, 0x210000, 0);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "past end of file"));
	free(img);
	img = make_mb_aout(&len, 0, 0x200010);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	free(img);
	img = make_mb_aout(&len, 0, 0xfffff000);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "outside guest RAM"));
	free(img);
	img = make_mb_aout(&len, 0, 0);
	put_le32(img + 8 + 12, 0x8008);
	put_le32(img + 8 + 16, 0x8000);
	put_le32(img + 8 + 28, 0x8000);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "first MiB"));
	free(img);
	/* ELF segment outside RAM */
	img = make_mb_elf(0x3, 0x100000, &len);
	put_le32(img + 52 + 12, 0x7fff0000);
	CHECK(multiboot_load(img, len, &spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)) < 0);
	CHECK(has(e.err, "outside guest RAM"));
	free(img);
	/* module does not fit above the kernel */
	{
		size_t big = RAM - MiB;
		uint8_t *rd = calloc(1, big);
		struct boot_spec s2 = { .kernel = "mb", .initrd = "huge",
					.initrd_data = rd, .initrd_size = big };
		img = make_mb_elf(0x3, 0x100000, &len);
		CHECK(multiboot_load(img, len, &s2, &e.gm, &e.e820, 0, &e.bi, e.err,
				     sizeof(e.err)) < 0);
		CHECK(has(e.err, "initrd huge"));
		CHECK(has(e.err, "does not fit in guest RAM"));
		free(rd);
		free(img);
	}
	env_free(&e);
}

/* ------------------------------------------------------------ loader_load */

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t len, char *path)
{
	FILE *f;

	snprintf(path, 256, "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	fclose(f);
}

static void test_loader_files(void)
{
	struct env e;
	char kpath[256], ipath[256], upath[256], bpath[256], mpath[256];
	size_t len, mlen;
	uint8_t *bz = make_bzimage(&bz_default, &len);
	uint8_t *mb = make_mb_elf(0x3, 0x100000, &mlen);
	uint8_t rd[5000];
	struct seg s[3];
	size_t plen;
	uint8_t *pvh = make_pvh(64, s, &plen);
	struct boot_spec spec = { 0 };

	fill_pattern(rd, sizeof(rd), 11);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_loader.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "mkdtemp failed\n");
		exit(2);
	}
	write_file("bzImage", bz, len, kpath);
	write_file("initrd.gz", rd, sizeof(rd), ipath);
	write_file("junk", "hello, not a kernel at all", 26, upath);
	write_file("big", bz, len, bpath);
	write_file("mb.elf", mb, mlen, mpath);

	env_init(&e, RAM);
	spec.kernel = kpath;
	spec.initrd = ipath;
	spec.cmdline = "quiet";
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0xe0000, &e.bi, e.err,
			     sizeof(e.err)), 0);
	CHECK_STR(e.bi.format, "bzImage");
	uint32_t ri = get_le32(G(&e, PLAT_ZERO_PAGE) + 0x218);
	CHECK_EQ(get_le32(G(&e, PLAT_ZERO_PAGE) + 0x21c), sizeof(rd));
	CHECK(memcmp(G(&e, ri), rd, sizeof(rd)) == 0);

	/* PVH wins over multiboot when both are present */
	mb_header(pvh + 0x1000 + 0x20, 0x3);
	write_file("both", pvh, plen, kpath);
	spec.initrd = NULL;
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), 0);
	CHECK_STR(e.bi.format, "PVH ELF");

	spec.kernel = mpath;
	spec.initrd = ipath;
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), 0);
	CHECK_STR(e.bi.format, "multiboot ELF");
	uint32_t mod = get_le32(G(&e, PLAT_MB_INFO) + 24);
	CHECK_STR((char *)G(&e, get_le32(G(&e, mod) + 8)), "initrd.gz");

	/* missing kernel / initrd */
	spec.kernel = "/nonexistent/vmlinuz";
	spec.initrd = NULL;
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), -ENOENT);
	CHECK(has(e.err, "/nonexistent/vmlinuz"));
	CHECK(has(e.err, strerror(ENOENT)));
	spec.kernel = bpath;
	spec.initrd = "/nonexistent/initrd";
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), -ENOENT);
	CHECK(has(e.err, "initrd /nonexistent/initrd"));
	/* a directory is not a kernel */
	spec.kernel = tmpdir;
	spec.initrd = NULL;
	CHECK(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			  sizeof(e.err)) < 0);
	CHECK(has(e.err, "not a regular file"));
	/* unknown format */
	spec.kernel = upath;
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), -ENOEXEC);
	CHECK(has(e.err, "not a bzImage, PVH ELF or multiboot kernel"));
	CHECK(has(e.err, upath));
	env_free(&e);

	/* kernel file larger than guest RAM (tiny 8 KiB guest) */
	env_init(&e, 0x2000);
	e.e820.n = 1;
	e.e820.e[0].size = 0x2000;
	spec.kernel = bpath;
	CHECK_EQ(loader_load(&spec, &e.gm, &e.e820, 0, &e.bi, e.err,
			     sizeof(e.err)), -EFBIG);
	CHECK(has(e.err, "larger than guest RAM"));
	env_free(&e);

	unlink(kpath); unlink(ipath); unlink(upath); unlink(bpath); unlink(mpath);
	rmdir(tmpdir);
	free(bz);
	free(mb);
	free(pvh);
}

/* ------------------------------------------------------------ mutation */

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Randomly corrupt header bytes of valid images: errors are fine, crashes not. */
static void mutate_run(const uint8_t *orig, size_t len, size_t hot, uint32_t seed,
		       int (*load)(const uint8_t *, size_t, const struct boot_spec *,
				   struct guest_mem *, const struct e820_map *,
				   uint64_t, struct boot_info *, char *, size_t),
		       struct env *e)
{
	uint8_t *img = malloc(len);
	uint8_t rd[100] = { 0 };
	struct boot_spec spec = { .kernel = "fuzz", .initrd = "rd", .cmdline = "x",
				  .initrd_data = rd, .initrd_size = sizeof(rd) };
	unsigned ok = 0, bad = 0;

	for (unsigned it = 0; it < 3000; it++) {
		memcpy(img, orig, len);
		unsigned nflip = 1 + rng_next(&seed) % 8;
		for (unsigned k = 0; k < nflip; k++) {
			size_t pos = rng_next(&seed) % hot;
			uint32_t r = rng_next(&seed);
			if (r & 1)
				img[pos] = (uint8_t)(r >> 8);
			else
				img[pos] ^= (uint8_t)(1u << ((r >> 8) & 7));
		}
		size_t l = (rng_next(&seed) % 16 == 0) ? rng_next(&seed) % len : len;
		e->err[0] = '\0';
		if (load(img, l, &spec, &e->gm, &e->e820, 0, &e->bi, e->err,
			 sizeof(e->err)) == 0)
			ok++;
		else {
			bad++;
			if (e->err[0] == '\0')
				fprintf(stderr, "  error without message\n");
		}
	}
	CHECK(ok + bad == 3000);
	free(img);
}

static void test_mutations(void)
{
	struct env e;
	struct seg s[3];
	size_t len;
	uint8_t *img;

	env_init(&e, RAM);
	img = make_bzimage(&bz_default, &len);
	mutate_run(img, len, 0x280, 1, bzimage_load, &e);
	free(img);
	img = make_pvh(64, s, &len);
	mutate_run(img, len, 0x500, 2, pvh_load, &e);
	free(img);
	img = make_pvh(32, s, &len);
	mutate_run(img, len, 0x500, 3, pvh_load, &e);
	free(img);
	img = make_mb_elf(0x3, 0x100000, &len);
	mutate_run(img, len, 0x1040, 4, multiboot_load, &e);
	free(img);
	img = make_mb_aout(&len, 0, 0x203000);
	mutate_run(img, len, 0x40, 5, multiboot_load, &e);
	free(img);
	env_free(&e);
}

int main(void)
{
	RUN(test_bzimage_basic);
	RUN(test_bzimage_no_rsdp_no_initrd);
	RUN(test_bzimage_small_ram_relocates);
	RUN(test_bzimage_initrd_below_kernel);
	RUN(test_bzimage_errors);
	RUN(test_pvh_elf64);
	RUN(test_pvh_elf32_no_initrd);
	RUN(test_pvh_malformed);
	RUN(test_highmem_initrd_below_4g);
	RUN(test_multiboot_elf);
	RUN(test_multiboot_higher_half_no_initrd);
	RUN(test_multiboot_aout);
	RUN(test_multiboot_malformed);
	RUN(test_loader_files);
	RUN(test_mutations);
	return unit_report();
}
