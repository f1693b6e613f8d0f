/*
 * tapfloor tx|rx IFNAME SIZE MS: the floor of the virtio-net benchmarks, a
 * bare program doing on the tap what a VMM's network path must do at the
 * least, with no guest and no virtqueue:
 *   tx  write SIZE-byte frames (12-byte virtio_net_hdr + Ethernet frame to a
 *       MAC nobody owns, EtherType 0x88B5, as the guest's tx mode sends) as
 *       fast as the tap takes them, one writev per frame, for MS ms;
 *   rx  print "BENCH ready", then read frames (one read per frame, as a VMM
 *       must) and count them for MS ms from the first one.
 * The tap is attached like the VMMs attach theirs (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR). Prints the guest programs' line
 * "BENCH name=net-{tx,rx}-{64,1500} ops=N ns=N rate=N bytes=N", bytes
 * counting Ethernet bytes, so the harness reads both the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TF_HDR 12
#define TF_BUF (TF_HDR + 65536 + 4096)

static uint64_t tf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int tf_open(const char *ifname)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("tapfloor: /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tapfloor: %s: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void tf_report(const char *dir, unsigned size, uint64_t ops, uint64_t ns, uint64_t bytes)
{
	printf("BENCH name=net-%s-%s ops=%llu ns=%llu rate=%llu bytes=%llu\n", dir,
	       size > 200 ? "1500" : "64", (unsigned long long)ops, (unsigned long long)ns,
	       (unsigned long long)(ns ? ops * 1000000000ULL / ns : 0),
	       (unsigned long long)bytes);
	fflush(stdout);
}

static int tf_tx(int fd, unsigned size, uint64_t ms)
{
	static uint8_t f[TF_HDR + 1514];
	struct iovec iov = { f, TF_HDR + size };
	uint64_t ops = 0, t0 = tf_now(), end = t0 + ms * 1000000ULL, t = t0;

	memset(f, 0x5A, sizeof(f));
	memset(f, 0, TF_HDR);
	memcpy(f + TF_HDR, "\x02\x00\x00\x00\x00\x99\x02\x00\x00\x00\x00\x98", 12);
	f[TF_HDR + 12] = 0x88;
	f[TF_HDR + 13] = 0xB5;
	while (t < end) {
		for (int i = 0; i < 64; i++) {
			if (writev(fd, &iov, 1) < 0 && errno != EAGAIN && errno != ENOBUFS) {
				perror("tapfloor: write");
				return 1;
			}
			ops++;
		}
		t = tf_now();
	}
	tf_report("tx", size, ops, t - t0, ops * size);
	return 0;
}

static int tf_rx(int fd, unsigned size, uint64_t ms)
{
	static uint8_t buf[TF_BUF];
	uint64_t ops = 0, bytes = 0, t0 = 0, end = 0, t = 0;

	printf("BENCH ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tapfloor: read");
			return 1;
		}
		t = tf_now();
		if (!t0) {
			t0 = t;
			end = t0 + ms * 1000000ULL;
			continue;
		}
		ops++;
		bytes += n > TF_HDR ? (uint64_t)n - TF_HDR : 0;
		if (t >= end)
			break;
	}
	tf_report("rx", size, ops, t - t0, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned size;
	uint64_t ms;
	int fd;

	if (argc != 5 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx"))) {
		fprintf(stderr, "usage: tapfloor tx|rx IFNAME SIZE MS\n");
		return 2;
	}
	size = (unsigned)strtoul(argv[3], NULL, 0);
	ms = strtoull(argv[4], NULL, 0);
	if (size < 60 || size > 1514 || ms == 0) {
		fprintf(stderr, "tapfloor: SIZE 60-1514, MS > 0\n");
		return 2;
	}
	fd = tf_open(argv[2]);
	if (fd < 0)
		return 1;
	return argv[1][0] == 't' ? tf_tx(fd, size, ms) : tf_rx(fd, size, ms);
}
