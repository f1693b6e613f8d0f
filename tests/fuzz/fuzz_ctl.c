/*
 * The control-socket protocol (src/ctl/ctl.c) over a real UNIX socket in
 * the harness's temporary directory, served by ctl_start() on a fake
 * struct vm (tests/unit/ctl_fake_vm.h, shared with tests/unit/test_ctl.c).
 * The input is a stream of client actions: send bytes, poll the server,
 * read replies, hang up and reconnect. Single-threaded: the event loop is polled, never waited on.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "ctl_fake_vm.h"
#include "fuzz.h"
#include "lhyve/chardev.h"
#include "lhyve/ctl.h"
#include "lhyve/event.h"
#include "lhyve/vm.h"

#define FZ_CTL_CLIENTS 3

struct fz_ctl_fx {
	struct vm vm;
	struct vcpu vcpus[2];
	struct ctl *ctl;
	char path[128];
	int com_in[2], com_out[2];
	int cli[FZ_CTL_CLIENTS];
};

static void fz_ctl_setup(struct fz_ctl_fx *f)
{
	char err[256] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", fz_tmpdir());
	if (ctl_fake_vm_init(&f->vm, f->vcpus, f->com_in, f->com_out, "fuzz", O_NONBLOCK, err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "fake vm: %s\n", err);
		abort();
	}
	f->ctl = ctl_start(&f->vm, f->path, err, sizeof(err));
	if (!f->ctl) {
		fprintf(stderr, "ctl_start: %s\n", err);
		abort();
	}
	for (unsigned i = 0; i < FZ_CTL_CLIENTS; i++)
		f->cli[i] = -1;
}

static void fz_ctl_teardown(struct fz_ctl_fx *f)
{
	for (unsigned i = 0; i < FZ_CTL_CLIENTS; i++)
		if (f->cli[i] >= 0)
			close(f->cli[i]);
	evloop_run_once(f->vm.loop, 0); /* let the server see the hang-ups */
	ctl_stop(f->ctl);
	ctl_fake_vm_fini(&f->vm, f->vcpus, f->com_in, f->com_out);
}

static void fz_ctl_poll(struct fz_ctl_fx *f)
{
	char buf[4096];

	for (int i = 0; i < 4; i++)
		evloop_run_once(f->vm.loop, 0);
	while (read(f->com_out[0], buf, sizeof(buf)) > 0)
		;
	for (unsigned i = 0; i < FZ_CTL_CLIENTS; i++)
		while (f->cli[i] >= 0 && recv(f->cli[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

FUZZ_TARGET(ctl)
{
	static const char *const words[] = {
		"help\n", "info\n", "stats\n", "stats 1\n", "regs 0\n", "nmi 1\n",
		"console com1\n", "console com2\n", "reset\n", "poweroff\n", "destroy\n",
	};
	struct fz_ctl_fx f;
	struct fz in;
	char buf[512];

	fz_ctl_setup(&f);
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		unsigned c = (op >> 4) % FZ_CTL_CLIENTS;

		if (f.cli[c] < 0 && (op & 7) != 5) {
			char err[256];
			f.cli[c] = ctl_client_connect(f.path, err, sizeof(err));
			if (f.cli[c] < 0)
				break; /* more clients than the server takes: fine */
			fcntl(f.cli[c], F_SETFL, O_NONBLOCK);
		}
		switch (op & 7) {
		case 0:
		case 1: { /* raw bytes */
			size_t n = fz_bytes(&in, buf, fz_u16(&in) % sizeof(buf));
			if (n)
				send(f.cli[c], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		}
		case 2: { /* a known command, to reach every handler */
			const char *w = words[fz_u8(&in) % ARRAY_SIZE(words)];
			send(f.cli[c], w, strlen(w), MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		}
		case 3: /* guest output on COM1 (console history / live stream) */
		{
			size_t n = fz_bytes(&in, buf, fz_u8(&in));
			if (n)
				chardev_write(f.vm.com_cd[0], buf, n);
			break;
		}
		case 4:
			shutdown(f.cli[c], SHUT_WR);
			break;
		case 5:
			if (f.cli[c] >= 0) {
				close(f.cli[c]);
				f.cli[c] = -1;
			}
			break;
		default:
			break;
		}
		fz_ctl_poll(&f);
		/* A stop command stops the loop: start over like a new VM would. */
		if (f.vm.stopping) {
			fz_ctl_teardown(&f);
			fz_ctl_setup(&f);
		}
	}
	fz_ctl_teardown(&f);
	return 0;
}
