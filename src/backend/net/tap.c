/*
 * tap network backend (see lhyve/netbe.h): /dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte vnet header.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lhyve/log.h"
#include "lhyve/netbe.h"

struct netbe {
	int fd;
	bool tap;
	bool offloads;
	bool steered;     /* our steering program is on the tap */
	char name[IFNAMSIZ];
};

bool netbe_is_tap_name(const char *name)
{
	return name && (strncmp(name, "tap", 3) == 0 || strncmp(name, "vmnet", 5) == 0) &&
	       strlen(name) < IFNAMSIZ && !strchr(name, '/');
}

/* Bring the interface up (like FreeBSD's net.link.tap.up_on_open). */
static void netbe_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			log_debug("%s: cannot bring up: %s", name, strerror(errno));
	}
	close(s);
}

/*
 * Queue selection for frames the host sends to the guest. Without a
 * steering program the tap hashes every frame's flow (flow dissector and
 * siphash, in the sender's context) to pick one of its queues; ours has a
 * single queue (no IFF_MULTI_QUEUE), so a two-instruction socket-filter
 * program that returns queue 0 gives the same answer for less: about a
 * tenth of a small frame's cost to the host sender, measured. Needs
 * CAP_BPF (root); without it the tap just keeps hashing. The program stays
 * with the interface, not our fd: netbe_close takes it off again, so a
 * persistent tap is left as we found it. Returns whether it went on.
 */
static bool netbe_tap_steer(int fd, const char *name)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	int pfd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = 2;
	a.license = (uint64_t)(uintptr_t)"Dual BSD/GPL";
	pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (pfd < 0) {
		log_debug("%s: no steering program (%s): the tap hashes each frame",
			  name, strerror(errno));
		return false;
	}
	bool ok = ioctl(fd, TUNSETSTEERINGEBPF, &pfd) == 0;
	if (!ok)
		log_debug("%s: TUNSETSTEERINGEBPF: %s", name, strerror(errno));
	else
		log_debug("%s: steering program attached (one queue, no flow hashing)", name);
	close(pfd); /* the tap holds its own reference */
	return ok;
}

struct netbe *netbe_tap_open(const char *name, char *err, size_t errlen)
{
	struct netbe *nb;
	struct ifreq ifr;
	int hdr = NETBE_HDR_LEN;
	int fd;

	if (!netbe_is_tap_name(name)) {
		snprintf(err, errlen, "%s: unsupported network backend (expected tapN or vmnetN)",
			 name ? name : "(none)");
		return NULL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open /dev/net/tun: %s", name, strerror(errno));
		return NULL;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "%s: cannot attach to the tap interface: %s", name,
			 strerror(errno));
		goto err_fd;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(err, errlen, "%s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
		goto err_fd;
	}
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		snprintf(err, errlen, "%s: TUNSETOFFLOAD: %s", name, strerror(errno));
		goto err_fd;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto err_fd;
	}
	nb->steered = netbe_tap_steer(fd, name);
	nb->fd = fd;
	nb->tap = true;
	nb->offloads = true;
	snprintf(nb->name, sizeof(nb->name), "%s", name);
	netbe_up(name);
	return nb;
err_fd:
	close(fd);
	return NULL;
}

struct netbe *netbe_fd_open(int fd, bool offloads)
{
	struct netbe *nb = calloc(1, sizeof(*nb));

	if (!nb)
		return NULL;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	nb->fd = fd;
	nb->offloads = offloads;
	snprintf(nb->name, sizeof(nb->name), "fd%d", fd);
	return nb;
}

void netbe_close(struct netbe *nb)
{
	if (!nb)
		return;
	if (nb->steered) {
		int none = -1;

		if (ioctl(nb->fd, TUNSETSTEERINGEBPF, &none) < 0)
			log_debug("%s: steering program not taken off: %s", nb->name,
				  strerror(errno));
		else
			log_debug("%s: steering program detached", nb->name);
	}
	close(nb->fd);
	free(nb);
}

int netbe_fd(const struct netbe *nb)
{
	return nb->fd;
}

bool netbe_has_offloads(const struct netbe *nb)
{
	return nb->offloads;
}

int netbe_set_offload(struct netbe *nb, bool csum, bool tso4, bool tso6, bool ecn)
{
	unsigned flags = 0;

	if (!nb->tap)
		return 0;
	if (csum) {
		flags |= TUN_F_CSUM;
		if (tso4)
			flags |= TUN_F_TSO4;
		if (tso6)
			flags |= TUN_F_TSO6;
		if (ecn && (tso4 || tso6))
			flags |= TUN_F_TSO_ECN;
	}
	if (ioctl(nb->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) {
		log_warn("%s: TUNSETOFFLOAD 0x%x: %s", nb->name, flags, strerror(errno));
		return -errno;
	}
	return 0;
}
