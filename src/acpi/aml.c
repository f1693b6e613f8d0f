/*
 * Small AML emitter (ACPI 6.x, chapter 20). Encodings used here:
 *   PkgLength: 1 byte for totals up to 63, else a lead byte whose bits 7:6
 *   give the count of following bytes, bits 3:0 the low nibble, and the
 *   following bytes the rest (little-endian); the total includes itself.
 *   NameString: ['\\' | '^'*] then NameSeg, DualNamePrefix (0x2E) seg seg,
 *   MultiNamePrefix (0x2F) count segs..., or NullName (0x00).
 * Built in host memory only; the caller copies the result into a table.
 * Not thread-safe: one struct aml per builder.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/aml.h"

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2E
#define AML_MULTI_NAME_PREFIX 0x2F
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP 0x82 /* after ExtOpPrefix */
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX '^'
#define AML_RETURN_OP 0xA4

/* Resource descriptors (ACPI 6.x 6.4.2). */
#define AML_RD_IRQ_NOFLAGS 0x22 /* small item 0x04, length 2 */
#define AML_RD_IO 0x47          /* small item 0x08, length 7 */
#define AML_RD_END_TAG 0x79     /* small item 0x0F, length 1 */
#define AML_RD_MEM32_FIXED 0x86 /* large item 0x06, length 9 */
#define AML_RD_DWORD_ADDR 0x87  /* large item 0x07 */
#define AML_RD_WORD_ADDR 0x88   /* large item 0x08 */
#define AML_RD_QWORD_ADDR 0x8A  /* large item 0x0A */
/* Address space descriptor fields (Table 6.4x "Address Space Descriptor"). */
#define AML_RD_TYPE_MEM 0
#define AML_RD_TYPE_IO 1
#define AML_RD_TYPE_BUS 2
#define AML_RD_GEN_MAF (1u << 3)   /* _MAF: max address fixed */
#define AML_RD_GEN_MIF (1u << 2)   /* _MIF: min address fixed */
#define AML_RD_GEN_CONSUMER (1u << 0) /* clear: ResourceProducer */
#define AML_RD_IO_ENTIRE 0x03      /* _RNG: ISA and non-ISA ranges */
#define AML_RD_MEM_RW 0x01         /* _RW */
#define AML_RD_MEM_CACHEABLE (1u << 1) /* _MEM = 1 */

#define AML_PKGLEN_MAX 0x0FFFFFFFu

static void aml_set_err(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

int aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
	a->cap = 1024;
	a->buf = malloc(a->cap);
	if (!a->buf) {
		a->cap = 0;
		a->err = -ENOMEM;
		return -ENOMEM;
	}
	return 0;
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_finish(const struct aml *a)
{
	if (a->err)
		return a->err;
	if (a->depth)
		return -EINVAL;
	return 0;
}

static bool aml_reserve(struct aml *a, size_t extra)
{
	if (a->err)
		return false;
	if (extra > AML_PKGLEN_MAX || a->len + extra > AML_PKGLEN_MAX) {
		aml_set_err(a, -E2BIG);
		return false;
	}
	if (a->len + extra <= a->cap)
		return true;
	size_t ncap = a->cap ? a->cap : 1024;
	while (ncap < a->len + extra)
		ncap *= 2;
	uint8_t *nbuf = realloc(a->buf, ncap);
	if (!nbuf) {
		aml_set_err(a, -ENOMEM);
		return false;
	}
	a->buf = nbuf;
	a->cap = ncap;
	return true;
}

void aml_raw(struct aml *a, const void *data, size_t len)
{
	if (!aml_reserve(a, len))
		return;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_raw(a, &b, 1);
}

/* Insert bytes at offset `at` (<= len), moving what follows. */
static void aml_insert(struct aml *a, size_t at, const void *data, size_t len)
{
	if (!aml_reserve(a, len))
		return;
	memmove(a->buf + at + len, a->buf + at, a->len - at);
	memcpy(a->buf + at, data, len);
	a->len += len;
}

static bool aml_seg_char_ok(char c, bool first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && c >= '0' && c <= '9';
}

void aml_namestring(struct aml *a, const char *path)
{
	uint8_t tmp[2 + 255 * 4 + 64];
	size_t n = 0;
	const char *p = path;
	char segs[255][4];
	unsigned nsegs = 0;

	if (!path) {
		aml_set_err(a, -EINVAL);
		return;
	}
	if (*p == AML_ROOT_CHAR) {
		tmp[n++] = AML_ROOT_CHAR;
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX && n < 64)
			tmp[n++] = (uint8_t)*p++;
	}
	while (*p) {
		size_t sl = 0;
		if (nsegs == 255)
			goto err_inval;
		memset(segs[nsegs], '_', 4);
		while (*p && *p != '.') {
			if (sl == 4 || !aml_seg_char_ok(*p, sl == 0))
				goto err_inval;
			segs[nsegs][sl++] = *p++;
		}
		if (sl == 0)
			goto err_inval;
		nsegs++;
		if (*p == '.') {
			p++;
			if (!*p)
				goto err_inval;
		}
	}
	if (nsegs == 0) {
		tmp[n++] = 0x00; /* NullName */
	} else if (nsegs == 2) {
		tmp[n++] = AML_DUAL_NAME_PREFIX;
	} else if (nsegs > 2) {
		tmp[n++] = AML_MULTI_NAME_PREFIX;
		tmp[n++] = (uint8_t)nsegs;
	}
	for (unsigned i = 0; i < nsegs; i++) {
		memcpy(tmp + n, segs[i], 4);
		n += 4;
	}
	aml_raw(a, tmp, n);
	return;

err_inval:
	aml_set_err(a, -EINVAL);
}

static void aml_push(struct aml *a, enum aml_frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_set_err(a, -E2BIG);
		return;
	}
	a->frame[a->depth].start = a->len;
	a->frame[a->depth].kind = kind;
	a->depth++;
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, path);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	const uint8_t op[2] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	aml_raw(a, op, sizeof(op));
	aml_push(a, AML_FRAME_PKG);
	aml_namestring(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned nargs, int serialized)
{
	if (nargs > 7) {
		aml_set_err(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_namestring(a, path);
	/* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, 7:4 SyncLevel 0 */
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	if (nelems > 255) {
		aml_set_err(a, -EINVAL); /* VarPackage not supported */
		return;
	}
	aml_byte(a, AML_PACKAGE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_byte(a, (uint8_t)nelems);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

/* Shortest encoding of an Integer constant into out[]; returns its size. */
static size_t aml_integer_encode(uint64_t v, uint8_t out[9])
{
	size_t n;

	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (v <= 0xFF) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xFFFF) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xFFFFFFFFu) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return n + 1;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	size_t n = aml_integer_encode(v, b);

	aml_raw(a, b, n);
}

void aml_string(struct aml *a, const char *s)
{
	if (!s) {
		aml_set_err(a, -EINVAL);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7F) {
			aml_set_err(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_raw(a, s, strlen(s) + 1);
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[5];
	int h[4];

	if (!id || strlen(id) != 7) {
		aml_set_err(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_set_err(a, -EINVAL);
			return;
		}
	}
	for (int i = 0; i < 4; i++) {
		h[i] = aml_hex_digit(id[3 + i]);
		if (h[i] < 0) {
			aml_set_err(a, -EINVAL);
			return;
		}
	}
	/* Three 5-bit letters ('A' = 1) big-endian in 16 bits, then 4 hex digits. */
	uint16_t mfg = (uint16_t)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) |
				  (id[2] - 0x40));
	b[0] = AML_DWORD_PREFIX;
	b[1] = (uint8_t)(mfg >> 8);
	b[2] = (uint8_t)mfg;
	b[3] = (uint8_t)((h[0] << 4) | h[1]);
	b[4] = (uint8_t)((h[2] << 4) | h[3]);
	aml_raw(a, b, sizeof(b));
}

void aml_rt_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_push(a, AML_FRAME_BUFFER);
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	const uint8_t d[8] = {
		AML_RD_IO, 0x01 /* Decode16 */,
		(uint8_t)min, (uint8_t)(min >> 8),
		(uint8_t)max, (uint8_t)(max >> 8),
		align, len,
	};
	aml_raw(a, d, sizeof(d));
}

void aml_rt_irq_noflags(struct aml *a, uint16_t mask)
{
	const uint8_t d[3] = { AML_RD_IRQ_NOFLAGS, (uint8_t)mask, (uint8_t)(mask >> 8) };
	aml_raw(a, d, sizeof(d));
}

/*
 * Word/DWord/QWord address space descriptor of width w (2, 4 or 8 bytes):
 * tag, length (3 + 5 * w), type, general flags, type flags, then _GRA,
 * _MIN, _MAX, _TRA, _LEN, each w bytes little-endian.
 */
static void aml_rt_addr(struct aml *a, unsigned w, uint8_t type, uint8_t tflags,
			uint64_t min, uint64_t max)
{
	static const uint8_t tag[9] = { [2] = AML_RD_WORD_ADDR, [4] = AML_RD_DWORD_ADDR,
					[8] = AML_RD_QWORD_ADDR };
	const uint64_t field[5] = { 0, min, max, 0, max - min + 1 };
	uint8_t d[3 + 3 + 5 * 8];
	size_t n = 0;

	if (min > max || max - min + 1 == 0) {
		aml_set_err(a, -EINVAL);
		return;
	}
	d[n++] = tag[w];
	d[n++] = (uint8_t)(3 + 5 * w);
	d[n++] = 0;
	d[n++] = type;
	d[n++] = AML_RD_GEN_MAF | AML_RD_GEN_MIF; /* producer, positive decode */
	d[n++] = tflags;
	for (unsigned f = 0; f < 5; f++)
		for (unsigned i = 0; i < w; i++)
			d[n++] = (uint8_t)(field[f] >> (8 * i));
	aml_raw(a, d, n);
}

void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_rt_addr(a, 2, AML_RD_TYPE_BUS, 0, min, max);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_rt_addr(a, 2, AML_RD_TYPE_IO, AML_RD_IO_ENTIRE, min, max);
}

void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable)
{
	aml_rt_addr(a, 4, AML_RD_TYPE_MEM,
		    AML_RD_MEM_RW | (cacheable ? AML_RD_MEM_CACHEABLE : 0), min, max);
}

void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable)
{
	aml_rt_addr(a, 8, AML_RD_TYPE_MEM,
		    AML_RD_MEM_RW | (cacheable ? AML_RD_MEM_CACHEABLE : 0), min, max);
}

void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	if (len == 0 || (uint64_t)base + len > 0x100000000ULL) {
		aml_set_err(a, -EINVAL);
		return;
	}
	const uint8_t d[12] = {
		AML_RD_MEM32_FIXED, 9, 0, AML_RD_MEM_RW,
		(uint8_t)base, (uint8_t)(base >> 8), (uint8_t)(base >> 16), (uint8_t)(base >> 24),
		(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24),
	};
	aml_raw(a, d, sizeof(d));
}

/* Encode a PkgLength for `body` following bytes; returns its size (1-4) or 0. */
static size_t aml_pkglen_encode(size_t body, uint8_t out[4])
{
	static const size_t limit[4] = { 0x3F, 0xFFF, 0xFFFFF, 0xFFFFFFF };

	for (size_t n = 1; n <= 4; n++) {
		size_t total = body + n;
		if (total > limit[n - 1])
			continue;
		if (n == 1) {
			out[0] = (uint8_t)total;
		} else {
			out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
			for (size_t i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		}
		return n;
	}
	return 0;
}

void aml_end(struct aml *a)
{
	uint8_t pl[4];
	size_t n;

	if (a->err)
		return;
	if (a->depth == 0) {
		aml_set_err(a, -EINVAL);
		return;
	}
	struct aml_frame *f = &a->frame[a->depth - 1];
	if (f->kind == AML_FRAME_BUFFER) {
		/* End Tag with checksum 0 ("checksum not computed"). */
		const uint8_t end[2] = { AML_RD_END_TAG, 0x00 };
		aml_raw(a, end, sizeof(end));
		if (a->err)
			return;
		/* BufferSize (an Integer term) precedes the byte list. */
		uint8_t size_buf[9];
		size_t size_len = aml_integer_encode(a->len - f->start, size_buf);
		aml_insert(a, f->start, size_buf, size_len);
	}
	n = aml_pkglen_encode(a->len - f->start, pl);
	if (n == 0) {
		aml_set_err(a, -E2BIG);
		return;
	}
	aml_insert(a, f->start, pl, n);
	a->depth--;
}
