/* virtio-net over a SOCK_SEQPACKET socketpair backend (and a tap if root). */
#include "unit.h"
#include "vqdrv.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"

#define MEM (8 * MiB)
#define TXB 0x200000ULL
#define RXB 0x300000ULL
#define NODE "pci.0.2.0"

static struct guest_mem gm;

struct nfx {
	struct evloop *loop;
	struct virtio_dev *v;
	struct vqdrv d;
	int peer;
};

/* Device over a socketpair, virtio.poll_us = poll_ns, the device end's send
 * buffer set to sndbuf unless 0; false if the device was not created. */
static bool nfx_init_opts(struct nfx *f, uint64_t features, uint64_t poll_ns, int sndbuf)
{
	int sv[2];
	char err[128];
	struct virtio_env env = { .gm = &gm, .vm_name = "vm1", .slot = 2, .poll_ns = poll_ns };

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	if (sndbuf)
		CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	f->loop = evloop_new();
	env.loop = f->loop;
	f->v = net_create_fd(&env, sv[0], false, err, sizeof(err));
	CHECK(f->v != NULL);
	f->peer = sv[1];
	if (!f->v) {
		evloop_free(f->loop);
		close(f->peer);
		return false;
	}
	CHECK(vqdrv_start(&f->d, &gm, f->v, features, 2, 64) & VIRTIO_S_DRIVER_OK);
	return true;
}

static void nfx_init(struct nfx *f, uint64_t features)
{
	nfx_init_opts(f, features, 0, 0);
}

static void nfx_fini(struct nfx *f)
{
	virtio_dev_destroy(f->v);
	evloop_free(f->loop);
	close(f->peer);
}

static const uint64_t F_MRG = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(15) |
			      VIRTIO_BIT(5) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);

/* Post n RX buffers of len bytes at RXB + 0x1000 * i and kick. */
static void rx_post(struct vqdrv *d, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		struct vqdrv_buf b = { RXB + 0x1000ULL * i, len, true };
		vqdrv_add(d, 0, &b, 1);
	}
	vqdrv_kick(d, 0);
}

/* A frame of len bytes of tag after a zero 12-byte header, from the peer. */
static void send_frame(int fd, size_t len, uint8_t tag)
{
	uint8_t *buf = malloc(12 + len);
	CHECK(buf != NULL);
	if (!buf)
		return;
	memset(buf, 0, 12);
	memset(buf + 12, tag, len);
	CHECK_EQ(send(fd, buf, 12 + len, 0), (ssize_t)(12 + len));
	free(buf);
}

static void test_tx(void)
{
	struct nfx f;
	nfx_init(&f, F_MRG);
	uint8_t *p = gm_ptr(&gm, TXB, 4096);
	memset(p, 0, 12);
	for (int i = 0; i < 60; i++)
		p[0x100 + i] = (uint8_t)i;
	struct vqdrv_buf b[2] = { { TXB, 12, false }, { TXB + 0x100, 60, false } };
	uint16_t h = vqdrv_add(&f.d, 1, b, 2);
	vqdrv_kick(&f.d, 1);
	uint8_t got[256];
	CHECK_EQ(recv(f.peer, got, sizeof(got), MSG_DONTWAIT), 72);
	CHECK_EQ(got[12 + 59], 59);
	uint32_t id = 0, len = 0;
	CHECK(vqdrv_used(&f.d, 1, &id, &len));
	CHECK_EQ(id, h);
	CHECK_EQ(len, 0);
	/* Chain shorter than the header: returned, nothing sent. */
	struct vqdrv_buf s = { TXB, 6, false };
	vqdrv_add(&f.d, 1, &s, 1);
	vqdrv_kick(&f.d, 1);
	CHECK(vqdrv_used(&f.d, 1, &id, &len));
	CHECK_EQ(recv(f.peer, got, sizeof(got), MSG_DONTWAIT), -1);
	nfx_fini(&f);
}

static void test_rx_mrg(void)
{
	struct nfx f;
	uint32_t id = 0, len = 0;
	nfx_init(&f, F_MRG);
	/* Frame arrives with no RX buffers: kept, not dropped. */
	send_frame(f.peer, 100, 0xab);
	evloop_run_once(f.loop, 0);
	CHECK(!vqdrv_used(&f.d, 0, NULL, NULL));
	/* Two 64-byte buffers: the 112-byte frame spans both. */
	struct vqdrv_buf b1 = { RXB, 64, true }, b2 = { RXB + 0x1000, 64, true };
	uint16_t h1 = vqdrv_add(&f.d, 0, &b1, 1);
	uint16_t h2 = vqdrv_add(&f.d, 0, &b2, 1);
	vqdrv_kick(&f.d, 0);
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	CHECK_EQ(id, h1);
	CHECK_EQ(len, 64);
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	CHECK_EQ(id, h2);
	CHECK_EQ(len, 48);
	uint8_t *p = gm_ptr(&gm, RXB, 64);
	CHECK_EQ(get_le16(p + 10), 2); /* num_buffers */
	CHECK_EQ(p[12], 0xab);
	CHECK_EQ(*(uint8_t *)gm_ptr(&gm, RXB + 0x1000 + 47, 1), 0xab);
	CHECK(f.d.irqs[0] >= 1);
	/* Five frames, buffers for two: the rest wait for more buffers. */
	for (int i = 0; i < 5; i++)
		send_frame(f.peer, 200, (uint8_t)(i + 1));
	for (int i = 0; i < 2; i++) {
		struct vqdrv_buf b = { RXB + 0x2000 + 0x1000ULL * (uint64_t)i, 2048, true };
		vqdrv_add(&f.d, 0, &b, 1);
	}
	vqdrv_kick(&f.d, 0);
	evloop_run_once(f.loop, 0);
	int n = 0;
	while (vqdrv_used(&f.d, 0, &id, &len))
		n++;
	CHECK_EQ(n, 2);
	for (int i = 0; i < 3; i++) {
		struct vqdrv_buf b = { RXB + 0x8000 + 0x1000ULL * (uint64_t)i, 2048, true };
		vqdrv_add(&f.d, 0, &b, 1);
	}
	vqdrv_kick(&f.d, 0);
	evloop_run_once(f.loop, 0);
	while (vqdrv_used(&f.d, 0, &id, &len)) {
		n++;
		CHECK_EQ(len, 212);
	}
	CHECK_EQ(n, 5);
	CHECK_EQ(*(uint8_t *)gm_ptr(&gm, RXB + 0xa000 + 12, 1), 5);
	nfx_fini(&f);
}

static uint64_t mono_ms(void)
{
	return now_ns() / 1000000;
}

/*
 * virtio.poll_us: after a wake-up that delivered frames the loop keeps
 * reading the backend itself (the fd out of epoll) until the window passes
 * with no frame; then it blocks again. Off (0): it blocks at once.
 */
static void test_rx_poll(void)
{
	for (int on = 0; on < 2; on++) {
		struct nfx f;
		uint32_t id = 0, len = 0;
		uint64_t t;

		if (!nfx_init_opts(&f, F_MRG, on ? 300000000ULL : 0, 0))
			return;
		rx_post(&f.d, 4, 2048);
		send_frame(f.peer, 60, 1);
		evloop_run_once(f.loop, 1000);
		CHECK(vqdrv_used(&f.d, 0, &id, &len));
		/* polling: no blocking while the window (300 ms) is open */
		t = mono_ms();
		evloop_run_once(f.loop, on ? 2000 : 300);
		if (on)
			CHECK(mono_ms() - t < 1000);
		else
			CHECK(mono_ms() - t >= 250);
		/* a frame in the window is taken by the next round */
		send_frame(f.peer, 60, 2);
		evloop_run_once(f.loop, 1000);
		CHECK(vqdrv_used(&f.d, 0, &id, &len));
		CHECK_EQ(*(uint8_t *)gm_ptr(&gm, RXB + 0x1000ULL * id + 12, 1), 2);
		/* window over with no frame: the loop blocks again */
		usleep(400000);
		evloop_run_once(f.loop, 0);
		t = mono_ms();
		evloop_run_once(f.loop, 300);
		CHECK(mono_ms() - t >= 250);
		nfx_fini(&f);
	}
}

/* Take one frame from the used ring of a queue of 1 KiB buffers at
 * RXB + 0x1000 * head; check its buffers hold `tag`. Returns its length
 * (header included) and stores the buffer count. */
static size_t rx_frame(struct nfx *f, uint8_t tag, unsigned *nbuf)
{
	uint32_t id = 0, len = 0;
	size_t total = 0;
	unsigned n = 0, want = 1;

	while (n < want && vqdrv_used(&f->d, 0, &id, &len)) {
		const uint8_t *b = gm_ptr(&gm, RXB + 0x1000ULL * id, 1024);
		if (n == 0) {
			want = get_le16(b + 10);
			CHECK_EQ(b[12], tag);
		}
		CHECK_EQ(b[len - 1], tag);
		total += len;
		n++;
	}
	CHECK_EQ(n, want);
	*nbuf = n;
	return total;
}

/*
 * Large frames are read straight into the guest's buffers once one larger
 * than 4 KiB came (the chains for the last frame's size are popped first,
 * the bounce buffer takes any excess); small ones go through the bounce
 * buffer. Every frame must arrive whole whichever path it took, and no
 * buffer may be lost (chains popped for a read that found nothing, or
 * more than a frame needed, go back or are used next).
 */
static void test_rx_direct(void)
{
	static const size_t sizes[] = { 5000, 6000, 6000, 100, 100, 9000, 64000, 64000,
					3000, 6000, 60 };
	struct nfx f;
	unsigned nbuf, total = 0, posted = 0;

	nfx_init(&f, F_MRG);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* keep 64 buffers of 1 KiB posted (heads follow the slots) */
		while (posted - total < 64) {
			struct vqdrv_buf b = { RXB + 0x1000ULL * (posted % 64), 1024, true };
			vqdrv_add(&f.d, 0, &b, 1);
			posted++;
		}
		vqdrv_kick(&f.d, 0);
		send_frame(f.peer, sizes[i], (uint8_t)(i + 1));
		evloop_run_once(f.loop, 0);
		size_t got = rx_frame(&f, (uint8_t)(i + 1), &nbuf);
		CHECK_EQ(got, sizes[i] + 12);
		CHECK_EQ(nbuf, (unsigned)((sizes[i] + 12 + 1023) / 1024));
		total += nbuf;
		/* the next buffer the device uses is the one after this frame's */
		CHECK(!vqdrv_used(&f.d, 0, NULL, NULL));
	}
	/* 64 buffers free: a 64000-byte frame takes 63 of them. */
	struct vqdrv_buf one = { RXB + 0x1000ULL * (posted % 64), 1024, true };
	vqdrv_add(&f.d, 0, &one, 1);
	posted++;
	vqdrv_kick(&f.d, 0);
	send_frame(f.peer, 64000, 0x70);
	evloop_run_once(f.loop, 0);
	CHECK_EQ(rx_frame(&f, 0x70, &nbuf), 64012);
	CHECK_EQ(nbuf, 63);
	total += nbuf;
	/* One buffer left, a 5000-byte frame: read into it and the bounce
	 * buffer, then it waits whole for more buffers (nothing dropped). */
	send_frame(f.peer, 5000, 0x71);
	evloop_run_once(f.loop, 0);
	CHECK(!vqdrv_used(&f.d, 0, NULL, NULL));
	for (int i = 0; i < 4; i++) {
		struct vqdrv_buf b = { RXB + 0x1000ULL * (posted % 64), 1024, true };
		vqdrv_add(&f.d, 0, &b, 1);
		posted++;
	}
	vqdrv_kick(&f.d, 0);
	evloop_run_once(f.loop, 0);
	CHECK_EQ(rx_frame(&f, 0x71, &nbuf), 5012);
	CHECK_EQ(nbuf, 5);
	total += nbuf;
	CHECK_EQ(posted, total); /* every buffer accounted for */
	/* Reset while chains are held from a read that found nothing: the
	 * restarted queue starts over and works. */
	CHECK(vqdrv_start(&f.d, &gm, f.v, F_MRG, 2, 64) & VIRTIO_S_DRIVER_OK);
	rx_post(&f.d, 8, 1024);
	send_frame(f.peer, 6000, 0x72);
	evloop_run_once(f.loop, 0);
	CHECK_EQ(rx_frame(&f, 0x72, &nbuf), 6012);
	CHECK_EQ(nbuf, 6);
	nfx_fini(&f);
}

/*
 * While the RX poller reads the backend itself the fd is out of epoll; a
 * TX that the backend cannot take must put it back (for EPOLLOUT) at once,
 * not when the poll window ends.
 */
static void test_rx_poll_tx_blocked(void)
{
	struct nfx f;
	uint32_t id = 0, len = 0;
	uint8_t got[2048];
	unsigned done = 0, recvd = 0;

	if (!nfx_init_opts(&f, F_MRG, 2000000000ULL, 4096))
		return;
	rx_post(&f.d, 4, 2048);
	send_frame(f.peer, 60, 1);
	evloop_run_once(f.loop, 1000); /* frame delivered, poller on */
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	memset(gm_ptr(&gm, TXB, 32 * 0x1000), 0, 32 * 0x1000);
	for (int i = 0; i < 32; i++) {
		struct vqdrv_buf b = { TXB + 0x1000ULL * (uint64_t)i, 1012, false };
		vqdrv_add(&f.d, 1, &b, 1);
	}
	vqdrv_kick(&f.d, 1); /* the socket takes a few: TX blocks */
	uint64_t t = mono_ms();
	for (int round = 0; round < 200 && done < 32; round++) {
		while (recv(f.peer, got, sizeof(got), MSG_DONTWAIT) > 0)
			recvd++;
		evloop_run_once(f.loop, 10);
		while (vqdrv_used(&f.d, 1, &id, &len))
			done++;
	}
	while (recv(f.peer, got, sizeof(got), MSG_DONTWAIT) > 0)
		recvd++;
	CHECK_EQ(done, 32);
	CHECK_EQ(recvd, 32);
	CHECK(mono_ms() - t < 1500); /* well inside the 2 s poll window */
	/* RX still works with the fd back in epoll */
	send_frame(f.peer, 60, 2);
	evloop_run_once(f.loop, 100);
	evloop_run_once(f.loop, 100);
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	nfx_fini(&f);
}

static void test_rx_nomrg(void)
{
	struct nfx f;
	uint32_t id = 0, len = 0;
	nfx_init(&f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	struct vqdrv_buf small = { RXB, 64, true };
	struct vqdrv_buf big[2] = { { RXB + 0x1000, 12, true }, { RXB + 0x2000, 1514, true } };
	vqdrv_add(&f.d, 0, &small, 1);
	vqdrv_add(&f.d, 0, big, 2);
	send_frame(f.peer, 100, 1); /* too big for the small buffer: dropped */
	send_frame(f.peer, 100, 2);
	evloop_run_once(f.loop, 0);
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	CHECK_EQ(len, 0);
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	CHECK_EQ(len, 112);
	CHECK_EQ(*(uint8_t *)gm_ptr(&gm, RXB + 0x2000, 1), 2);
	/* Reset stops RX; destroy frees everything. */
	virtio_set_status(f.v, 0);
	send_frame(f.peer, 10, 3);
	evloop_run_once(f.loop, 0);
	nfx_fini(&f);
}

static void test_config(void)
{
	struct config *c = config_new();
	char err[256];
	struct virtio_env env = { .gm = &gm, .vm_name = "vm1", .slot = 2 };

	CHECK_EQ(net_legacy_config(c, NODE, "tap0,mac=52:54:00:12:34:56,mtu=9000", err,
				   sizeof(err)), 0);
	CHECK_STR(config_get(c, NODE ".path"), "tap0");
	CHECK_STR(config_get(c, NODE ".mac"), "52:54:00:12:34:56");
	CHECK(net_legacy_config(c, NODE, "tap0,bogus", err, sizeof(err)) < 0);
	CHECK_STR(err, "virtio-net: invalid option 'bogus'");
	CHECK(net_legacy_config(c, NODE, "tap0,type=tap", err, sizeof(err)) < 0);
	config_free(c);

	c = config_new();
	config_set(c, NODE ".path", "tap0");
	config_set(c, NODE ".mac", "01:00:5e:00:00:01");
	CHECK(net_create(&env, c, NODE, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "invalid MAC") != NULL);
	config_set(c, NODE ".mac", "52:54:00:12:34");
	CHECK(net_create(&env, c, NODE, err, sizeof(err)) == NULL);
	config_set(c, NODE ".mac", "52:54:00:12:34:56");
	config_set(c, NODE ".mtu", "20");
	CHECK(net_create(&env, c, NODE, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "mtu") != NULL);
	config_set(c, NODE ".mtu", "1500");
	config_set(c, NODE ".path", "eth0");
	CHECK(net_create(&env, c, NODE, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "eth0") != NULL);
	config_free(c);

	/* Default MAC: stable, locally administered, differs per slot. */
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	struct virtio_dev *v = net_create_fd(&env, sv[0], false, err, sizeof(err));
	uint8_t m1[6], m2[6];
	for (int i = 0; i < 6; i++)
		m1[i] = (uint8_t)virtio_config_read(v, (uint32_t)i, 1);
	CHECK_EQ(m1[0], 0x02);
	CHECK_EQ(virtio_config_read(v, 6, 2), 1);     /* link up */
	CHECK_EQ(virtio_config_read(v, 10, 2), 1500); /* mtu */
	virtio_dev_destroy(v);
	close(sv[1]);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	env.slot = 3;
	v = net_create_fd(&env, sv[0], false, err, sizeof(err));
	for (int i = 0; i < 6; i++)
		m2[i] = (uint8_t)virtio_config_read(v, (uint32_t)i, 1);
	CHECK(memcmp(m1, m2, 6) != 0);
	virtio_dev_destroy(v);
	close(sv[1]);
}

static void test_tap(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("test_tap: skipped (needs root and /dev/net/tun)\n");
		return;
	}
	struct config *c = config_new();
	char err[256];
	struct evloop *loop = evloop_new();
	struct virtio_env env = { .gm = &gm, .loop = loop, .vm_name = "vm1", .slot = 2 };
	config_set(c, NODE ".path", "tap97");
	config_set(c, NODE ".mtu", "9000");
	/* the debug log tells whether the steering program went on the tap,
	 * and came off it again when the device went away (tap97 is not
	 * persistent here, but a user's tap would keep the program) */
	FILE *logf = tmpfile();
	CHECK(logf != NULL);
	log_set_file(logf); /* the file gets every level */
	struct virtio_dev *v = net_create(&env, c, NODE, err, sizeof(err));
	bool created = v != NULL;
	if (!v) {
		printf("test_tap: skipped (%s)\n", err);
	} else {
		CHECK(virtio_get_device_features(v, 0) & (1u << 11)); /* HOST_TSO4 */
		CHECK_EQ(virtio_config_read(v, 10, 2), 9000);
		struct vqdrv d;
		CHECK(vqdrv_start(&d, &gm, v, ~0ULL, 2, 64) & VIRTIO_S_DRIVER_OK);
		virtio_dev_destroy(v);
	}
	log_set_file(NULL);
	if (logf && created) {
		char line[512];
		bool on = false, off = false;
		rewind(logf);
		while (fgets(line, sizeof(line), logf)) {
			on |= strstr(line, "tap97: steering program attached") != NULL;
			off |= strstr(line, "tap97: steering program detached") != NULL;
		}
		CHECK(on);
		CHECK(off);
	}
	if (logf)
		fclose(logf);
	config_free(c);
	evloop_free(loop);
}

int main(void)
{
	log_set_level(LOG_ERR);
	fake_gm_init(&gm, MEM, 0);
	RUN(test_tx);
	RUN(test_rx_mrg);
	RUN(test_rx_nomrg);
	RUN(test_rx_direct);
	RUN(test_rx_poll);
	RUN(test_rx_poll_tx_blocked);
	RUN(test_config);
	RUN(test_tap);
	fake_gm_free(&gm);
	return unit_report();
}
