/*
 * bench=net dir=tx|rx size=N ms=N: virtio-net packet rate from a polled
 * ring-3 driver (MAC + MRG_RXBUF, 12-byte header).
 *   dir=tx  keep the transmit ring full of size-byte Ethernet frames (to a
 *           MAC nobody owns, EtherType 0x88B5, so the host drops them right
 *           after the tap counts them) and count completions for ms.
 *   dir=rx  post receive buffers, print "BENCH ready", wait for the first
 *           frame from the host, then count frames received for ms.
 */
#include "bench.h"

#define NET_F_MAC (1ull << 5)
#define NET_F_MRG_RXBUF (1ull << 15)
#define NET_HDR 12
#define NET_QSIZE 256
#define NET_BUF 2048

static struct {
	uint8_t buf[NET_QSIZE][NET_BUF] __attribute__((aligned(4096)));
	struct vd d;
} bnn;

static bool net_always_kick;

/* Kick unless the device asked not to (VRING_USED_F_NO_NOTIFY); with
 * kick=1 on the command line, always (diagnostics). */
static void net_kick(struct vd_queue *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (net_always_kick || !(*(volatile uint16_t *)q->used & 1))
		vd_kick(q);
}

/* Pop one used entry: descriptor id, or -1 if none. */
static int net_pop(struct vd_queue *q, uint32_t *len)
{
	volatile uint32_t *e;

	if (!vd_used_pending(q))
		return -1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	e = (volatile uint32_t *)(q->used + 4 + 8 * (q->used_seen % q->size));
	q->used_seen++;
	if (len)
		*len = e[1];
	return (int)(e[0] % q->size);
}

static long net_tx(unsigned size, uint64_t ms)
{
	struct vd_queue *q = &bnn.d.q[1];
	uint64_t t0, t1, end, ops = 0;
	unsigned inflight = 0;
	bool stop = false;

	for (unsigned i = 0; i < q->size; i++) {
		uint8_t *f = bnn.buf[i] + NET_HDR;

		memset(bnn.buf[i], 0, NET_HDR);
		memset(f, 0x5A, size);
		memcpy(f, "\x02\x00\x00\x00\x00\x99", 6);
		for (int k = 0; k < 6; k++)
			f[6 + k] = vd_cfg8(&bnn.d, (unsigned)k);
		f[12] = 0x88;
		f[13] = 0xB5;
	}
	t0 = bn_rdtsc();
	end = t0 + bn_ticks_ms(ms);
	for (uint16_t i = 0; i < q->size; i++, inflight++) {
		vd_put_desc(q, i, (uintptr_t)bnn.buf[i], NET_HDR + size, 0, 0);
		vd_publish(q, i);
	}
	net_kick(q);
	while (inflight) {
		bool more = false;
		int id;

		while ((id = net_pop(q, NULL)) >= 0) {
			ops++;
			inflight--;
			if (!stop) {
				vd_publish(q, (uint16_t)id);
				inflight++;
				more = true;
			}
		}
		if (more)
			net_kick(q);
		t1 = bn_rdtsc();
		if (!stop && t1 >= end)
			stop = true;
		if (stop && t1 - end > bn_ticks_ms(5000))
			break; /* frames the host never took: not counted */
		cpu_pause();
	}
	t1 = bn_rdtsc();
	bn_report(size > 200 ? "net-tx-1500" : "net-tx-64", ops, t1 - t0, ops * size);
	return 0;
}

static long net_rx(unsigned size, uint64_t ms)
{
	struct vd_queue *q = &bnn.d.q[0];
	uint64_t t0 = 0, t1, end = 0, ops = 0, bytes = 0, wait;
	uint32_t len;
	int id;

	for (uint16_t i = 0; i < q->size; i++) {
		vd_put_desc(q, i, (uintptr_t)bnn.buf[i], NET_BUF, VRING_F_WRITE, 0);
		vd_publish(q, i);
	}
	net_kick(q);
	printf("BENCH ready\n");
	wait = bn_rdtsc() + bn_ticks_ms(30000);
	for (;;) {
		bool more = false;

		while ((id = net_pop(q, &len)) >= 0) {
			if (!t0) {
				t0 = bn_rdtsc();
				end = t0 + bn_ticks_ms(ms);
			} else {
				ops++;
				bytes += len > NET_HDR ? len - NET_HDR : 0;
			}
			vd_publish(q, (uint16_t)id);
			more = true;
		}
		if (more)
			net_kick(q);
		t1 = bn_rdtsc();
		if (t0 && t1 >= end)
			break;
		if (!t0 && t1 >= wait) {
			printf("bench: no frame from the host\n");
			return -1;
		}
		cpu_pause();
	}
	bn_report(size > 200 ? "net-rx-1500" : "net-rx-64", ops, t1 - t0, bytes);
	return 0;
}

long bn_net(void *arg)
{
	char dir[8];
	unsigned size = (unsigned)vt_opt("size", 60);
	uint64_t ms = vt_opt("ms", 1000);

	net_always_kick = vt_opt("kick", 0) != 0;
	if (size < 60 || size > 1514 || cmdline_get("dir", dir, sizeof(dir)))
		return -1;
	if (bn_open(&bnn.d, VIRTIO_DEV_NET, NET_F_MAC | NET_F_MRG_RXBUF, 2, NET_QSIZE))
		return -1;
	if (!(bnn.d.features & NET_F_MRG_RXBUF)) {
		printf("bench: MRG_RXBUF not offered\n");
		return -1;
	}
	return !strcmp(dir, "tx") ? net_tx(size, ms) : net_rx(size, ms);
}
