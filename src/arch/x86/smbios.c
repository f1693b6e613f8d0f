/*
 * SMBIOS 2.8 (DMTF DSP0134): 32-bit entry point ("_SM_" + "_DMI_") at
 * PLAT_SMBIOS_BASE, structure table right after it, all inside
 * [PLAT_SMBIOS_BASE, PLAT_SMBIOS_END). Built in a host buffer and written
 * with one gm_write(). Run once at VM set-up: no locking.
 *
 * A structure is a formatted area (type, length, handle, fields) followed by
 * its string set: NUL-terminated strings, then one more NUL (two NULs when
 * there are no strings). String fields hold 1-based indices, 0 = none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/log.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define SMBIOS_EP_LEN 0x1F
#define SMBIOS_TABLE_OFF 0x20 /* structures start here (16-byte aligned) */
#define SMBIOS_MAJOR 2
#define SMBIOS_MINOR 8
#define SMBIOS_BCD_REV 0x28

/* Formatted-area lengths for SMBIOS 2.8. */
#define SMBIOS_T0_LEN 0x18
#define SMBIOS_T1_LEN 0x1B
#define SMBIOS_T2_LEN 0x0F
#define SMBIOS_T3_LEN 0x16
#define SMBIOS_T4_LEN 0x2A
#define SMBIOS_T16_LEN 0x17
#define SMBIOS_T17_LEN 0x28
#define SMBIOS_T19_LEN 0x1F
#define SMBIOS_T32_LEN 0x0B
#define SMBIOS_T127_LEN 0x04

/* Type 0 BIOS characteristics. */
#define SMBIOS_BIOS_CHAR_NOT_SUPPORTED (1ULL << 3)
#define SMBIOS_BIOS_EXT1_ACPI 0x01
#define SMBIOS_BIOS_EXT2_VM 0x10

#define SMBIOS_NO_HANDLE 0xFFFF
#define SMBIOS_NO_ERR_INFO 0xFFFE
#define SMBIOS_MAX_CPUS 1024

struct smbios_ctx {
	uint8_t *buf;       /* host image of [PLAT_SMBIOS_BASE, PLAT_SMBIOS_END) */
	size_t len, cap;
	int err;            /* sticky: -ENOSPC */
	uint16_t next_handle;
	unsigned nstructs;
	size_t max_struct;
	size_t cur;         /* offset of the structure being built */
	unsigned nstrings;
};

/* Start a structure; returns its formatted area (zeroed) or NULL on error. */
static uint8_t *smbios_begin(struct smbios_ctx *c, uint8_t type, uint8_t len,
			     uint16_t *handle)
{
	if (c->err)
		return NULL;
	if (c->len > c->cap || len > c->cap - c->len || c->next_handle >= SMBIOS_NO_ERR_INFO) {
		c->err = -ENOSPC;
		return NULL;
	}
	uint8_t *s = c->buf + c->len;
	memset(s, 0, len);
	s[0] = type;
	s[1] = len;
	put_le16(s + 2, c->next_handle);
	if (handle)
		*handle = c->next_handle;
	c->next_handle++;
	c->cur = c->len;
	c->len += len;
	c->nstrings = 0;
	return s;
}

/* Append a string to the current structure; its index, or 0 for "" / error. */
static uint8_t smbios_str(struct smbios_ctx *c, const char *s)
{
	size_t n;

	if (c->err || !s || !*s)
		return 0;
	n = strlen(s) + 1;
	if (c->nstrings == 255 || n > c->cap - c->len) {
		c->err = -ENOSPC;
		return 0;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	return (uint8_t)++c->nstrings;
}

/* Terminate the string set of the current structure. */
static void smbios_end(struct smbios_ctx *c)
{
	size_t need = c->nstrings ? 1 : 2;

	if (c->err)
		return;
	if (need > c->cap - c->len) {
		c->err = -ENOSPC;
		return;
	}
	memset(c->buf + c->len, 0, need);
	c->len += need;
	c->nstructs++;
	c->max_struct = MAX(c->max_struct, c->len - c->cur);
}

static const char *smbios_def(const char *s, const char *def)
{
	return s ? s : def;
}

static void smbios_type0(struct smbios_ctx *c, const struct smbios_params *p)
{
	uint8_t *s = smbios_begin(c, 0, SMBIOS_T0_LEN, NULL);
	if (!s)
		return;
	s[4] = smbios_str(c, smbios_def(p->bios_vendor, "BHYVE"));
	s[5] = smbios_str(c, smbios_def(p->bios_version, "lhyve-1.0"));
	put_le16(s + 6, 0xF000);        /* BIOS starting address segment */
	s[8] = smbios_str(c, smbios_def(p->bios_release_date, "11/21/2026"));
	s[9] = 0;                       /* ROM size: 64 KiB */
	put_le64(s + 0x0A, SMBIOS_BIOS_CHAR_NOT_SUPPORTED);
	s[0x12] = SMBIOS_BIOS_EXT1_ACPI;
	s[0x13] = SMBIOS_BIOS_EXT2_VM;
	s[0x14] = 1;                    /* system BIOS major release */
	s[0x15] = 0;                    /* minor release */
	s[0x16] = 0xFF;                 /* no embedded controller */
	s[0x17] = 0xFF;
	smbios_end(c);
}

static void smbios_type1(struct smbios_ctx *c, const struct smbios_params *p)
{
	uint8_t *s = smbios_begin(c, 1, SMBIOS_T1_LEN, NULL);
	if (!s)
		return;
	s[4] = smbios_str(c, smbios_def(p->system_manufacturer, "lhyve"));
	s[5] = smbios_str(c, smbios_def(p->system_product_name, "BHYVE"));
	s[6] = smbios_str(c, smbios_def(p->system_version, "1.0"));
	s[7] = smbios_str(c, smbios_def(p->system_serial_number, "None"));
	memcpy(s + 8, p->uuid, 16);
	s[0x18] = 0x06;                 /* wake-up type: power switch */
	s[0x19] = smbios_str(c, smbios_def(p->system_sku, "None"));
	s[0x1A] = smbios_str(c, smbios_def(p->system_family_name, "Virtual Machine"));
	smbios_end(c);
}

static void smbios_type2(struct smbios_ctx *c, const struct smbios_params *p,
			 uint16_t chassis)
{
	uint8_t *s = smbios_begin(c, 2, SMBIOS_T2_LEN, NULL);
	if (!s)
		return;
	s[4] = smbios_str(c, smbios_def(p->board_manufacturer, "lhyve"));
	s[5] = smbios_str(c, smbios_def(p->board_product_name, "BHYVE"));
	s[6] = smbios_str(c, smbios_def(p->board_version, "1.0"));
	s[7] = smbios_str(c, smbios_def(p->board_serial_number, "None"));
	s[8] = smbios_str(c, smbios_def(p->board_asset_tag, "None"));
	s[9] = 0x01;                    /* feature flags: hosting board */
	s[0x0A] = smbios_str(c, smbios_def(p->board_location, "None"));
	put_le16(s + 0x0B, chassis);
	s[0x0D] = 0x0A;                 /* board type: motherboard */
	s[0x0E] = 0;                    /* no contained object handles */
	smbios_end(c);
}

static void smbios_type3(struct smbios_ctx *c, const struct smbios_params *p)
{
	uint8_t *s = smbios_begin(c, 3, SMBIOS_T3_LEN, NULL);
	if (!s)
		return;
	s[4] = smbios_str(c, smbios_def(p->chassis_manufacturer, "lhyve"));
	s[5] = 0x01;                    /* type: other */
	s[6] = smbios_str(c, smbios_def(p->chassis_version, "1.0"));
	s[7] = smbios_str(c, smbios_def(p->chassis_serial_number, "None"));
	s[8] = smbios_str(c, smbios_def(p->chassis_asset_tag, "None"));
	s[9] = 0x03;                    /* boot-up state: safe */
	s[0x0A] = 0x03;                 /* power supply state: safe */
	s[0x0B] = 0x03;                 /* thermal state: safe */
	s[0x0C] = 0x03;                 /* security status: none */
	/* OEM-defined, height, power cords, contained elements: 0. */
	s[0x15] = smbios_str(c, smbios_def(p->chassis_sku, "None"));
	smbios_end(c);
}

static void smbios_type4(struct smbios_ctx *c, unsigned cpu)
{
	char name[32];
	uint8_t *s = smbios_begin(c, 4, SMBIOS_T4_LEN, NULL);
	if (!s)
		return;
	snprintf(name, sizeof(name), "CPU #%u", cpu);
	s[4] = smbios_str(c, name);     /* socket designation */
	s[5] = 0x03;                    /* processor type: central */
	s[6] = 0x01;                    /* family: other */
	s[7] = smbios_str(c, "lhyve");  /* manufacturer */
	/* Processor ID (CPUID 1 EAX/EDX): 0 = not reported. */
	s[0x10] = 0;                    /* version string: none */
	s[0x11] = 0;                    /* voltage: unknown */
	s[0x18] = 0x41;                 /* status: socket populated, CPU enabled */
	s[0x19] = 0x01;                 /* upgrade: other */
	put_le16(s + 0x1A, SMBIOS_NO_HANDLE); /* L1/L2/L3 cache: none */
	put_le16(s + 0x1C, SMBIOS_NO_HANDLE);
	put_le16(s + 0x1E, SMBIOS_NO_HANDLE);
	s[0x23] = 1;                    /* core count */
	s[0x24] = 1;                    /* cores enabled */
	s[0x25] = 1;                    /* thread count */
	put_le16(s + 0x26, 0x0004);     /* characteristics: 64-bit capable */
	put_le16(s + 0x28, 0x0001);     /* family 2: other */
	smbios_end(c);
}

static void smbios_type16(struct smbios_ctx *c, uint64_t ram, uint16_t *handle)
{
	uint64_t kib = ram / KiB;
	uint8_t *s = smbios_begin(c, 16, SMBIOS_T16_LEN, handle);
	if (!s)
		return;
	s[4] = 0x03;                    /* location: system board */
	s[5] = 0x03;                    /* use: system memory */
	s[6] = 0x03;                    /* error correction: none */
	if (kib < 0x80000000ULL) {
		put_le32(s + 7, (uint32_t)kib);
	} else {
		put_le32(s + 7, 0x80000000u);   /* see extended maximum capacity */
		put_le64(s + 0x0F, ram);
	}
	put_le16(s + 0x0B, SMBIOS_NO_ERR_INFO);
	put_le16(s + 0x0D, 1);          /* number of memory devices */
	smbios_end(c);
}

static void smbios_type17(struct smbios_ctx *c, uint64_t ram, uint16_t array)
{
	uint64_t mib = ram / MiB;
	uint8_t *s = smbios_begin(c, 17, SMBIOS_T17_LEN, NULL);
	if (!s)
		return;
	put_le16(s + 4, array);
	put_le16(s + 6, SMBIOS_NO_ERR_INFO);
	put_le16(s + 8, 64);            /* total width */
	put_le16(s + 0x0A, 64);         /* data width */
	if (ram % MiB && ram / KiB < 0x7FFF) {
		put_le16(s + 0x0C, (uint16_t)(0x8000 | (ram / KiB))); /* in KiB */
	} else if (mib < 0x7FFF) {
		put_le16(s + 0x0C, (uint16_t)mib);
	} else {
		put_le16(s + 0x0C, 0x7FFF);     /* see extended size */
		put_le32(s + 0x1C, (uint32_t)MIN(mib, 0x7FFFFFFFULL));
	}
	s[0x0E] = 0x09;                 /* form factor: DIMM */
	s[0x0F] = 0;                    /* not part of a set */
	s[0x10] = smbios_str(c, "DIMM 0");  /* device locator */
	s[0x11] = smbios_str(c, "Bank 0");  /* bank locator */
	s[0x12] = 0x07;                 /* memory type: RAM */
	put_le16(s + 0x13, 0x0002);     /* type detail: other */
	s[0x17] = smbios_str(c, "lhyve");   /* manufacturer */
	smbios_end(c);
}

static void smbios_type19(struct smbios_ctx *c, uint64_t start, uint64_t size,
			  uint16_t array)
{
	uint64_t end = start + size - 1;
	uint8_t *s = smbios_begin(c, 19, SMBIOS_T19_LEN, NULL);
	if (!s)
		return;
	if (end / KiB < 0xFFFFFFFFULL) {
		put_le32(s + 4, (uint32_t)(start / KiB));
		put_le32(s + 8, (uint32_t)(end / KiB));
	} else {
		put_le32(s + 4, 0xFFFFFFFFu);   /* see extended addresses */
		put_le32(s + 8, 0xFFFFFFFFu);
		put_le64(s + 0x0F, start);
		put_le64(s + 0x17, end);
	}
	put_le16(s + 0x0C, array);
	s[0x0E] = 1;                    /* partition width */
	smbios_end(c);
}

static void smbios_structures(struct smbios_ctx *c, const struct smbios_params *p)
{
	uint64_t lowmem, highmem;
	uint16_t chassis, array;

	smbios_type0(c, p);
	smbios_type1(c, p);
	/* Type 2 refers to the chassis, which gets the handle after it. */
	chassis = (uint16_t)(c->next_handle + 1);
	smbios_type2(c, p, chassis);
	smbios_type3(c, p);
	for (unsigned i = 0; i < p->ncpus; i++)
		smbios_type4(c, i);
	smbios_type16(c, p->ram_size, &array);
	smbios_type17(c, p->ram_size, array);
	gm_layout(p->ram_size, &lowmem, &highmem);
	if (lowmem)
		smbios_type19(c, 0, lowmem, array);
	if (highmem)
		smbios_type19(c, GM_HIGHMEM_BASE, highmem, array);
	if (smbios_begin(c, 32, SMBIOS_T32_LEN, NULL))  /* boot: no errors */
		smbios_end(c);
	if (smbios_begin(c, 127, SMBIOS_T127_LEN, NULL)) /* end of table */
		smbios_end(c);
}

static void smbios_entry_point(struct smbios_ctx *c)
{
	uint8_t *ep = c->buf;

	memcpy(ep, "_SM_", 4);
	ep[5] = SMBIOS_EP_LEN;
	ep[6] = SMBIOS_MAJOR;
	ep[7] = SMBIOS_MINOR;
	put_le16(ep + 8, (uint16_t)c->max_struct);
	ep[0x0A] = 0;                   /* entry point revision */
	memcpy(ep + 0x10, "_DMI_", 5);
	put_le16(ep + 0x16, (uint16_t)(c->len - SMBIOS_TABLE_OFF));
	put_le32(ep + 0x18, (uint32_t)(PLAT_SMBIOS_BASE + SMBIOS_TABLE_OFF));
	put_le16(ep + 0x1C, (uint16_t)c->nstructs);
	ep[0x1E] = SMBIOS_BCD_REV;
	ep[0x15] = 0;
	ep[0x15] = (uint8_t)-byte_sum(ep + 0x10, SMBIOS_EP_LEN - 0x10);
	ep[4] = 0;
	ep[4] = (uint8_t)-byte_sum(ep, SMBIOS_EP_LEN);
}

int smbios_build(struct guest_mem *gm, const struct smbios_params *p)
{
	struct smbios_ctx c;
	int ret;

	if (p->ncpus == 0 || p->ncpus > SMBIOS_MAX_CPUS || p->ram_size == 0) {
		log_err("smbios: bad parameters (%u CPUs, %llu bytes RAM)", p->ncpus,
			(unsigned long long)p->ram_size);
		return -EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.cap = PLAT_SMBIOS_END - PLAT_SMBIOS_BASE;
	/* The structure table length is a 16-bit field. */
	c.cap = MIN(c.cap, (size_t)SMBIOS_TABLE_OFF + 0xFFFF);
	c.buf = calloc(1, c.cap);
	if (!c.buf)
		return -ENOMEM;
	c.len = SMBIOS_TABLE_OFF;

	smbios_structures(&c, p);
	if (c.err) {
		ret = c.err;
		log_err("smbios: structures do not fit in %#zx bytes", c.cap);
		goto err_buf;
	}
	smbios_entry_point(&c);
	ret = gm_write(gm, PLAT_SMBIOS_BASE, c.buf, c.len);
	if (ret)
		goto err_buf;
	free(c.buf);
	return 0;

err_buf:
	free(c.buf);
	return ret;
}
