/*
 * netload [--tso] IFNAME SIZE SECONDS: send SIZE-byte Ethernet frames out of
 * interface IFNAME as fast as the kernel takes them, for SECONDS, with
 * AF_PACKET and sendmmsg batches, past the interface's qdisc
 * (PACKET_QDISC_BYPASS: the sender shares a core with the VMM's I/O thread
 * here, so the cheaper it is per frame, the more the VMM is what is
 * measured); print the number of frames the kernel accepted. Used for the host -> guest virtio-net benchmark on the tap of
 * a VM in a test network namespace.
 *
 * Default: broadcast frames, EtherType 0x88B5, SIZE 60..1514.
 * --tso: broadcast TCP/IPv4 frames of SIZE bytes (1514..65549, e.g. 65214
 * = 54 bytes of headers + 45 x 1448), sent as GSO frames with
 * PACKET_VNET_HDR (virtio_net_hdr NEEDS_CSUM, GSO TCPV4, gso_size 1448,
 * hdr_len 54, csum_start 34, csum_offset 16). A tap whose VMM enabled
 * TUN_F_TSO4 (TUNSETOFFLOAD) hands them to the VMM whole; otherwise the
 * kernel segments them into 1448-byte segments on the way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_BATCH 64
#define NL_MSS 1448
#define NL_HDRS 54 /* Ethernet 14 + IPv4 20 + TCP 20 */
#define NL_MAX (14 + 65535)

static double nl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t nl_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t nl_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)s;
}

static void nl_be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* TCP/IPv4 frame 10.99.0.1:5001 -> 10.99.0.2:40000, TCP checksum field =
 * pseudo-header sum (CHECKSUM_PARTIAL convention). */
static void nl_tcp_frame(uint8_t *f, size_t size)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	size_t tcplen = size - 14 - 20;

	memset(ip, 0, 40);
	nl_be16(f + 12, 0x0800);
	ip[0] = 0x45;
	nl_be16(ip + 2, (unsigned)(size - 14));
	nl_be16(ip + 4, 0x4321);
	nl_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x63\x00\x01\x0a\x63\x00\x02", 8);
	nl_be16(ip + 10, (uint16_t)~nl_fold(nl_sum(ip, 20, 0)));
	nl_be16(tcp + 0, 5001);
	nl_be16(tcp + 2, 40000);
	tcp[7] = 1;         /* seq 1 */
	tcp[11] = 1;        /* ack 1 */
	tcp[12] = 5 << 4;   /* data offset */
	tcp[13] = 0x18;     /* PSH | ACK */
	nl_be16(tcp + 14, 0xFFFF);
	nl_be16(tcp + 16, nl_fold(nl_sum(ip + 12, 8, 6 + (uint32_t)tcplen)));
}

static void usage(void)
{
	fprintf(stderr, "usage: netload IFNAME SIZE(60..1514) SECONDS\n"
			"       netload --tso IFNAME SIZE(1514..%d) SECONDS\n", NL_MAX);
}

int main(int argc, char **argv)
{
	static uint8_t frame[NL_MAX];
	struct mmsghdr msgs[NL_BATCH];
	struct virtio_net_hdr vh;
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { frame, 0 } };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET }, dst;
	unsigned long long sent = 0;
	int tso = argc > 1 && !strcmp(argv[1], "--tso");
	unsigned short proto = tso ? 0x0800 : 0x88B5;
	double end;
	int fd, size, one = 1, sndbuf = 16 << 20;

	argv += tso;
	argc -= tso;
	if (argc != 4) {
		usage();
		return 2;
	}
	size = atoi(argv[2]);
	if (tso ? size < 1514 || size > NL_MAX : size < 60 || size > 1514) {
		usage();
		return 2;
	}
	/* --tso: protocol 0 on the socket and its binding (nothing received),
	 * ETH_P_IP as the frames' protocol through each message's address */
	fd = socket(AF_PACKET, SOCK_RAW, tso ? 0 : htons(proto));
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	sll.sll_protocol = tso ? 0 : htons(proto);
	dst = sll;
	dst.sll_protocol = htons(proto);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "netload: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* straight to the tap's transmit routine: no qdisc, no flow hashing */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
		fprintf(stderr, "netload: PACKET_QDISC_BYPASS: %s\n", strerror(errno));
		return 1;
	}
	memset(frame, 0xFF, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x98", 6);
	frame[12] = 0x88;
	frame[13] = 0xB5;
	memset(frame + 14, 0x5A, sizeof(frame) - 14);
	iov[1].iov_len = (size_t)size;
	memset(msgs, 0, sizeof(msgs));
	if (tso) {
		if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
			fprintf(stderr, "netload: PACKET_VNET_HDR: %s\n", strerror(errno));
			return 1;
		}
		/* room for a batch of 64 KiB frames (root: above wmem_max) */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		nl_tcp_frame(frame, (size_t)size);
		memset(&vh, 0, sizeof(vh));
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh.hdr_len = NL_HDRS;
		vh.gso_size = NL_MSS;
		vh.csum_start = 14 + 20;
		vh.csum_offset = 16;
	}
	for (int i = 0; i < NL_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = tso ? iov : iov + 1;
		msgs[i].msg_hdr.msg_iovlen = tso ? 2 : 1;
		if (tso) {
			msgs[i].msg_hdr.msg_name = &dst;
			msgs[i].msg_hdr.msg_namelen = sizeof(dst);
		}
	}
	end = nl_now() + atof(argv[3]);
	while (nl_now() < end) {
		int n = sendmmsg(fd, msgs, NL_BATCH, 0);

		if (n > 0)
			sent += (unsigned)n;
		else if (errno == ENOBUFS || errno == EAGAIN)
			usleep(10);
		else if (n < 0) {
			fprintf(stderr, "netload: sendmmsg: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("%llu\n", sent);
	return 0;
}
