/*
 * virtio-console (src/virtio/console.c): one console port, or (multiport)
 * two ports, one named, each a UNIX socket in the harness's temporary
 * directory. Host actions: connect a client to a port, send fuzzed bytes,
 * read what the guest wrote, hang up; the event loop is polled.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "fuzz_virtio.h"
#include "lhyve/config.h"
#include "lhyve/event.h"

#define FZ_CONS_PORTS 2

struct fz_cons {
	struct evloop *loop;
	unsigned nports;
	char path[FZ_CONS_PORTS][128];
	int cli[FZ_CONS_PORTS];
};

static void fz_cons_poll(void *opaque)
{
	struct fz_cons *c = opaque;
	uint8_t buf[1024];

	for (int i = 0; i < 4; i++)
		evloop_run_once(c->loop, 0);
	for (unsigned i = 0; i < c->nports; i++)
		while (c->cli[i] >= 0 && recv(c->cli[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

static void fz_cons_hook(void *opaque, struct fz *in)
{
	struct fz_cons *c = opaque;
	uint8_t op = fz_u8(in), buf[512];
	unsigned p = (op >> 2) % c->nports;

	switch (op & 3) {
	case 0: { /* connect (a second client is refused by the device) */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			abort();
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path[p]);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || c->cli[p] >= 0) {
			close(fd);
			break;
		}
		c->cli[p] = fd;
		break;
	}
	case 1: { /* host sends bytes */
		size_t n = fz_bytes(in, buf, fz_u16(in) % sizeof(buf));
		if (c->cli[p] >= 0 && n)
			if (send(c->cli[p], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break;
		break;
	}
	case 2: /* hang up */
		if (c->cli[p] >= 0) {
			close(c->cli[p]);
			c->cli[p] = -1;
		}
		break;
	case 3: /* half close */
		if (c->cli[p] >= 0)
			shutdown(c->cli[p], SHUT_WR);
		break;
	}
}

FUZZ_TARGET(virtio_console)
{
	struct fzv f;
	struct fz in;
	struct fz_cons c;
	char err[256], k[64];
	struct config *cfg = config_new();
	const char *node = "pci.0.7.0";

	fz_init(&in, data, size);
	uint8_t opt = fz_u8(&in);
	memset(&c, 0, sizeof(c));
	c.nports = (opt & 1) ? 2 : 1;
	fzv_gm_init(&f, 2 + 2 * 2);
	if (!cfg || !(c.loop = evloop_new()))
		abort();
	for (unsigned i = 0; i < c.nports; i++) {
		snprintf(c.path[i], sizeof(c.path[i]), "%s/cons%u.sock", fz_tmpdir(), i);
		snprintf(k, sizeof(k), "%s.port.%u.path", node, i + 1);
		config_set(cfg, k, c.path[i]);
		c.cli[i] = -1;
	}
	if (opt & 2) { /* a named port makes even one port multiport */
		snprintf(k, sizeof(k), "%s.port.1.name", node);
		config_set(cfg, k, "org.fuzz.port");
	}
	struct virtio_env env = { .gm = &f.gm, .loop = c.loop, .vm_name = "fuzz", .slot = 7 };
	f.v = console_create(&env, cfg, node, err, sizeof(err));
	config_free(cfg);
	if (!f.v) {
		fprintf(stderr, "console_create: %s\n", err);
		abort();
	}
	f.hook = fz_cons_hook;
	f.poll = fz_cons_poll;
	f.opaque = &c;
	fzv_run(&f, &in);
	fzv_fini(&f);
	for (unsigned i = 0; i < c.nports; i++)
		if (c.cli[i] >= 0)
			close(c.cli[i]);
	evloop_free(c.loop);
	return 0;
}
