/*
 * test=blk: virtio-blk feature negotiation, config (capacity, blk_size),
 * GET_ID, write a pattern / read it back / FLUSH, DISCARD and WRITE_ZEROES
 * (read back as zeroes). With the device read-only (VIRTIO_BLK_F_RO) the
 * write must fail with VIRTIO_BLK_S_IOERR. The runner checks the host file.
 *
 * Layout used on the disk (bytes): pattern at 4096..12287, discard at
 * 32768..40959, write-zeroes at 65536..69631.
 */
#include "vt.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13
#define BLK_F_RO (1ull << 5)
#define BLK_F_BLK_SIZE (1ull << 6)
#define BLK_F_FLUSH (1ull << 9)
#define BLK_F_DISCARD (1ull << 13)
#define BLK_F_WRITE_ZEROES (1ull << 14)
#define PAT_SECTOR 8
#define PAT_LEN 8192
#define DISC_SECTOR 64
#define WZ_SECTOR 128

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct blk_io {
	struct vd d;
	struct blk_hdr *hdr;
	uint8_t *status;
	uint8_t *seg;
	uint8_t *wbuf, *rbuf;
};

/* Pattern byte i of the test area (the runner computes the same). */
static uint8_t blk_pattern(uint32_t i)
{
	return (uint8_t)(i * 13u + (i >> 9) * 7u + 1u);
}

/* One request: returns the status byte, or -1 on timeout. */
static int blk_req(struct blk_io *io, uint32_t type, uint64_t sector, void *data,
		   uint32_t len, bool data_out)
{
	struct vd_buf b[3];
	unsigned n = 0;

	io->hdr->type = type;
	io->hdr->reserved = 0;
	io->hdr->sector = sector;
	*io->status = 0xEE;
	b[n++] = (struct vd_buf){ io->hdr, sizeof(*io->hdr), false };
	if (len)
		b[n++] = (struct vd_buf){ data, len, !data_out };
	b[n++] = (struct vd_buf){ io->status, 1, true };
	if (vd_xfer(&io->d.q[0], b, n, 10000) < 0) {
		printf("virtio-blk: request type %u timed out\n", type);
		return -1;
	}
	return *io->status;
}

static int blk_zero_check(struct blk_io *io, uint64_t sector, uint32_t len, const char *what)
{
	int st;

	memset(io->rbuf, 0x5A, len);
	st = blk_req(io, BLK_T_IN, sector, io->rbuf, len, false);
	for (uint32_t i = 0; st == 0 && i < len; i++)
		if (io->rbuf[i]) {
			printf("virtio-blk: %s: byte %u reads 0x%x\n", what, i, io->rbuf[i]);
			return -1;
		}
	return st;
}

long vt_blk(void *arg)
{
	struct blk_io io;
	int bdf = vd_find(VIRTIO_DEV_BLK, 0), st, bad = 0;
	char id[24];
	bool ro;

	if (bdf < 0 || vd_probe(&io.d, (uint32_t)bdf) ||
	    vd_init(&io.d, BLK_F_RO | BLK_F_BLK_SIZE | BLK_F_FLUSH | BLK_F_DISCARD |
			   BLK_F_WRITE_ZEROES) ||
	    vd_queue_setup(&io.d, 0, 32))
		return -1;
	vd_driver_ok(&io.d);
	io.hdr = vd_alloc(sizeof(*io.hdr), 16);
	io.status = vd_alloc(1, 1);
	io.seg = vd_alloc(16, 16);
	io.wbuf = vd_alloc(PAT_LEN, 4096);
	io.rbuf = vd_alloc(PAT_LEN, 4096);
	ro = io.d.features & BLK_F_RO;
	printf("virtio-blk: features=0x%lx capacity=%lu blk_size=%u ro=%d flush=%d "
	       "discard=%d write_zeroes=%d\n", (unsigned long)io.d.features,
	       (unsigned long)vd_cfg64(&io.d, 0),
	       (io.d.features & BLK_F_BLK_SIZE) ? vd_cfg32(&io.d, 20) : 512, ro,
	       !!(io.d.features & BLK_F_FLUSH), !!(io.d.features & BLK_F_DISCARD),
	       !!(io.d.features & BLK_F_WRITE_ZEROES));

	memset(id, 0, sizeof(id));
	st = blk_req(&io, BLK_T_GET_ID, 0, id, 20, false);
	printf("virtio-blk: get_id status=%d serial=[%s]\n", st, id);
	bad |= st != 0;

	for (uint32_t i = 0; i < PAT_LEN; i++)
		io.wbuf[i] = blk_pattern(i);
	st = blk_req(&io, BLK_T_OUT, PAT_SECTOR, io.wbuf, PAT_LEN, true);
	printf("virtio-blk: write status=%d%s\n", st, st == 1 ? " (IOERR)" : "");
	if (ro) {
		bad |= st != 1;
	} else {
		bad |= st != 0;
		memset(io.rbuf, 0, PAT_LEN);
		st = blk_req(&io, BLK_T_IN, PAT_SECTOR, io.rbuf, PAT_LEN, false);
		if (st != 0 || memcmp(io.rbuf, io.wbuf, PAT_LEN)) {
			printf("virtio-blk: read-back FAILED (status %d)\n", st);
			bad = 1;
		} else {
			printf("virtio-blk: read-back ok\n");
		}
	}
	if (io.d.features & BLK_F_FLUSH) {
		st = blk_req(&io, BLK_T_FLUSH, 0, NULL, 0, false);
		printf("virtio-blk: flush status=%d\n", st);
		bad |= st != 0;
	}
	if (!ro && (io.d.features & BLK_F_DISCARD)) {
		uint64_t s = DISC_SECTOR;
		uint32_t n = 16, fl = 0;

		memcpy(io.seg, &s, 8);
		memcpy(io.seg + 8, &n, 4);
		memcpy(io.seg + 12, &fl, 4);
		st = blk_req(&io, BLK_T_DISCARD, 0, io.seg, 16, true);
		printf("virtio-blk: discard status=%d\n", st);
		bad |= st != 0 || blk_zero_check(&io, DISC_SECTOR, 8192, "discard") != 0;
	}
	if (!ro && (io.d.features & BLK_F_WRITE_ZEROES)) {
		uint64_t s = WZ_SECTOR;
		uint32_t n = 8, fl = 0;

		memcpy(io.seg, &s, 8);
		memcpy(io.seg + 8, &n, 4);
		memcpy(io.seg + 12, &fl, 4);
		st = blk_req(&io, BLK_T_WRITE_ZEROES, 0, io.seg, 16, true);
		printf("virtio-blk: write-zeroes status=%d\n", st);
		bad |= st != 0 || blk_zero_check(&io, WZ_SECTOR, 4096, "write-zeroes") != 0;
	}
	/* Past the end of the disk: IOERR, not a crash. */
	st = blk_req(&io, BLK_T_IN, vd_cfg64(&io.d, 0), io.rbuf, 512, false);
	printf("virtio-blk: read past end status=%d\n", st);
	bad |= st != 1;
	return bad ? -1 : 0;
}
