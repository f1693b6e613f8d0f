/*
 * bench=blk phases=LIST ms=N: virtio-blk throughput from a polled ring-3
 * driver. LIST is comma-separated phases, each run for ms milliseconds:
 *   rrQ  4 KiB random reads at queue depth Q   (rr1, rr32)
 *   rwQ  4 KiB random writes at queue depth Q  (rw1, rw32)
 *   srQ  1 MiB sequential reads at depth Q     (sr1, sr4)
 *   swQ  1 MiB sequential writes at depth Q    (sw1, sw4)
 * Each request is header + data (64 KiB segments) + status in a fixed
 * descriptor slot, so completions may come back in any order. Prints a
 * BENCH line per phase; a request failing (status != 0) fails the run.
 */
#include "bench.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_QSIZE 256
#define BLK_SEG 65536u
#define BLK_MAXQD 32
#define BLK_BUF (4u << 20)

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct {
	uint8_t buf[BLK_BUF] __attribute__((aligned(4096)));
	struct blk_hdr hdr[BLK_MAXQD];
	uint8_t status[BLK_MAXQD];
	struct vd d;
	uint64_t capacity;  /* 512-byte sectors */
	uint64_t rng, next; /* random state, next sequential sector */
} bb;

struct phase {
	bool write, seq;
	uint32_t bs;
	unsigned qd, stride;
};

static void blk_submit(struct phase *p, unsigned s)
{
	struct vd_queue *q = &bb.d.q[0];
	uint16_t base = (uint16_t)(s * p->stride), i = base;
	uint64_t nsec = p->bs / 512, sector;

	if (p->seq) {
		if (bb.next + nsec > bb.capacity)
			bb.next = 0;
		sector = bb.next;
		bb.next += nsec;
	} else {
		sector = (bn_rand(&bb.rng) % (bb.capacity / nsec)) * nsec;
	}
	bb.hdr[s] = (struct blk_hdr){ p->write ? BLK_T_OUT : BLK_T_IN, 0, sector };
	bb.status[s] = 0xEE;
	vd_put_desc(q, i, (uintptr_t)&bb.hdr[s], sizeof(bb.hdr[s]), VRING_F_NEXT,
		    (uint16_t)(i + 1));
	i++;
	for (uint32_t off = 0; off < p->bs; off += BLK_SEG, i++) {
		uint32_t len = p->bs - off < BLK_SEG ? p->bs - off : BLK_SEG;

		vd_put_desc(q, i, (uintptr_t)(bb.buf + (size_t)s * p->bs + off), len,
			    (uint16_t)(VRING_F_NEXT | (p->write ? 0 : VRING_F_WRITE)),
			    (uint16_t)(i + 1));
	}
	vd_put_desc(q, i, (uintptr_t)&bb.status[s], 1, VRING_F_WRITE, 0);
	vd_publish(q, base);
}

static void blk_kick(void)
{
	struct vd_queue *q = &bb.d.q[0];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(*(volatile uint16_t *)q->used & 1)) /* VRING_USED_F_NO_NOTIFY */
		vd_kick(q);
}

static int blk_phase(const char *name, struct phase *p, uint64_t ms)
{
	struct vd_queue *q = &bb.d.q[0];
	uint64_t t0, t1, end, ops = 0, last = bn_rdtsc();
	unsigned inflight = 0;
	bool stop = false;

	p->stride = 2 + (p->bs + BLK_SEG - 1) / BLK_SEG;
	if (p->qd > BLK_MAXQD || p->qd * p->stride > q->size || (size_t)p->qd * p->bs > BLK_BUF) {
		printf("bench: blk phase %s does not fit (qd %u, queue %u)\n", name, p->qd, q->size);
		return -1;
	}
	t0 = bn_rdtsc();
	end = t0 + bn_ticks_ms(ms);
	for (unsigned s = 0; s < p->qd; s++, inflight++)
		blk_submit(p, s);
	blk_kick();
	while (inflight) {
		bool more = false;

		while (vd_used_pending(q)) {
			volatile uint32_t *e;
			unsigned s;

			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			e = (volatile uint32_t *)(q->used + 4 + 8 * (q->used_seen % q->size));
			s = e[0] / p->stride;
			q->used_seen++;
			inflight--;
			if (s >= p->qd || bb.status[s] != 0) {
				printf("bench: blk %s: slot %u status %u\n", name, s,
				       s < p->qd ? bb.status[s] : 0xFF);
				return -1;
			}
			ops++;
			if (!stop) {
				blk_submit(p, s);
				inflight++;
				more = true;
			}
		}
		if (more)
			blk_kick();
		t1 = bn_rdtsc();
		if (!stop && t1 >= end) {
			stop = true;
			last = t1;
		}
		if (stop && t1 - last > bn_ticks_ms(10000)) {
			printf("bench: blk %s: %u requests stuck\n", name, inflight);
			return -1;
		}
		cpu_pause();
	}
	t1 = bn_rdtsc();
	bn_report(name, ops, t1 - t0, ops * p->bs);
	return 0;
}

long bn_blk(void *arg)
{
	char list[96], name[32];
	uint64_t ms = vt_opt("ms", 1000);

	if (cmdline_get("phases", list, sizeof(list)) || !list[0]) {
		printf("bench: blk needs phases=...\n");
		return -1;
	}
	if (bn_open(&bb.d, VIRTIO_DEV_BLK, 0, 1, BLK_QSIZE))
		return -1;
	bb.capacity = vd_cfg64(&bb.d, 0);
	bb.rng = 0x9E3779B97F4A7C15ull;
	printf("bench: blk capacity=%lu sectors queue=%u\n", (unsigned long)bb.capacity,
	       bb.d.q[0].size);
	if (bb.capacity < 2048 * 16)
		return -1;
	for (char *p = list; *p;) {
		char *e = p;
		struct phase ph = { 0 };
		const char *kind;

		while (*e && *e != ',')
			e++;
		if (*e)
			*e++ = 0;
		ph.qd = 0;
		for (const char *d = p + 2; *d >= '0' && *d <= '9'; d++)
			ph.qd = ph.qd * 10 + (unsigned)(*d - '0');
		ph.write = p[1] == 'w';
		ph.seq = p[0] == 's';
		ph.bs = ph.seq ? 1u << 20 : 4096;
		kind = ph.seq ? (ph.write ? "seqwrite" : "seqread")
			      : (ph.write ? "randwrite" : "randread");
		if ((p[0] != 'r' && p[0] != 's') || (p[1] != 'r' && p[1] != 'w') || !ph.qd) {
			printf("bench: bad blk phase %s\n", p);
			return -1;
		}
		snprintf(name, sizeof(name), "blk-%s-qd%u", kind, ph.qd);
		bb.next = 0;
		if (blk_phase(name, &ph, ms))
			return -1;
		p = e;
	}
	return 0;
}
