/*
 * test=net ip=A.B.C.D peer=A.B.C.D [mode=ping|respond] [count=N]:
 * virtio-net with MAC and MRG_RXBUF. "ping" sends an ARP request for the
 * peer and ICMP echo requests, and checks the replies; "respond" answers
 * ARP requests and echo requests for its address until it has answered
 * `count` echoes. Both modes answer ARP for their own address. Frames are
 * built and parsed here (no stack); anything else received is ignored.
 */
#include "vt.h"

#define NET_F_MAC (1ull << 5)
#define NET_F_MRG_RXBUF (1ull << 15)
#define NET_HDR 12
#define NRX 16
#define RXLEN 2048
#define ETH_ARP 0x0806
#define ETH_IP 0x0800

struct net {
	struct vd d;
	uint8_t mac[6], peer_mac[6];
	uint32_t ip, peer;         /* host order */
	uint8_t *rx[NRX];
	uint8_t *tx;
	bool have_peer_mac;
	unsigned echo_replies, echo_answered;
	uint16_t seq_seen;
};

static uint32_t net_parse_ip(const char *key)
{
	char s[24];
	uint32_t ip = 0, part = 0;

	if (cmdline_get(key, s, sizeof(s)))
		return 0;
	for (const char *p = s;; p++) {
		if (*p >= '0' && *p <= '9') {
			part = part * 10 + (uint32_t)(*p - '0');
		} else {
			ip = ip << 8 | (part & 0xFF);
			part = 0;
			if (*p != '.')
				break;
		}
	}
	return ip;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint16_t net_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)~s;
}

static void net_ipstr(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF);
}

/* Send the frame in n->tx + NET_HDR (len bytes of Ethernet). */
static int net_send(struct net *n, size_t len)
{
	struct vd_buf b = { n->tx, (uint32_t)(NET_HDR + len), false };

	memset(n->tx, 0, NET_HDR);
	if (len < 60) {
		memset(n->tx + NET_HDR + len, 0, 60 - len);
		b.len = NET_HDR + 60;
	}
	return vd_xfer(&n->d.q[1], &b, 1, 5000) < 0 ? -1 : 0;
}

static void net_eth(struct net *n, const uint8_t *dst, uint16_t type)
{
	uint8_t *f = n->tx + NET_HDR;

	memcpy(f, dst, 6);
	memcpy(f + 6, n->mac, 6);
	put16(f + 12, type);
}

static int net_arp(struct net *n, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	uint8_t *a = n->tx + NET_HDR + 14;

	net_eth(n, op == 1 ? bcast : tha, ETH_ARP);
	put16(a, 1);
	put16(a + 2, ETH_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, n->mac, 6);
	put32(a + 14, n->ip);
	if (op == 1)
		memset(a + 18, 0, 6);
	else
		memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return net_send(n, 14 + 28);
}

/* ICMP echo (type 8 request / 0 reply) with the given id/seq/payload. */
static int net_icmp(struct net *n, const uint8_t *dmac, uint32_t dst, uint8_t type,
		    uint16_t id, uint16_t seq, const uint8_t *data, size_t dlen)
{
	uint8_t *ip = n->tx + NET_HDR + 14, *ic = ip + 20;
	size_t tot = 20 + 8 + dlen;

	if (tot > 1400)
		return -1;
	net_eth(n, dmac, ETH_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, seq);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 1;
	put32(ip + 12, n->ip);
	put32(ip + 16, dst);
	put16(ip + 10, net_csum(ip, 20));
	ic[0] = type;
	ic[1] = 0;
	put16(ic + 2, 0);
	put16(ic + 4, id);
	put16(ic + 6, seq);
	memcpy(ic + 8, data, dlen);
	put16(ic + 2, net_csum(ic, 8 + dlen));
	return net_send(n, 14 + tot);
}

/* Handle one received frame. */
static void net_input(struct net *n, const uint8_t *f, size_t len)
{
	char s[20];

	if (len < 14)
		return;
	if (get16(f + 12) == ETH_ARP && len >= 14 + 28) {
		const uint8_t *a = f + 14;
		uint16_t op = get16(a + 6);

		if (get16(a + 2) != ETH_IP)
			return;
		if (op == 1 && get32(a + 24) == n->ip) {
			net_arp(n, 2, a + 8, get32(a + 14));
		} else if (op == 2 && get32(a + 14) == n->peer && !n->have_peer_mac) {
			memcpy(n->peer_mac, a + 8, 6);
			n->have_peer_mac = true;
			net_ipstr(n->peer, s, sizeof(s));
			printf("net: arp reply: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", s,
			       a[8], a[9], a[10], a[11], a[12], a[13]);
		}
	} else if (get16(f + 12) == ETH_IP && len >= 14 + 20 + 8) {
		const uint8_t *ip = f + 14, *ic;
		size_t ihl = (size_t)(ip[0] & 0xF) * 4, tot = get16(ip + 2);

		if ((ip[0] >> 4) != 4 || ip[9] != 1 || get32(ip + 16) != n->ip ||
		    ihl < 20 || tot > len - 14 || tot < ihl + 8 || net_csum(ip, ihl) != 0)
			return;
		ic = ip + ihl;
		if (net_csum(ic, tot - ihl) != 0) {
			printf("net: bad ICMP checksum\n");
			return;
		}
		net_ipstr(get32(ip + 12), s, sizeof(s));
		if (ic[0] == 0 && get32(ip + 12) == n->peer && get16(ic + 4) == 0x4C48) {
			n->echo_replies++;
			n->seq_seen = get16(ic + 6);
			printf("net: echo reply from %s seq=%u len=%u\n", s, get16(ic + 6),
			       (unsigned)(tot - ihl - 8));
		} else if (ic[0] == 8) {
			net_icmp(n, f + 6, get32(ip + 12), 0, get16(ic + 4), get16(ic + 6),
				 ic + 8, tot - ihl - 8);
			n->echo_answered++;
			printf("net: answered echo request from %s seq=%u\n", s, get16(ic + 6));
		}
	}
}

/* Process received frames for up to ms milliseconds or until *flag. */
static void net_poll(struct net *n, uint32_t ms, volatile bool *stop)
{
	uint32_t start = vd_ms();

	while (!(stop && *stop) && vd_ms() - start < ms) {
		uint16_t head;
		uint32_t len;
		uint8_t *b;

		if (vd_wait_used(&n->d.q[0], &head, &len, 50))
			continue;
		b = n->rx[head % NRX];
		if (len > NET_HDR && len <= RXLEN && (b[10] | b[11] << 8) == 1)
			net_input(n, b + NET_HDR, len - NET_HDR);
		/* frames over several buffers are not ours: their buffers are
		 * reposted one by one as they come out of the used ring */
		vd_put_desc(&n->d.q[0], head, (uintptr_t)b, RXLEN, VRING_F_WRITE, 0);
		vd_publish(&n->d.q[0], head);
		vd_kick(&n->d.q[0]);
	}
}

long vt_net(void *arg)
{
	static const uint8_t payload[] = "lhyve virtio-net echo payload 0123456789";
	struct net *n = vd_alloc(sizeof(struct net), 64);
	int bdf = vd_find(VIRTIO_DEV_NET, 0);
	char mode[12], s[20];
	unsigned count = (unsigned)vt_opt("count", 3);
	bool stop = false;

	cmdline_get("mode", mode, sizeof(mode));
	n->ip = net_parse_ip("ip");
	n->peer = net_parse_ip("peer");
	if (bdf < 0 || !n->ip || vd_probe(&n->d, (uint32_t)bdf) ||
	    vd_init(&n->d, NET_F_MAC | NET_F_MRG_RXBUF) ||
	    vd_queue_setup(&n->d, 0, NRX) || vd_queue_setup(&n->d, 1, 16))
		return -1;
	if (!(n->d.features & NET_F_MRG_RXBUF)) {
		printf("net: MRG_RXBUF not offered\n");
		return -1;
	}
	for (int i = 0; i < 6; i++)
		n->mac[i] = vd_cfg8(&n->d, (unsigned)i);
	vd_driver_ok(&n->d);
	n->tx = vd_alloc(2048, 64);
	for (int i = 0; i < NRX; i++) {
		struct vd_buf b;

		n->rx[i] = vd_alloc(RXLEN, 64);
		b = (struct vd_buf){ n->rx[i], RXLEN, true };
		vd_add(&n->d.q[0], &b, 1);
	}
	vd_kick(&n->d.q[0]);
	net_ipstr(n->ip, s, sizeof(s));
	printf("net: mac %02x:%02x:%02x:%02x:%02x:%02x ip %s features=0x%lx status=0x%x\n",
	       n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], s,
	       (unsigned long)n->d.features, vd_cfg16(&n->d, 6));

	if (!strcmp(mode, "respond")) {
		uint32_t start = vd_ms();

		printf("net: ready\n");
		while (n->echo_answered < count && vd_ms() - start < 90000)
			net_poll(n, 100, NULL);
		/* linger so the last reply leaves and late ARP is answered */
		net_poll(n, 500, NULL);
		printf("net: answered %u echo requests\n", n->echo_answered);
		return n->echo_answered >= count ? 0 : -1;
	}
	/* ping: resolve the peer (retry: it may still be starting) */
	for (int i = 0; i < 60 && !n->have_peer_mac; i++) {
		net_arp(n, 1, NULL, n->peer);
		net_poll(n, 1000, &n->have_peer_mac);
	}
	if (!n->have_peer_mac) {
		printf("net: no ARP reply\n");
		return -1;
	}
	for (unsigned seq = 1; seq <= count; seq++) {
		unsigned before = n->echo_replies;

		for (int t = 0; t < 5 && n->echo_replies == before; t++) {
			net_icmp(n, n->peer_mac, n->peer, 8, 0x4C48, (uint16_t)seq, payload,
				 sizeof(payload));
			for (int k = 0; k < 20 && n->echo_replies == before; k++)
				net_poll(n, 100, &stop);
		}
		if (n->echo_replies == before) {
			printf("net: no echo reply for seq %u\n", seq);
			return -1;
		}
	}
	printf("net: %u/%u echo replies\n", n->echo_replies, count);
	return 0;
}
