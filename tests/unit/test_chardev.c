/* Console backends: tcp server, fds, output buffering, EOF, flow control, files, ttys. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "unit.h"
#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/util.h"

static int notified;
static void on_notify(void *opaque)
{
	(void)opaque;
	notified++;
}

static void run_loop(struct evloop *loop, int times)
{
	for (int i = 0; i < times; i++)
		evloop_run_once(loop, 20);
}

static int connect_to(int family, int port)
{
	int fd = socket(family, SOCK_STREAM, 0);
	int rc;

	if (family == AF_INET6) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* recv with a timeout: bytes, 0 on EOF, -1 on timeout. */
static ssize_t recv_wait(int fd, void *buf, size_t n, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(fd, buf, n, 0);
}

static void tcp_case(const char *spec, int family)
{
	struct evloop *loop = evloop_new();
	char err[256] = "";
	char buf[64];
	struct chardev *cd = chardev_open(spec, loop, err, sizeof(err));
	int port, c1, c2, c3;

	CHECK(cd != NULL);
	if (!cd) {
		fprintf(stderr, "%s: %s\n", spec, err);
		evloop_free(loop);
		return;
	}
	chardev_set_notify(cd, on_notify, NULL);
	port = chardev_local_port(cd);
	CHECK(port > 0);
	CHECK(!chardev_connected(cd));
	CHECK_EQ(chardev_write(cd, "lost", 4), 0); /* nobody there: dropped */

	c1 = connect_to(family, port);
	CHECK(c1 >= 0);
	notified = 0;
	run_loop(loop, 2);
	CHECK(chardev_connected(cd));
	CHECK(notified >= 1);

	/* A second client is accepted and closed at once. */
	c2 = connect_to(family, port);
	CHECK(c2 >= 0);
	run_loop(loop, 2);
	CHECK_EQ(recv_wait(c2, buf, sizeof(buf), 500), 0);
	close(c2);
	CHECK(chardev_connected(cd));

	/* Both directions. */
	CHECK_EQ(chardev_write(cd, "hello", 5), 5);
	CHECK_EQ(recv_wait(c1, buf, sizeof(buf), 500), 5);
	CHECK(!memcmp(buf, "hello", 5));
	notified = 0;
	CHECK_EQ(send(c1, "abc", 3, 0), 3);
	run_loop(loop, 2);
	CHECK(notified >= 1);
	CHECK_EQ(chardev_pending(cd), 3);
	CHECK_EQ(chardev_read(cd, buf, 2), 2);
	CHECK_EQ(chardev_read(cd, buf + 2, 10), 1);
	CHECK(!memcmp(buf, "abc", 3));
	CHECK_EQ(chardev_read(cd, buf, 10), 0);

	/* Disconnect returns to listening; a new client works. */
	close(c1);
	run_loop(loop, 3);
	CHECK(!chardev_connected(cd));
	c3 = connect_to(family, port);
	CHECK(c3 >= 0);
	run_loop(loop, 2);
	CHECK(chardev_connected(cd));
	CHECK_EQ(chardev_write(cd, "x", 1), 1);
	CHECK_EQ(recv_wait(c3, buf, sizeof(buf), 500), 1);
	close(c3);
	run_loop(loop, 2);
	CHECK(!chardev_connected(cd));
	chardev_close(cd);
	evloop_free(loop);
}

static void test_tcp(void)
{
	tcp_case("tcp=127.0.0.1:0", AF_INET);
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool v6 = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	if (v6)
		tcp_case("tcp=[::1]:0", AF_INET6);
	tcp_case("tcp=localhost:0", AF_INET);
}

static void test_bad_specs(void)
{
	struct evloop *loop = evloop_new();
	char err[256];
	static const char *const bad[] = {
		"", "tcp=127.0.0.1", "tcp=1.2.3.4:99999", "tcp=::1:5", "tcp=[::1]5",
		"tcp=999.1.1.1:1", "bogus=1", "/nonexistent-dir/x/y",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		CHECK(chardev_open(bad[i], loop, err, sizeof(err)) == NULL);
		CHECK(err[0] != '\0');
		CHECK(strchr(err, '\n') == NULL);
	}
	/* Bind failure: the port is taken. */
	struct chardev *a = chardev_open("tcp=127.0.0.1:0", loop, err, sizeof(err));
	CHECK(a != NULL);
	char spec[64];
	snprintf(spec, sizeof(spec), "tcp=127.0.0.1:%d", chardev_local_port(a));
	err[0] = '\0';
	CHECK(chardev_open(spec, loop, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "tcp=") != NULL);
	chardev_close(a);
	evloop_free(loop);
}

static void test_output_buffering(void)
{
	struct evloop *loop = evloop_new();
	char err[256];
	int p[2];
	static uint8_t big[300 * 1024];
	static uint8_t got[300 * 1024];
	size_t total = 0, acc;

	CHECK_EQ(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	int pipesz = fcntl(p[1], F_GETPIPE_SZ);
	struct chardev *cd = chardev_open_fds(-1, p[1], loop, err, sizeof(err));
	CHECK(cd != NULL);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	acc = chardev_write(cd, big, sizeof(big));
	/* The pipe takes what fits, 64 KiB are buffered, the rest is dropped. */
	CHECK_EQ(acc, (size_t)pipesz + 64 * 1024);
	CHECK_EQ(chardev_write(cd, big, 10), 0); /* still full */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 2000 && total < acc; i++) {
		ssize_t n = read(p[0], got + total, sizeof(got) - total);
		if (n > 0)
			total += (size_t)n;
		evloop_run_once(loop, 5);
	}
	CHECK_EQ(total, acc);
	CHECK(!memcmp(got, big, acc));
	/* Reader gone: output fails, later writes are dropped, nothing hangs. */
	close(p[0]);
	CHECK_EQ(chardev_write(cd, "zz", 2), 0);
	CHECK_EQ(chardev_write(cd, "zz", 2), 0);
	chardev_close(cd);
	evloop_free(loop);
}

static void test_input_eof_and_flow(void)
{
	struct evloop *loop = evloop_new();
	char err[256];
	int p[2], sp[2];
	static uint8_t buf[10000];

	/* A pipe whose writer goes away: data, then EOF, then no more events. */
	CHECK_EQ(pipe(p), 0);
	struct chardev *cd = chardev_open_fds(p[0], -1, loop, err, sizeof(err));
	CHECK(cd != NULL);
	CHECK_EQ(write(p[1], "end", 3), 3);
	close(p[1]);
	run_loop(loop, 3);
	CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 3);
	CHECK_EQ(evloop_run_once(loop, 50), 0); /* watch removed: the loop idles */
	CHECK(chardev_connected(cd));
	CHECK_EQ(chardev_write(cd, "x", 1), 0);
	chardev_close(cd);

	/* /dev/null cannot be epolled: read from a timer, EOF, then quiet. */
	int nul = open("/dev/null", O_RDONLY);
	cd = chardev_open_fds(nul, -1, loop, err, sizeof(err));
	CHECK(cd != NULL);
	run_loop(loop, 3);
	CHECK_EQ(evloop_run_once(loop, 50), 0);
	CHECK_EQ(chardev_pending(cd), 0);
	chardev_close(cd);

	/* A regular file as input works through the same path. */
	char path[] = "/tmp/lhyve-cd-XXXXXX";
	int tf = mkstemp(path);
	CHECK(tf >= 0);
	CHECK_EQ(write(tf, "file-input", 10), 10);
	lseek(tf, 0, SEEK_SET);
	notified = 0;
	cd = chardev_open_fds(tf, -1, loop, err, sizeof(err));
	CHECK(cd != NULL);
	chardev_set_notify(cd, on_notify, NULL);
	run_loop(loop, 4);
	CHECK(notified >= 1);
	CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 10);
	CHECK(!memcmp(buf, "file-input", 10));
	chardev_close(cd);
	unlink(path);

	/* Flow control: at most 4 KiB buffered, reading resumes input. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	cd = chardev_open_fds(sp[0], sp[0], loop, err, sizeof(err));
	CHECK(cd != NULL);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	size_t sent = 0, got = 0;
	ssize_t n = write(sp[1], buf, sizeof(buf));
	CHECK(n > 4096);
	sent = (size_t)n;
	run_loop(loop, 5);
	CHECK_EQ(chardev_pending(cd), 4096);
	uint8_t tmp[1000];
	bool ok = true;
	for (int i = 0; i < 500 && got < sent; i++) {
		size_t r = chardev_read(cd, tmp, sizeof(tmp));
		for (size_t j = 0; j < r; j++)
			if (tmp[j] != (uint8_t)(got + j))
				ok = false;
		got += r;
		evloop_run_once(loop, 5);
	}
	CHECK_EQ(got, sent);
	CHECK(ok);
	chardev_close(cd);
	close(sp[1]);
	evloop_free(loop);
}

static void test_file_path(void)
{
	struct evloop *loop = evloop_new();
	char err[256], dir[] = "/tmp/lhyve-cdf-XXXXXX", path[128], buf[64];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/console.log", dir);
	struct chardev *cd = chardev_open(path, loop, err, sizeof(err));
	CHECK(cd != NULL);
	CHECK(chardev_connected(cd));
	CHECK_EQ(chardev_write(cd, "boot\n", 5), 5);
	chardev_close(cd);
	cd = chardev_open(path, loop, err, sizeof(err)); /* appends */
	CHECK(cd != NULL);
	CHECK_EQ(chardev_write(cd, "again\n", 6), 6);
	CHECK_EQ(chardev_pending(cd), 0);
	chardev_close(cd);
	int fd = open(path, O_RDONLY);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 11);
	CHECK(!memcmp(buf, "boot\nagain\n", 11));
	close(fd);
	unlink(path);
	CHECK(chardev_open(dir, loop, err, sizeof(err)) == NULL); /* a directory */
	rmdir(dir);
	evloop_free(loop);
}

static void test_tty_raw(void)
{
	struct evloop *loop = evloop_new();
	char err[256], name[64], buf[16];
	struct termios before, during, after;
	int master, slave;

	if (openpty(&master, &slave, name, NULL, NULL) < 0) {
		fprintf(stderr, "no pty; skipping tty test\n");
		evloop_free(loop);
		return;
	}
	tcgetattr(slave, &before);
	CHECK(before.c_lflag & ICANON);
	struct chardev *cd = chardev_open(name, loop, err, sizeof(err));
	CHECK(cd != NULL);
	tcgetattr(slave, &during);
	CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG)));
	CHECK(!(during.c_iflag & (IXON | ICRNL)));
	CHECK(during.c_oflag & OPOST);
	CHECK(during.c_oflag & ONLCR);
	CHECK_EQ(during.c_cc[VMIN], 1);
	/* Raw input: a byte without newline arrives. */
	CHECK_EQ(write(master, "k", 1), 1);
	run_loop(loop, 3);
	CHECK_EQ(chardev_read(cd, buf, sizeof(buf)), 1);
	CHECK_EQ(buf[0], 'k');
	/* The signal-path restore works, then close restores too. */
	chardev_restore_terminals();
	tcgetattr(slave, &after);
	CHECK(after.c_lflag & ICANON);
	chardev_close(cd);
	tcgetattr(slave, &after);
	CHECK(after.c_lflag & ICANON);
	CHECK_EQ(after.c_iflag, before.c_iflag);
	close(master);
	close(slave);
	evloop_free(loop);
}

/* "stdio" in a child whose stdin/stdout are pipes: echo input back. */
static void test_stdio(void)
{
	int in[2], out[2];
	char buf[64];
	pid_t pid;

	CHECK_EQ(pipe(in), 0);
	CHECK_EQ(pipe(out), 0);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		struct evloop *loop = evloop_new();
		char err[256];
		struct chardev *cd = chardev_open("stdio", loop, err, sizeof(err));
		if (!cd)
			_exit(2);
		int fl = fcntl(1, F_GETFL);
		if (fl & O_NONBLOCK)
			_exit(3); /* our non-blocking mode must not leak to fd 1 */
		size_t total = 0;
		for (int i = 0; i < 200 && total < 5; i++) {
			char b[16];
			evloop_run_once(loop, 10);
			size_t n = chardev_read(cd, b, sizeof(b));
			chardev_write(cd, b, n);
			total += n;
		}
		run_loop(loop, 3); /* sees EOF */
		int quiet = evloop_run_once(loop, 50) == 0;
		chardev_close(cd);
		evloop_free(loop);
		_exit(total == 5 && quiet ? 0 : 4);
	}
	close(in[0]);
	close(out[1]);
	CHECK_EQ(write(in[1], "hello", 5), 5);
	close(in[1]);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(out[0], buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	CHECK_EQ(got, 5);
	CHECK(!memcmp(buf, "hello", 5));
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	close(out[0]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_tcp);
	RUN(test_bad_specs);
	RUN(test_output_buffering);
	RUN(test_input_eof_and_flow);
	RUN(test_file_path);
	RUN(test_tty_raw);
	RUN(test_stdio);
	return unit_report();
}
