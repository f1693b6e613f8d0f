/*
 * netload IFNAME SIZE SECONDS: send SIZE-byte Ethernet frames (broadcast,
 * EtherType 0x88B5) out of interface IFNAME as fast as the kernel takes
 * them, for SECONDS, with AF_PACKET and sendmmsg batches; print the number
 * of frames the kernel accepted. Used for the host -> guest virtio-net
 * benchmark on the tap of a VM in a test network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_BATCH 64

static double nl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static uint8_t frame[1514];
	struct mmsghdr msgs[NL_BATCH];
	struct iovec iov = { frame, 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned long long sent = 0;
	double end;
	int fd, size;

	if (argc != 4 || (size = atoi(argv[2])) < 60 || size > 1514) {
		fprintf(stderr, "usage: netload IFNAME SIZE(60..1514) SECONDS\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(0x88B5));
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	sll.sll_protocol = htons(0x88B5);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "netload: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(frame, 0xFF, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x98", 6);
	frame[12] = 0x88;
	frame[13] = 0xB5;
	memset(frame + 14, 0x5A, sizeof(frame) - 14);
	iov.iov_len = (size_t)size;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < NL_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
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
