/*
 * The sandbox (src/core/sandbox.c): configuration keys, and the real
 * filter installed in forked children — allowed calls work, forbidden ones
 * kill the process with SIGSYS (or fail with EPERM in log mode), threads
 * that existed before are covered, /proc shows Seccomp 2 and NoNewPrivs 1,
 * and the privilege drop (as root). No KVM needed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/sandbox.h"
#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* _IO(0xAE, 0x01): KVM_CREATE_VM, which the running VMM never needs. */
#define FORBIDDEN_IOCTL 0xAE01UL

static int configure(const char *const *kv, struct sandbox *sb)
{
	struct config *c = config_new();
	char err[256];
	int rc;

	for (; *kv; kv++)
		config_set_kv(c, *kv);
	rc = sandbox_configure(sb, c, err, sizeof(err));
	config_free(c);
	return rc;
}

static void test_configure(void)
{
	struct sandbox sb;
	static const char *const none[] = { NULL };
	static const char *const off[] = { "sandbox.seccomp=false", NULL };
	static const char *const logm[] = { "sandbox.seccomp=log", "sandbox.test_forbidden=1", NULL };
	static const char *const bad[] = { "sandbox.seccomp=maybe", NULL };
	static const char *const nouser[] = { "sandbox.user=no-such-user-lhyve", NULL };
	static const char *const nogroup[] = { "sandbox.group=no-such-group-lhyve", NULL };
	static const char *const numuser[] = { "sandbox.user=54321", NULL };
	static const char *const numboth[] = { "sandbox.user=54321", "sandbox.group=54322", NULL };
	static const char *const nobody[] = { "sandbox.user=nobody", NULL };

	CHECK_EQ(configure(none, &sb), 0);
	CHECK_EQ(sb.mode, sandbox_available() ? SANDBOX_SECCOMP_KILL : SANDBOX_SECCOMP_OFF);
	CHECK(!sb.drop && !sb.mode_set && !sb.test_forbidden);
	CHECK_EQ(configure(off, &sb), 0);
	CHECK_EQ(sb.mode, SANDBOX_SECCOMP_OFF);
	if (sandbox_available()) {
		CHECK_EQ(configure(logm, &sb), 0);
		CHECK_EQ(sb.mode, SANDBOX_SECCOMP_LOG);
		CHECK(sb.test_forbidden);
	} else {
		CHECK(configure(logm, &sb) < 0);
	}
	CHECK(configure(bad, &sb) < 0);
	CHECK(configure(nouser, &sb) < 0);
	CHECK(configure(nogroup, &sb) < 0);
	CHECK(configure(numuser, &sb) < 0 || getpwuid(54321)); /* no passwd entry: group needed */
	if (geteuid() == 0) {
		CHECK_EQ(configure(numboth, &sb), 0);
		CHECK(sb.drop);
		CHECK_EQ(sb.uid, 54321);
		CHECK_EQ(sb.gid, 54322);
		if (getpwnam("nobody")) {
			CHECK_EQ(configure(nobody, &sb), 0);
			CHECK(sb.drop);
			CHECK_EQ(sb.uid, getpwnam("nobody")->pw_uid);
			CHECK_EQ(sb.gid, getpwnam("nobody")->pw_gid);
		}
	} else {
		CHECK(configure(numboth, &sb) < 0); /* needs root */
	}
}

/* ---- forked children ---- */

enum probe {
	P_ALLOWED,      /* allowed calls only: exits 0 */
	P_SOCKET,       /* socket(): SIGSYS, or EPERM in log mode */
	P_OPEN,         /* open() of a file by path */
	P_IOCTL,        /* an ioctl request outside the list */
	P_FORK,         /* fork(): not a thread */
	P_OLD_THREAD,   /* a thread created before the filter calls socket() */
	P_WAIT,         /* report readiness, wait for the parent (for /proc) */
};

static int old_thread_pipe[2];

static void *old_thread(void *arg)
{
	char c;

	if (read(old_thread_pipe[0], &c, 1) != 1)
		return NULL;
	if (socket(AF_UNIX, SOCK_STREAM, 0) < 0)
		return (void *)1;
	return NULL;
}

static void *noop_thread(void *arg)
{
	return arg;
}

/* The allowed set as the VMM uses it; 0 or the step that failed. */
static int probe_allowed(const int p[2], int ep)
{
	struct timespec ts;
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t t;
	void *ret = NULL;
	int tfd;
	char c = 'x';
	void *big;
	DIR *d;

	if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		return 2;
	if (pthread_create(&t, NULL, noop_thread, &c) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != &c)
		return 3;
	big = malloc(64 << 20);
	if (!big)
		return 4;
	memset(big, 1, 1 << 20);
	free(big);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0 ||
	    epoll_wait(ep, &ev, 1, 0) < 0)
		return 5;
	close(tfd);
	d = opendir("/"); /* directories read-only (registry clean-up) */
	if (!d)
		return 6;
	closedir(d);
	ioctl(p[0], 0x5401 /* TCGETS */, NULL); /* allowed request; fails ENOTTY */
	if (fcntl(p[0], F_GETFL) < 0)
		return 7;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (mktime(&tm) == (time_t)-1) /* time zone pinned: no file opened */
		return 8;
	return 0;
}

/*
 * Fork a child that applies sb and runs the probe. Returns the wait status;
 * *errno_out gets the errno a refused call reported in log mode.
 */
static int run_child(const struct sandbox *sb, enum probe probe, int *errno_out, pid_t *pidp,
		     int sync[2])
{
	int res[2], status = 0;
	pid_t pid;

	if (pipe(res) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char err[256];
		int e = 0, code = 0;
		int devnull = open("/dev/null", O_WRONLY), pre[2], ep;
		pthread_t t;

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO); /* log-mode lines and log_* output */
		if (probe == P_OLD_THREAD) {
			if (pipe(old_thread_pipe) < 0 ||
			    pthread_create(&t, NULL, old_thread, NULL) != 0)
				_exit(91);
		}
		/* descriptors are opened before the sandbox, as in bhyve */
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (pipe(pre) < 0 || ep < 0)
			_exit(90);
		if (sandbox_apply(sb, err, sizeof(err)) < 0)
			_exit(92);
		switch (probe) {
		case P_ALLOWED:
			code = probe_allowed(pre, ep);
			break;
		case P_SOCKET:
			if (socket(AF_INET, SOCK_STREAM, 0) < 0)
				e = errno;
			break;
		case P_OPEN:
			if (open("/etc/hostname", O_RDONLY) < 0)
				e = errno;
			break;
		case P_IOCTL:
			if (ioctl(0, FORBIDDEN_IOCTL, 0) < 0)
				e = errno;
			break;
		case P_FORK: {
			pid_t c = fork();
			if (c == 0)
				_exit(0);
			if (c < 0)
				e = errno;
			break;
		}
		case P_OLD_THREAD: {
			void *r = NULL;
			char go = 'g';
			if (write(old_thread_pipe[1], &go, 1) != 1)
				_exit(93);
			pthread_join(t, &r);
			if (r)
				e = EPERM;
			break;
		}
		case P_WAIT: {
			char go = 'r';
			if (write(sync[1], &go, 1) != 1 || read(sync[0], &go, 1) != 1)
				_exit(94);
			break;
		}
		}
		if (write(res[1], &e, sizeof(e)) != (ssize_t)sizeof(e))
			_exit(95);
		_exit(code);
	}
	close(res[1]);
	if (pidp)
		*pidp = pid;
	if (probe == P_WAIT)
		return pid; /* the caller waits */
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	*errno_out = 0;
	if (read(res[0], errno_out, sizeof(*errno_out)) != (ssize_t)sizeof(*errno_out))
		*errno_out = -1;
	close(res[0]);
	return status;
}

static bool killed_by_sigsys(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static bool exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_filter_kill(void)
{
	struct sandbox sb = { .mode = SANDBOX_SECCOMP_KILL, .mode_set = true };
	int e = 0, st;

	if (!sandbox_available()) {
		printf("(built without libseccomp: filter tests skipped)\n");
		return;
	}
	st = run_child(&sb, P_ALLOWED, &e, NULL, NULL);
	CHECK(exited_ok(st));
	if (!exited_ok(st))
		fprintf(stderr, "  allowed probe: status 0x%x\n", (unsigned)st);
	CHECK(killed_by_sigsys(run_child(&sb, P_SOCKET, &e, NULL, NULL)));
	CHECK(killed_by_sigsys(run_child(&sb, P_IOCTL, &e, NULL, NULL)));
	CHECK(killed_by_sigsys(run_child(&sb, P_OLD_THREAD, &e, NULL, NULL)));
	if (!SANITIZED) { /* sanitizer builds allow open and fork (LeakSanitizer) */
		CHECK(killed_by_sigsys(run_child(&sb, P_OPEN, &e, NULL, NULL)));
		CHECK(killed_by_sigsys(run_child(&sb, P_FORK, &e, NULL, NULL)));
	}
}

static void test_filter_log(void)
{
	struct sandbox sb = { .mode = SANDBOX_SECCOMP_LOG, .mode_set = true };
	struct sandbox hook = { .mode = SANDBOX_SECCOMP_LOG, .mode_set = true,
				.test_forbidden = true };
	int e = 0, st;

	if (!sandbox_available())
		return;
	st = run_child(&sb, P_SOCKET, &e, NULL, NULL);
	CHECK(exited_ok(st));
	CHECK_EQ(e, EPERM);
	st = run_child(&sb, P_IOCTL, &e, NULL, NULL);
	CHECK(exited_ok(st));
	CHECK_EQ(e, EPERM);
	st = run_child(&sb, P_OLD_THREAD, &e, NULL, NULL);
	CHECK(exited_ok(st));
	CHECK_EQ(e, EPERM);
	/* the test hook survives in log mode, and kills in kill mode */
	CHECK(exited_ok(run_child(&hook, P_ALLOWED, &e, NULL, NULL)));
	hook.mode = SANDBOX_SECCOMP_KILL;
	CHECK(killed_by_sigsys(run_child(&hook, P_ALLOWED, &e, NULL, NULL)));
}

/* Read "Field:\tvalue" from /proc/PID/status into out. */
static int proc_field(pid_t pid, const char *field, char *out, size_t len)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			snprintf(out, len, "%s", line + fl + 1 + strspn(line + fl + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static void status_check(const struct sandbox *sb, const char *seccomp, const char *uid)
{
	int to_child[2], from_child[2], sync[2], st = 0;
	char c, val[128];
	pid_t pid = 0;

	if (pipe(to_child) < 0 || pipe(from_child) < 0) {
		CHECK(0);
		return;
	}
	/* child reads sync[0] (to_child) and writes sync[1] (from_child) */
	sync[0] = to_child[0];
	sync[1] = from_child[1];
	run_child(sb, P_WAIT, &st, &pid, sync);
	CHECK(read(from_child[0], &c, 1) == 1);
	CHECK(proc_field(pid, "Seccomp", val, sizeof(val)) == 0 && !strcmp(val, seccomp));
	CHECK(proc_field(pid, "NoNewPrivs", val, sizeof(val)) == 0 && !strcmp(val, "1"));
	if (uid)
		CHECK(proc_field(pid, "Uid", val, sizeof(val)) == 0 && !strncmp(val, uid, strlen(uid)));
	CHECK(write(to_child[1], "g", 1) == 1);
	CHECK(waitpid(pid, &st, 0) == pid && exited_ok(st));
	close(to_child[0]);
	close(to_child[1]);
	close(from_child[0]);
	close(from_child[1]);
}

static void test_proc_status(void)
{
	struct sandbox sb = { .mode = SANDBOX_SECCOMP_KILL, .mode_set = true };
	struct sandbox off = { .mode = SANDBOX_SECCOMP_OFF, .mode_set = true };

	if (sandbox_available())
		status_check(&sb, "2", NULL);
	status_check(&off, "0", NULL);
	if (geteuid() == 0 && getpwnam("nobody")) {
		struct sandbox drop = sb;
		char uid[64];
		struct passwd *pw = getpwnam("nobody");

		if (!sandbox_available())
			drop.mode = SANDBOX_SECCOMP_OFF;
		drop.drop = true;
		drop.uid = pw->pw_uid;
		drop.gid = pw->pw_gid;
		snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid,
			 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
		status_check(&drop, sandbox_available() ? "2" : "0", uid);
	}
}

int main(void)
{
	RUN(test_configure);
	RUN(test_filter_kill);
	RUN(test_filter_log);
	RUN(test_proc_status);
	return unit_report();
}
