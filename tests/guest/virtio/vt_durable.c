/*
 * Guests for tests/hardening/run.sh: data durability and load.
 *
 * test=durable round=R [mode=write|ro|hold]
 *   write: writes 4 KiB blocks 1, 2, 3, ... (8 in flight), each tagged
 *     with the round and its sequence number, then FLUSHes; after every
 *     acknowledged flush it prints "durable: flushed S end": every block
 *     1..S is on the host file from then on. The runner SIGKILLs the VMM at
 *     a random moment and checks exactly that.
 *   ro: tries OUT, WRITE_ZEROES and DISCARD on a read-only disk (whatever
 *     was negotiated); each must fail ("durable-ro: ... status=N").
 *   hold: one write + flush, prints "durable: holding" and waits for a byte
 *     on COM1 (the runner meanwhile tries to open the image a second time).
 * test=load: a short workload (virtio-rnd, virtio-blk write/read/flush,
 *   serial output) for the 20-VM load test.
 * test=fdwatch rounds=N: N rounds of the load workload (plus virtio-console
 *   output when present); after each it prints "fdwatch: round I done" and
 *   waits for a byte on COM1, so the runner can sample the VMM's fd and
 *   thread counts at fixed points.
 *
 * Block content (the runner computes the same): bytes 0..7 "LHYVEDUR",
 * 8..11 round, 12..15 sequence (little endian), byte j >= 16:
 * (seq * 131 + j * 7 + round) & 0xFF.
 */
#include "vt.h"

#define D_T_IN 0
#define D_T_OUT 1
#define D_T_FLUSH 4
#define D_T_DISCARD 11
#define D_T_WRITE_ZEROES 13
#define D_F_FLUSH (1ull << 9)
#define D_F_DISCARD (1ull << 13)
#define D_F_WRITE_ZEROES (1ull << 14)
#define D_BLK 4096u
#define D_INFL 8

struct dhdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct dur {
	struct vd d;
	struct dhdr *hdr;      /* D_INFL + 1 headers */
	uint8_t *st;           /* D_INFL + 1 status bytes */
	uint8_t *buf;          /* D_INFL blocks */
	uint8_t *seg;          /* discard/write-zeroes segment */
	uint32_t round;
	uint64_t nblocks;
};

static void dur_fill(uint8_t *b, uint32_t round, uint32_t seq)
{
	memcpy(b, "LHYVEDUR", 8);
	memcpy(b + 8, &round, 4);
	memcpy(b + 12, &seq, 4);
	for (uint32_t j = 16; j < D_BLK; j++)
		b[j] = (uint8_t)(seq * 131u + j * 7u + round);
}

static int dur_open(struct dur *u, uint64_t feat)
{
	int bdf = vd_find(VIRTIO_DEV_BLK, 0);

	if (bdf < 0 || vd_probe(&u->d, (uint32_t)bdf) || vd_init(&u->d, feat) ||
	    vd_queue_setup(&u->d, 0, 64))
		return -1;
	vd_driver_ok(&u->d);
	u->hdr = vd_alloc(sizeof(struct dhdr) * (D_INFL + 1), 64);
	u->st = vd_alloc(D_INFL + 1, 64);
	u->buf = vd_alloc((size_t)D_BLK * D_INFL, 4096);
	u->seg = vd_alloc(16, 16);
	u->nblocks = vd_cfg64(&u->d, 0) / (D_BLK / 512);
	return 0;
}

/* Queue request slot i (no kick). */
static void dur_queue(struct dur *u, unsigned i, uint32_t type, uint64_t sector, void *data,
		      uint32_t len, bool out)
{
	struct vd_buf b[3];
	unsigned n = 0;

	u->hdr[i] = (struct dhdr){ type, 0, sector };
	u->st[i] = 0xEE;
	b[n++] = (struct vd_buf){ &u->hdr[i], sizeof(struct dhdr), false };
	if (len)
		b[n++] = (struct vd_buf){ data, len, !out };
	b[n++] = (struct vd_buf){ &u->st[i], 1, true };
	vd_add(&u->d.q[0], b, n);
}

/* Wait for n completions; 0 if all came back. */
static int dur_wait(struct dur *u, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (vd_wait_used(&u->d.q[0], NULL, NULL, 30000))
			return -1;
	return 0;
}

static int dur_req(struct dur *u, uint32_t type, uint64_t sector, void *data, uint32_t len,
		   bool out)
{
	dur_queue(u, D_INFL, type, sector, data, len, out);
	vd_kick(&u->d.q[0]);
	if (dur_wait(u, 1))
		return -1;
	return u->st[D_INFL];
}

static long dur_write_loop(struct dur *u)
{
	uint32_t seq = 1;

	if (!(u->d.features & D_F_FLUSH)) {
		printf("durable: FLUSH not offered\n");
		return -1;
	}
	printf("durable: round %u, %lu blocks\n", u->round, (unsigned long)u->nblocks);
	while (seq + D_INFL < u->nblocks) {
		for (unsigned i = 0; i < D_INFL; i++) {
			dur_fill(u->buf + (size_t)i * D_BLK, u->round, seq + i);
			dur_queue(u, i, D_T_OUT, (uint64_t)(seq + i) * (D_BLK / 512),
				  u->buf + (size_t)i * D_BLK, D_BLK, true);
		}
		vd_kick(&u->d.q[0]);
		if (dur_wait(u, D_INFL)) {
			printf("durable: write timed out\n");
			return -1;
		}
		for (unsigned i = 0; i < D_INFL; i++)
			if (u->st[i] != 0) {
				printf("durable: write of block %u failed (%u)\n", seq + i, u->st[i]);
				return -1;
			}
		if (dur_req(u, D_T_FLUSH, 0, NULL, 0, false) != 0) {
			printf("durable: flush failed\n");
			return -1;
		}
		seq += D_INFL;
		printf("durable: flushed %u end\n", seq - 1);
	}
	printf("durable: disk full\n");
	return 0;
}

static long dur_ro(struct dur *u)
{
	int wst, zst, dst;
	uint64_t s = 8;
	uint32_t n = 8, fl = 0;

	dur_fill(u->buf, u->round, 1);
	wst = dur_req(u, D_T_OUT, 8, u->buf, D_BLK, true);
	memcpy(u->seg, &s, 8);
	memcpy(u->seg + 8, &n, 4);
	memcpy(u->seg + 12, &fl, 4);
	zst = dur_req(u, D_T_WRITE_ZEROES, 0, u->seg, 16, true);
	dst = dur_req(u, D_T_DISCARD, 0, u->seg, 16, true);
	printf("durable-ro: write status=%d write-zeroes status=%d discard status=%d "
	       "flush status=%d\n", wst, zst, dst, dur_req(u, D_T_FLUSH, 0, NULL, 0, false));
	return wst > 0 && zst > 0 && dst > 0 ? 0 : -1;
}

/* Wait for one byte on COM1 (polled); 0 or -1 after ms. */
static int dur_wait_byte(uint32_t ms)
{
	uint32_t t0 = vd_ms();

	while (vd_ms() - t0 < ms) {
		if (uart_getc(COM1) >= 0)
			return 0;
		for (int i = 0; i < 1000; i++)
			cpu_pause();
	}
	return -1;
}

long vt_durable(void *arg)
{
	struct dur *u = vd_alloc(sizeof(*u), 64);
	char mode[8] = "write";

	u->round = (uint32_t)vt_opt("round", 1);
	cmdline_get("mode", mode, sizeof(mode));
	if (dur_open(u, D_F_FLUSH | D_F_DISCARD | D_F_WRITE_ZEROES))
		return -1;
	if (!strcmp(mode, "ro"))
		return dur_ro(u);
	if (!strcmp(mode, "hold")) {
		dur_fill(u->buf, u->round, 1);
		if (dur_req(u, D_T_OUT, 8, u->buf, D_BLK, true) != 0 ||
		    dur_req(u, D_T_FLUSH, 0, NULL, 0, false) != 0)
			return -1;
		printf("durable: holding\n");
		return dur_wait_byte(300000);
	}
	return dur_write_loop(u);
}

/* ---- load and fdwatch ---- */

struct lw {
	struct dur blk;
	struct vd rnd, cons;
	bool has_cons;
	uint8_t *rbuf, *cbuf;
};

static int lw_open(struct lw *w)
{
	int r = vd_find(VIRTIO_DEV_RNG, 0), c = vd_find(VIRTIO_DEV_CONSOLE, 0);

	if (dur_open(&w->blk, D_F_FLUSH) || r < 0 || vd_probe(&w->rnd, (uint32_t)r) ||
	    vd_init(&w->rnd, 0) || vd_queue_setup(&w->rnd, 0, 16))
		return -1;
	vd_driver_ok(&w->rnd);
	if (c >= 0) {
		if (vd_probe(&w->cons, (uint32_t)c) || vd_init(&w->cons, 0) ||
		    vd_queue_setup(&w->cons, 0, 8) || vd_queue_setup(&w->cons, 1, 8))
			return -1;
		vd_driver_ok(&w->cons);
		w->has_cons = true;
	}
	w->rbuf = vd_alloc(4096, 4096);
	w->cbuf = vd_alloc(64, 64);
	return 0;
}

/* One round: 8 rnd requests, 8 block writes + flush + read-back, a line on
 * the console port and COM1. 0 or -1. */
static int lw_round(struct lw *w, uint32_t round)
{
	struct dur *u = &w->blk;

	for (int i = 0; i < 8; i++) {
		struct vd_buf b = { w->rbuf, 64, true };

		if (vd_xfer(&w->rnd.q[0], &b, 1, 10000) <= 0) {
			printf("load: rnd failed\n");
			return -1;
		}
	}
	for (unsigned i = 0; i < D_INFL; i++) {
		dur_fill(u->buf + (size_t)i * D_BLK, round, i + 1);
		dur_queue(u, i, D_T_OUT, (uint64_t)(i + 1) * (D_BLK / 512),
			  u->buf + (size_t)i * D_BLK, D_BLK, true);
	}
	vd_kick(&u->d.q[0]);
	if (dur_wait(u, D_INFL) || dur_req(u, D_T_FLUSH, 0, NULL, 0, false) != 0) {
		printf("load: blk write/flush failed\n");
		return -1;
	}
	for (unsigned i = 0; i < D_INFL; i++)
		if (u->st[i] != 0) {
			printf("load: blk write failed\n");
			return -1;
		}
	for (unsigned i = 0; i < D_INFL; i++) {
		if (dur_req(u, D_T_IN, (uint64_t)(i + 1) * (D_BLK / 512), w->rbuf, D_BLK,
			    false) != 0 || memcmp(w->rbuf, u->buf + (size_t)i * D_BLK, D_BLK)) {
			printf("load: blk read-back of block %u failed\n", i + 1);
			return -1;
		}
	}
	if (w->has_cons) {
		struct vd_buf b;

		snprintf((char *)w->cbuf, 64, "fdwatch round %u\n", round);
		b = (struct vd_buf){ w->cbuf, (uint32_t)strlen((char *)w->cbuf), false };
		if (vd_xfer(&w->cons.q[1], &b, 1, 10000) < 0) {
			printf("load: console failed\n");
			return -1;
		}
	}
	printf("load: round %u: rnd, blk and serial fine\n", round);
	return 0;
}

long vt_load(void *arg)
{
	struct lw *w = vd_alloc(sizeof(*w), 64);

	if (lw_open(w))
		return -1;
	return lw_round(w, 1);
}

long vt_fdwatch(void *arg)
{
	struct lw *w = vd_alloc(sizeof(*w), 64);
	uint32_t rounds = (uint32_t)vt_opt("rounds", 5);

	if (lw_open(w))
		return -1;
	for (uint32_t r = 1; r <= rounds; r++) {
		if (lw_round(w, r))
			return -1;
		printf("fdwatch: round %u done\n", r);
		if (dur_wait_byte(120000)) {
			printf("fdwatch: no byte from the host\n");
			return -1;
		}
	}
	return 0;
}
