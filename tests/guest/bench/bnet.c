/*
 * bench=net dir=tx|rx [size=N | tso=1] ms=N: virtio-net throughput from a
 * polled ring-3 driver (MAC + MRG_RXBUF, 12-byte header).
 *   dir=tx  keep the transmit ring full of size-byte Ethernet frames (to a
 *           MAC nobody owns, EtherType 0x88B5, so the host drops them right
 *           after the tap counts them) and count completions for ms.
 *   dir=rx  post receive buffers, print "BENCH ready", wait for the first
 *           frame from the host, then count frames received for ms (a frame
 *           spans num_buffers used entries; the 12-byte header is counted
 *           once per frame).
 *   tso=1   64 KiB TCP segmentation offload. tx: negotiate CSUM + HOST_TSO4
 *           and keep 32 frames of 65214 bytes in flight (Ethernet to the
 *           same unknown MAC, IPv4 + TCP headers, 45 segments of 1448 bytes;
 *           virtio_net_hdr NEEDS_CSUM, GSO TCPV4, gso_size 1448, hdr_len 54,
 *           csum_start 34, csum_offset 16), one descriptor each. rx:
 *           negotiate GUEST_CSUM + GUEST_TSO4 (the VMM then enables
 *           TUN_F_TSO4 on its tap, so GSO frames from the host arrive whole)
 *           and receive into rxbuf-byte buffers (default 4096); fails if no
 *           frame larger than 1514 bytes arrived.
 * Byte counts are Ethernet frame bytes (no virtio header). The negotiated
 * feature bits are printed as "bench: net features=...".
 */
#include "bench.h"

#define NET_F_CSUM (1ull << 0)
#define NET_F_GUEST_CSUM (1ull << 1)
#define NET_F_MAC (1ull << 5)
#define NET_F_GUEST_TSO4 (1ull << 7)
#define NET_F_HOST_TSO4 (1ull << 11)
#define NET_F_MRG_RXBUF (1ull << 15)
#define NET_HDR 12
#define NET_QSIZE 256
#define NET_BUF 2048                  /* tx slots and rx buffers without TSO */
#define NET_TSO_SLOT 65536
#define NET_TSO_SLOTS 32
#define NET_TSO_MSS 1448
#define NET_TSO_SEGS 45
#define NET_TSO_HDRS 54               /* Ethernet 14 + IPv4 20 + TCP 20 */
#define NET_TSO_FRAME (NET_TSO_HDRS + NET_TSO_MSS * NET_TSO_SEGS) /* 65214 */
#define NET_AREA (NET_TSO_SLOTS * NET_TSO_SLOT) /* 2 MiB */

_Static_assert(NET_HDR + NET_TSO_FRAME <= NET_TSO_SLOT, "TSO frame fits its slot");
_Static_assert(NET_QSIZE * NET_BUF <= NET_AREA, "buffers fit the area");

static struct {
	uint8_t area[NET_AREA] __attribute__((aligned(4096)));
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

static void net_put16(uint8_t *p, uint16_t v) /* little endian (virtio) */
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void net_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's complement sum of big-endian 16-bit words, not folded. */
static uint32_t net_sum(const uint8_t *p, unsigned n, uint32_t s)
{
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t net_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)s;
}

/*
 * A 64 KiB TCP/IPv4 GSO frame at b: virtio_net_hdr, Ethernet (to dst, from
 * src), IPv4 10.99.0.2 -> 10.99.0.1, TCP 40000 -> 5001 with the
 * pseudo-header sum in the checksum field (CHECKSUM_PARTIAL convention),
 * payload 0x5A.
 */
static void net_tso_frame(uint8_t *b, const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t *e = b + NET_HDR, *ip = e + 14, *tcp = ip + 20;
	unsigned tcplen = NET_TSO_FRAME - 14 - 20;

	memset(b, 0, NET_HDR + NET_TSO_HDRS);
	b[0] = 1;                              /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	b[1] = 1;                              /* VIRTIO_NET_HDR_GSO_TCPV4 */
	net_put16(b + 2, NET_TSO_HDRS);        /* hdr_len */
	net_put16(b + 4, NET_TSO_MSS);         /* gso_size */
	net_put16(b + 6, 14 + 20);             /* csum_start */
	net_put16(b + 8, 16);                  /* csum_offset */
	memcpy(e, dst, 6);
	memcpy(e + 6, src, 6);
	net_be16(e + 12, 0x0800);
	ip[0] = 0x45;
	net_be16(ip + 2, (uint16_t)(NET_TSO_FRAME - 14));
	net_be16(ip + 4, 0x1234);
	net_be16(ip + 6, 0x4000);              /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x63\x00\x02\x0a\x63\x00\x01", 8);
	net_be16(ip + 10, (uint16_t)~net_fold(net_sum(ip, 20, 0)));
	net_be16(tcp + 0, 40000);
	net_be16(tcp + 2, 5001);
	tcp[7] = 1;                            /* seq 1 */
	tcp[11] = 1;                           /* ack 1 */
	tcp[12] = 5 << 4;                      /* data offset */
	tcp[13] = 0x18;                        /* PSH | ACK */
	net_be16(tcp + 14, 0xFFFF);            /* window */
	memset(tcp + 20, 0x5A, tcplen - 20);
	/* pseudo header: addresses, protocol, TCP length */
	net_be16(tcp + 16, net_fold(net_sum(ip + 12, 8, 6 + tcplen)));
}

static long net_tx(unsigned size, bool tso, uint64_t ms)
{
	struct vd_queue *q = &bnn.d.q[1];
	unsigned n = tso ? NET_TSO_SLOTS : q->size, stride = tso ? NET_TSO_SLOT : NET_BUF;
	uint64_t t0, t1, end, ops = 0;
	unsigned inflight = 0;
	uint8_t mac[6];
	bool stop = false;

	if (tso)
		size = NET_TSO_FRAME;
	if (n > q->size)
		n = q->size;
	for (int k = 0; k < 6; k++)
		mac[k] = vd_cfg8(&bnn.d, (unsigned)k);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *b = bnn.area + (size_t)i * stride, *f = b + NET_HDR;

		if (tso) {
			net_tso_frame(b, (const uint8_t *)"\x02\x00\x00\x00\x00\x99", mac);
			continue;
		}
		memset(b, 0, NET_HDR);
		memset(f, 0x5A, size);
		memcpy(f, "\x02\x00\x00\x00\x00\x99", 6);
		memcpy(f + 6, mac, 6);
		f[12] = 0x88;
		f[13] = 0xB5;
	}
	t0 = bn_rdtsc();
	end = t0 + bn_ticks_ms(ms);
	for (uint16_t i = 0; i < n; i++, inflight++) {
		vd_put_desc(q, i, (uintptr_t)(bnn.area + (size_t)i * stride), NET_HDR + size, 0, 0);
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
	bn_report(tso ? "net-tx-tso" : size > 200 ? "net-tx-1500" : "net-tx-64", ops, t1 - t0,
		  ops * size);
	return 0;
}

static long net_rx(unsigned size, bool tso, unsigned bufsz, uint64_t ms)
{
	struct vd_queue *q = &bnn.d.q[0];
	uint64_t t0 = 0, t1, end = 0, ops = 0, bytes = 0, wait;
	uint64_t frames = 0, gso = 0, maxlen = 0, bufs = 0;
	unsigned left = 0;   /* buffers still to come for the current frame */
	uint64_t flen = 0;   /* bytes of the current frame so far (with header) */
	bool fgso = false;
	uint32_t len;
	int id;

	for (uint16_t i = 0; i < q->size; i++) {
		vd_put_desc(q, i, (uintptr_t)(bnn.area + (size_t)i * bufsz), bufsz, VRING_F_WRITE, 0);
		vd_publish(q, i);
	}
	net_kick(q);
	printf("BENCH ready\n");
	wait = bn_rdtsc() + bn_ticks_ms(30000);
	for (;;) {
		bool more = false;

		while ((id = net_pop(q, &len)) >= 0) {
			const uint8_t *b = bnn.area + (size_t)id * bufsz;

			bufs++;
			if (!left) { /* first buffer of a frame: num_buffers at 10 */
				left = (unsigned)b[10] | (unsigned)b[11] << 8;
				if (!left)
					left = 1;
				fgso = b[1] != 0;
				flen = 0;
			}
			flen += len;
			left--;
			vd_publish(q, (uint16_t)id);
			more = true;
			if (left)
				continue;
			/* frame complete; the first one starts the clock */
			flen = flen > NET_HDR ? flen - NET_HDR : 0;
			frames++;
			gso += fgso;
			if (flen > maxlen)
				maxlen = flen;
			if (!t0) {
				t0 = bn_rdtsc();
				end = t0 + bn_ticks_ms(ms);
			} else {
				ops++;
				bytes += flen;
			}
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
	printf("bench: net rx frames=%lu gso=%lu maxlen=%lu buffers=%lu\n",
	       (unsigned long)frames, (unsigned long)gso, (unsigned long)maxlen,
	       (unsigned long)bufs);
	if (tso && maxlen <= 1514) {
		printf("bench: TSO: no frame larger than 1514 bytes arrived (segmented on the host)\n");
		return -1;
	}
	bn_report(tso ? "net-rx-tso" : size > 200 ? "net-rx-1500" : "net-rx-64", ops, t1 - t0,
		  bytes);
	return 0;
}

long bn_net(void *arg)
{
	char dir[8];
	unsigned size = (unsigned)vt_opt("size", 60);
	bool tso = vt_opt("tso", 0) != 0;
	unsigned bufsz = (unsigned)vt_opt("rxbuf", tso ? 4096 : NET_BUF);
	uint64_t ms = vt_opt("ms", 1000);
	uint64_t want = NET_F_MAC | NET_F_MRG_RXBUF, f;
	bool tx;

	net_always_kick = vt_opt("kick", 0) != 0;
	if ((!tso && (size < 60 || size > 1514)) || bufsz < 64 ||
	    bufsz * NET_QSIZE > NET_AREA || cmdline_get("dir", dir, sizeof(dir)))
		return -1;
	tx = !strcmp(dir, "tx");
	if (tso)
		want |= tx ? NET_F_CSUM | NET_F_HOST_TSO4 : NET_F_GUEST_CSUM | NET_F_GUEST_TSO4;
	if (bn_open(&bnn.d, VIRTIO_DEV_NET, want, 2, NET_QSIZE))
		return -1;
	f = bnn.d.features;
	printf("bench: net features=0x%lx csum=%d guest_csum=%d guest_tso4=%d host_tso4=%d "
	       "mrg_rxbuf=%d\n", (unsigned long)f, !!(f & NET_F_CSUM), !!(f & NET_F_GUEST_CSUM),
	       !!(f & NET_F_GUEST_TSO4), !!(f & NET_F_HOST_TSO4), !!(f & NET_F_MRG_RXBUF));
	if (!(f & NET_F_MRG_RXBUF)) {
		printf("bench: MRG_RXBUF not offered\n");
		return -1;
	}
	if ((want & f) != want) {
		printf("bench: TSO: the device does not offer %s (features 0x%lx)\n",
		       tx ? "CSUM + HOST_TSO4" : "GUEST_CSUM + GUEST_TSO4", (unsigned long)f);
		return -1;
	}
	return tx ? net_tx(size, tso, ms) : net_rx(size, tso, bufsz, ms);
}
