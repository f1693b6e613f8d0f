/* Console backend extensions: pty and nmdm pairs, history, log file, attached clients. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/util.h"

static void run_loop(struct evloop *loop, int times)
{
	for (int i = 0; i < times; i++)
		evloop_run_once(loop, 10);
}

static ssize_t read_wait(int fd, char *buf, size_t n, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	r = read(fd, buf, n - 1);
	buf[r > 0 ? r : 0] = '\0';
	return r;
}

static void test_pty(void)
{
	struct evloop *loop = evloop_new();
	char err[256] = "", kind[16], ep[256], buf[64];
	struct chardev *cd = chardev_open("pty", loop, err, sizeof(err));
	int s;

	CHECK(cd != NULL);
	if (!cd)
		return;
	CHECK(chardev_pty_path(cd) && !strncmp(chardev_pty_path(cd), "/dev/pts/", 9));
	chardev_describe(cd, kind, sizeof(kind), ep, sizeof(ep));
	CHECK_STR(kind, "pty");
	CHECK_STR(ep, chardev_pty_path(cd));
	s = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	CHECK_EQ(chardev_write(cd, "out\n", 4), 4);
	CHECK_EQ(read_wait(s, buf, sizeof(buf), 1000), 4);
	CHECK_STR(buf, "out\n"); /* raw: no CR added */
	CHECK(write(s, "in", 2) == 2);
	run_loop(loop, 10);
	size_t n = chardev_read(cd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	CHECK_STR(buf, "in");
	/* The user end going away is no end of input. */
	close(s);
	run_loop(loop, 5);
	s = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY);
	CHECK(write(s, "again", 5) == 5);
	run_loop(loop, 10);
	n = chardev_read(cd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	CHECK_STR(buf, "again");
	close(s);
	chardev_close(cd);
	evloop_free(loop);
}

static void test_nmdm(void)
{
	struct evloop *loop = evloop_new();
	char dir[64], a[128], b[128], err[256] = "", kind[16], ep[512], target[64];
	struct chardev *cd, *cd2;
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/lhyve-test-nmdm.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/nmdm0A", dir);
	snprintf(b, sizeof(b), "%s/nmdm0B", dir);
	/* A dangling link left by a killed bhyve is replaced. */
	CHECK(symlink("/dev/pts/999999", b) == 0);
	cd = chardev_open(a, loop, err, sizeof(err));
	CHECK(cd != NULL);
	if (!cd) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	ssize_t n = readlink(b, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n > 0 ? n : 0] = '\0';
	CHECK_STR(target, chardev_pty_path(cd));
	CHECK(stat(b, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(access(a, F_OK) < 0); /* nothing is created at the A path */
	chardev_describe(cd, kind, sizeof(kind), ep, sizeof(ep));
	CHECK_STR(kind, "nmdm");
	CHECK(strncmp(ep, b, strlen(b)) == 0);
	/* A live link is not taken over. */
	cd2 = chardev_open(a, loop, err, sizeof(err));
	CHECK(cd2 == NULL);
	CHECK(strstr(err, "already exists") != NULL);
	/* The B path also names the pair (publishing the A end). */
	char b2[128], a2[128];
	snprintf(b2, sizeof(b2), "%s/nmdm1B", dir);
	snprintf(a2, sizeof(a2), "%s/nmdm1A", dir);
	cd2 = chardev_open(b2, loop, err, sizeof(err));
	CHECK(cd2 != NULL);
	CHECK(lstat(a2, &st) == 0 && S_ISLNK(st.st_mode));
	chardev_close(cd2);
	CHECK(lstat(a2, &st) < 0);
	chardev_close(cd);
	CHECK(lstat(b, &st) < 0); /* removed at close */
	/* Not an nmdm name: an ordinary path. */
	char plain[128];
	snprintf(plain, sizeof(plain), "%s/nmdmA", dir);
	cd = chardev_open(plain, loop, err, sizeof(err));
	CHECK(cd != NULL);
	chardev_describe(cd, kind, sizeof(kind), ep, sizeof(ep));
	CHECK_STR(kind, "file");
	chardev_close(cd);
	unlink(plain);
	rmdir(dir);
	evloop_free(loop);
}

/*
 * A client on the pty slave that starts reading only after the VMM closed
 * the console (a socat or cu that was not scheduled in time): it must still
 * get all output. Closing the master hangs up the slave and discards what
 * is unread, so chardev_close has to wait for the client first.
 */
#define DRAIN_LEN 20000 /* more than the tty buffers take: the rest waits in ours */

struct slow_reader {
	int fd;
	unsigned delay_ms;
	size_t got;
	bool in_order;
};

static void *slow_reader_main(void *opaque)
{
	struct slow_reader *r = opaque;
	char buf[4096];

	usleep(r->delay_ms * 1000);
	r->in_order = true;
	for (;;) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 3000) <= 0)
			break;
		n = read(r->fd, buf, sizeof(buf));
		if (n <= 0)
			break; /* hung up: EOF or EIO */
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char)('a' + (r->got + (size_t)i) % 26))
				r->in_order = false;
		r->got += (size_t)n;
	}
	return NULL;
}

static void test_pty_close_drains(void)
{
	struct evloop *loop = evloop_new();
	char err[256] = "", *out = malloc(DRAIN_LEN);
	struct chardev *cd = chardev_open("pty", loop, err, sizeof(err));
	struct slow_reader r = { .delay_ms = 100 };
	pthread_t t;
	uint64_t t0;

	CHECK(cd != NULL && out != NULL);
	if (!cd || !out)
		return;
	for (size_t i = 0; i < DRAIN_LEN; i++)
		out[i] = (char)('a' + i % 26);
	r.fd = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY);
	CHECK(r.fd >= 0);
	CHECK_EQ(chardev_write(cd, out, DRAIN_LEN), DRAIN_LEN);
	CHECK(pthread_create(&t, NULL, slow_reader_main, &r) == 0);
	t0 = now_ns();
	chardev_close(cd); /* the guest powered off; the client reads later */
	pthread_join(t, NULL);
	CHECK_EQ(r.got, DRAIN_LEN);
	CHECK(r.in_order);
	CHECK(now_ns() - t0 < 1500000000ULL);
	close(r.fd);
	free(out);
	evloop_free(loop);
}

/* Nobody but us has the slave open: closing does not wait for a reader. */
static void test_pty_close_no_client(void)
{
	struct evloop *loop = evloop_new();
	char err[256] = "";
	struct chardev *cd = chardev_open("pty", loop, err, sizeof(err));
	int s;
	uint64_t t0;

	CHECK(cd != NULL);
	if (!cd)
		return;
	/* A client that came and went, leaving output unread. */
	s = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	CHECK_EQ(chardev_write(cd, "unread\n", 7), 7);
	close(s);
	t0 = now_ns();
	chardev_close(cd);
	CHECK(now_ns() - t0 < 100000000ULL);
	evloop_free(loop);
}

/* A client that holds the slave but never reads delays the close, boundedly. */
static void test_pty_close_stuck_client(void)
{
	struct evloop *loop = evloop_new();
	char err[256] = "", buf[64];
	struct chardev *cd = chardev_open("pty", loop, err, sizeof(err));
	int s;
	uint64_t t0, dt;

	CHECK(cd != NULL);
	if (!cd)
		return;
	s = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY | O_NONBLOCK);
	CHECK(s >= 0);
	CHECK_EQ(chardev_write(cd, "never read\n", 11), 11);
	t0 = now_ns();
	chardev_close(cd);
	dt = now_ns() - t0;
	CHECK(dt >= 400000000ULL && dt < 2500000000ULL);
	CHECK(read(s, buf, sizeof(buf)) <= 0); /* hung up, the rest discarded */
	close(s);
	evloop_free(loop);
}

static void test_history_log(void)
{
	struct evloop *loop = evloop_new();
	char err[256] = "", logpath[64], *buf = malloc(128 * 1024);
	int devnull = open("/dev/null", O_WRONLY);
	struct chardev *cd = chardev_open_fds(-1, devnull, loop, err, sizeof(err));
	uint64_t in, out;
	unsigned clients;

	CHECK(cd != NULL && buf != NULL);
	snprintf(logpath, sizeof(logpath), "/tmp/lhyve-test-log.XXXXXX");
	int tfd = mkstemp(logpath);
	CHECK(tfd >= 0);
	close(tfd);
	CHECK_EQ(chardev_history(cd, buf, 100), 0);
	CHECK_EQ(chardev_set_log(cd, logpath), 0);
	for (unsigned i = 0; i < 70 * 1024; i++) {
		char c = (char)('a' + i % 26);
		chardev_write(cd, &c, 1);
	}
	size_t n = chardev_history(cd, buf, 128 * 1024);
	CHECK_EQ(n, 64 * 1024);
	/* Oldest first: the last 64 KiB of the stream. */
	size_t first = 70 * 1024 - 64 * 1024;
	CHECK_EQ(buf[0], 'a' + first % 26);
	CHECK_EQ(buf[n - 1], 'a' + (70 * 1024 - 1) % 26);
	CHECK_EQ(chardev_history(cd, buf, 3), 3);
	CHECK_EQ(buf[2], 'a' + (70 * 1024 - 1) % 26);
	struct stat st;
	CHECK(stat(logpath, &st) == 0 && st.st_size == 70 * 1024 && (st.st_mode & 0777) == 0600);
	chardev_stats(cd, &in, &out, &clients);
	CHECK_EQ(out, 70 * 1024);
	CHECK_EQ(in, 0);
	CHECK_EQ(clients, 0);

	/* Four clients at most; each gets the history. */
	int sv[5][2];
	for (int i = 0; i < 5; i++)
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(chardev_attach(cd, sv[i][0], NULL, 0), 0);
	CHECK_EQ(chardev_attach(cd, sv[4][0], NULL, 0), -EBUSY);
	chardev_stats(cd, &in, &out, &clients);
	CHECK_EQ(clients, 4);
	size_t got = 0;
	while (got < 64 * 1024) {
		ssize_t r = read_wait(sv[2][1], buf + got, 64 * 1024 + 1 - got, 500);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	CHECK_EQ(got, 64 * 1024);
	/* A client that leaves is dropped on the next write or read. */
	close(sv[1][1]);
	run_loop(loop, 5);
	chardev_write(cd, "z", 1);
	chardev_stats(cd, &in, &out, &clients);
	CHECK_EQ(clients, 3);
	CHECK(write(sv[3][1], "key", 3) == 3);
	run_loop(loop, 5);
	char kb[8];
	n = chardev_read(cd, kb, sizeof(kb));
	CHECK_EQ(n, 3);
	chardev_stats(cd, &in, &out, &clients);
	CHECK_EQ(in, 3);
	chardev_close(cd); /* closes the attached clients */
	for (int i = 0; i < 5; i++) {
		if (i != 1)
			close(sv[i][1]);
	}
	close(sv[4][0]);
	unlink(logpath);
	free(buf);
	evloop_free(loop);
}

int main(void)
{
	RUN(test_pty);
	RUN(test_nmdm);
	RUN(test_pty_close_drains);
	RUN(test_pty_close_no_client);
	RUN(test_pty_close_stuck_client);
	RUN(test_history_log);
	return unit_report();
}
