/*
 * Control socket server and client without KVM: a fake struct vm whose
 * vCPU thread is not running, COM1 on a pipe, the event loop on a thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "ctl_fake_vm.h"
#include "lhyve/chardev.h"
#include "lhyve/ctl.h"
#include "lhyve/event.h"
#include "lhyve/vm.h"

struct fixture {
	struct vm vm;
	struct vcpu vcpus[2];
	struct ctl *ctl;
	pthread_t thread;
	char dir[64], path[256];
	int com_in[2], com_out[2]; /* pipes: host -> guest input, guest output -> host */
};

static void *loop_thread(void *arg)
{
	struct fixture *f = arg;
	evloop_run(f->vm.loop);
	return NULL;
}

static void fx_init(struct fixture *f)
{
	char err[256] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lhyve-test-ctl.XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	CHECK_EQ(ctl_fake_vm_init(&f->vm, f->vcpus, f->com_in, f->com_out, "unit", 0, err,
				  sizeof(err)), 0);
	for (unsigned i = 0; i < 2; i++)
		f->vcpus[i].stats[VCPU_STAT_IO] = 100 + i;
	f->ctl = ctl_start(&f->vm, f->path, err, sizeof(err));
	CHECK(f->ctl != NULL);
	if (!f->ctl)
		fprintf(stderr, "ctl_start: %s\n", err);
	pthread_create(&f->thread, NULL, loop_thread, f);
}

static void fx_fini(struct fixture *f)
{
	evloop_stop(f->vm.loop);
	pthread_join(f->thread, NULL);
	ctl_stop(f->ctl);
	CHECK(access(f->path, F_OK) < 0);
	ctl_fake_vm_fini(&f->vm, f->vcpus, f->com_in, f->com_out);
	rmdir(f->dir);
}

static int fx_conn(struct fixture *f)
{
	char err[256];
	int fd = ctl_client_connect(f->path, err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0) {
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* One request on a fresh connection: rc, body (freed by caller), err. */
static int fx_req(struct fixture *f, const char *req, char **body, char *err, size_t errlen)
{
	size_t len;
	int fd = fx_conn(f), rc;

	if (fd < 0)
		return -EIO;
	rc = ctl_client_request(fd, req, body, &len, err, errlen);
	close(fd);
	return rc;
}

/* Raw exchange: send bytes, read what comes within ms (NUL-terminated). */
static ssize_t raw_exchange(int fd, const char *out, size_t n, char *in, size_t inlen, int ms)
{
	size_t got = 0;

	in[0] = '\0';
	if (n && send(fd, out, n, MSG_NOSIGNAL) != (ssize_t)n && errno != EPIPE &&
	    errno != ECONNRESET)
		return -1; /* a closed peer may still have left a reply to read */
	while (got < inlen - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, ms) <= 0)
			break;
		ssize_t r = recv(fd, in + got, inlen - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	in[got] = '\0';
	return (ssize_t)got;
}

static void test_basic(void)
{
	struct fixture f;
	char err[256], *body = NULL;
	struct stat st;

	fx_init(&f);
	CHECK(stat(f.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
	chardev_write(f.vm.com_cd[0], "hi\n", 3);

	CHECK_EQ(fx_req(&f, "help", &body, err, sizeof(err)), 0);
	CHECK(body && strstr(body, "console comN\n"));
	free(body);
	CHECK_EQ(fx_req(&f, "info", &body, err, sizeof(err)), 0);
	CHECK(body && strstr(body, "name=unit\n") && strstr(body, "vcpus=2\n") &&
	      strstr(body, "memsize=67108864\n") && strstr(body, "com1=fds -\n"));
	free(body);
	CHECK_EQ(fx_req(&f, "stats", &body, err, sizeof(err)), 0);
	CHECK(body && strstr(body, "vcpu0 stats:\n") && strstr(body, "vcpu1 stats:\n"));
	CHECK(body && strstr(body, "exits: port I/O                         \t100\n"));
	CHECK(body && strstr(body, "com1 output bytes                       \t3\n"));
	free(body);
	CHECK_EQ(fx_req(&f, "stats 1", &body, err, sizeof(err)), 0);
	CHECK(body && !strstr(body, "vcpu0 stats:") && strstr(body, "\t101\n"));
	free(body);

	/* Errors: the reply's errno and message. */
	CHECK_EQ(fx_req(&f, "regs 0", &body, err, sizeof(err)), -ESRCH); /* vCPU not running */
	CHECK_EQ(fx_req(&f, "regs 2", &body, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "the VM has 2") != NULL);
	CHECK_EQ(fx_req(&f, "regs -1", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "regs 0x1", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "regs", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "nmi 99999999999999999999", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "frob", &body, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown command 'frob'") != NULL);
	CHECK_EQ(fx_req(&f, "", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "info extra", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "stats 0 1", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "console com2", &body, err, sizeof(err)), -ENODEV);
	CHECK_EQ(fx_req(&f, "console com9", &body, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fx_req(&f, "console", &body, err, sizeof(err)), -EINVAL);
	fx_fini(&f);
}

static void test_abuse(void)
{
	struct fixture f;
	char buf[4096], big[1000], err[256], *body = NULL;
	int fds[24];

	fx_init(&f);
	/* Non-printable bytes. */
	int fd = fx_conn(&f);
	raw_exchange(fd, "info\x01\xfe\n", 7, buf, sizeof(buf), 500);
	CHECK(strncmp(buf, "ERR 22 ", 7) == 0);
	/* Pipelined requests, CRLF accepted. */
	raw_exchange(fd, "help\r\nhelp\n", 11, buf, sizeof(buf), 500);
	CHECK(strncmp(buf, "OK ", 3) == 0);
	CHECK(strstr(strstr(buf, "console comN\n") + 1, "console comN\n") != NULL);
	close(fd);
	/* Overlong request: error (or reset) and closed. */
	fd = fx_conn(&f);
	memset(big, 'a', sizeof(big));
	ssize_t n = raw_exchange(fd, big, sizeof(big), buf, sizeof(buf), 1000);
	CHECK(n <= 0 || strncmp(buf, "ERR 7 ", 6) == 0);
	close(fd);
	/* Half a request, then gone; a big reply never read. */
	fd = fx_conn(&f);
	send(fd, "sta", 3, MSG_NOSIGNAL);
	close(fd);
	fd = fx_conn(&f);
	send(fd, "stats\nstats\nstats\n", 18, MSG_NOSIGNAL);
	close(fd);
	/* More clients than the server keeps: the extras are told and closed
	 * (after the server saw the two hang-ups above). */
	usleep(200000);
	for (int i = 0; i < 24; i++)
		fds[i] = fx_conn(&f);
	usleep(200000);
	int ok = 0, busy = 0;
	for (int i = 0; i < 24; i++) {
		raw_exchange(fds[i], "help\n", 5, buf, sizeof(buf), 300);
		ok += strncmp(buf, "OK ", 3) == 0;
		busy += strncmp(buf, "ERR 16 ", 7) == 0;
		close(fds[i]);
	}
	CHECK_EQ(ok, CTL_MAX_CONNS);
	CHECK_EQ(busy, 24 - CTL_MAX_CONNS);
	usleep(100000);
	/* Still serving. */
	CHECK_EQ(fx_req(&f, "info", &body, err, sizeof(err)), 0);
	free(body);
	fx_fini(&f);
}

static void test_console(void)
{
	struct fixture f;
	char buf[4096], in[64];
	int fd, fd2;

	fx_init(&f);
	chardev_write(f.vm.com_cd[0], "early output\n", 13);
	fd = fx_conn(&f);
	/* Input that arrives with the request goes to the console too. */
	raw_exchange(fd, "console com1\nab", 15, buf, sizeof(buf), 300);
	CHECK_STR(buf, "OK 0\nearly output\n");
	fd2 = fx_conn(&f);
	raw_exchange(fd2, "console com1\n", 13, buf, sizeof(buf), 300);
	CHECK_STR(buf, "OK 0\nearly output\n");
	chardev_write(f.vm.com_cd[0], "live", 4);
	raw_exchange(fd, "", 0, buf, sizeof(buf), 300);
	CHECK_STR(buf, "live");
	raw_exchange(fd2, "", 0, buf, sizeof(buf), 300);
	CHECK_STR(buf, "live");
	send(fd2, "cd", 2, MSG_NOSIGNAL);
	usleep(200000);
	size_t n = chardev_read(f.vm.com_cd[0], in, sizeof(in));
	in[n] = '\0';
	CHECK_STR(in, "abcd");
	close(fd);
	usleep(100000);
	chardev_write(f.vm.com_cd[0], "x", 1); /* to a gone client: no harm */
	close(fd2);
	fx_fini(&f);
}

static void test_stop_commands(void)
{
	static const struct {
		const char *req;
		int code;
		bool destroyed;
	} cases[] = {
		{ "reset", VM_EXIT_RESET, false },
		{ "poweroff", VM_EXIT_POWEROFF, false },
		{ "destroy", VM_EXIT_ERROR, true },
	};

	for (unsigned i = 0; i < 3; i++) {
		struct fixture f;
		char err[256], *body = NULL;

		fx_init(&f);
		CHECK_EQ(fx_req(&f, cases[i].req, &body, err, sizeof(err)), 0);
		free(body);
		pthread_join(f.thread, NULL); /* the stop request ends the loop */
		CHECK_EQ(f.vm.exit_code, cases[i].code);
		CHECK_EQ(ctl_destroyed(f.ctl), cases[i].destroyed);
		pthread_create(&f.thread, NULL, loop_thread, &f); /* for fx_fini */
		fx_fini(&f);
	}
}

static void test_long_path(void)
{
	struct evloop *loop = evloop_new();
	struct vm vm;
	char dir[300], path[400], err[256];

	memset(&vm, 0, sizeof(vm));
	vm.loop = loop;
	vm.name = "long";
	pthread_mutex_init(&vm.stop_lock, NULL);
	snprintf(dir, sizeof(dir), "/tmp/lhyve-test-ctl-%s-XXXXXX",
		 "a-directory-name-long-enough-to-overflow-sun-path-of-unix-sockets-on-linux");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	CHECK(strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path));
	struct ctl *c = ctl_start(&vm, path, err, sizeof(err));
	CHECK(c != NULL);
	int fd = ctl_client_connect(path, err, sizeof(err));
	CHECK(fd >= 0);
	if (c && fd >= 0) {
		char buf[512] = "";
		send(fd, "info\n", 5, MSG_NOSIGNAL);
		for (int i = 0; i < 20; i++)
			evloop_run_once(loop, 10);
		CHECK(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) > 0);
		CHECK(strncmp(buf, "OK ", 3) == 0 && strstr(buf, "name=long\n"));
	}
	if (fd >= 0)
		close(fd);
	ctl_stop(c);
	rmdir(dir);
	evloop_free(loop);
}

int main(void)
{
	RUN(test_basic);
	RUN(test_abuse);
	RUN(test_console);
	RUN(test_stop_commands);
	RUN(test_long_path);
	return unit_report();
}
