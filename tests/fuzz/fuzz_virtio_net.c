/*
 * virtio-net headers and RX/TX paths (src/virtio/net.c) over a
 * SOCK_SEQPACKET socketpair (net_create_fd): the peer end injects frames
 * of fuzzed bytes (the device's RX path) and drains what the guest
 * transmits; the event loop is polled, never waited on. Frames go up to
 * 12000 bytes, so that frames over 4 KiB switch RX to direct reads into
 * the guest's buffers; tap-style RX polling (virtio.poll_us) is on or off.
 */
#include <sys/socket.h>

#include "fuzz_virtio.h"
#include "lhyve/event.h"

struct fz_net {
	struct evloop *loop;
	int peer;
};

static void fz_net_poll(void *opaque)
{
	struct fz_net *n = opaque;
	uint8_t buf[2048];

	for (int i = 0; i < 4; i++)
		evloop_run_once(n->loop, 0);
	while (recv(n->peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void fz_net_hook(void *opaque, struct fz *in)
{
	struct fz_net *n = opaque;
	static uint8_t frame[12000];
	size_t len = fz_u16(in) % sizeof(frame);
	size_t got = fz_bytes(in, frame, len);

	/* The rest of a short frame is zeros: lengths matter more than bytes. */
	memset(frame + got, 0, len - got);
	if (send(n->peer, frame, len, MSG_DONTWAIT) < 0 && errno != EAGAIN)
		abort();
}

FUZZ_TARGET(virtio_net)
{
	struct fzv f;
	struct fz in;
	struct fz_net n;
	char err[256];
	int sv[2];

	fz_init(&in, data, size);
	bool offloads = fz_bool(&in);
	bool poll = fz_bool(&in);
	fzv_gm_init(&f, 2);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    !(n.loop = evloop_new()))
		abort();
	n.peer = sv[1];
	struct virtio_env env = { .gm = &f.gm, .loop = n.loop, .vm_name = "fuzz", .slot = 6,
				  .poll_ns = poll ? 200000 : 0 };
	f.v = net_create_fd(&env, sv[0], offloads, err, sizeof(err));
	if (!f.v) {
		fprintf(stderr, "net_create_fd: %s\n", err);
		abort();
	}
	f.hook = fz_net_hook;
	f.poll = fz_net_poll;
	f.opaque = &n;
	fzv_run(&f, &in);
	fzv_fini(&f);
	close(n.peer);
	evloop_free(n.loop);
	return 0;
}
