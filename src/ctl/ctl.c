/*
 * Control socket server (see lhyve/ctl.h for the protocol).
 *
 * Everything here runs on the VM's event-loop thread: the listener and
 * each connection are loop fds, so struct ctl and its connections need no
 * lock. Replies are built in a per-connection buffer and sent without
 * blocking; the next request of a connection is only parsed once the
 * previous reply is out, which bounds the memory a client can make us use.
 * A client that disconnects at any point just has its connection freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lhyve/chardev.h"
#include "lhyve/ctl.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/vm.h"

struct ctl_conn {
	struct ctl *ctl;
	int fd;
	char in[CTL_REQ_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
	bool close_after; /* close once the reply is out */
	uint32_t events;
	struct ctl_conn *next;
};

struct ctl {
	struct vm *vm;
	struct evloop *loop;
	int lfd;
	char path[PATH_MAX];
	struct ctl_conn *conns;
	unsigned nconns;
	bool destroyed;
	struct timespec started;
	struct ratelimit rl;
};

static void ctl_conn_cb(void *opaque, uint32_t events);

/* ---- replies ---- */

static int ctl_reserve(struct ctl_conn *cn, size_t more)
{
	size_t need = cn->outlen + more;
	char *n;

	if (need <= cn->outcap)
		return 0;
	if (need > CTL_BODY_MAX + 128)
		return -E2BIG;
	size_t cap = cn->outcap ? cn->outcap : 1024;
	while (cap < need)
		cap *= 2;
	n = realloc(cn->out, cap);
	if (!n)
		return -ENOMEM;
	cn->out = n;
	cn->outcap = cap;
	return 0;
}

static void ctl_append(struct ctl_conn *cn, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void ctl_append(struct ctl_conn *cn, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ctl_reserve(cn, (size_t)n + 1) < 0)
		return; /* the body is cut short; bounded by CTL_BODY_MAX */
	va_start(ap, fmt);
	vsnprintf(cn->out + cn->outlen, (size_t)n + 1, fmt, ap);
	va_end(ap);
	cn->outlen += (size_t)n;
}

/* Body appended after position `start`: prefix it with "OK <n>\n". */
static void ctl_finish_ok(struct ctl_conn *cn, size_t start)
{
	char hdr[32];
	int h = snprintf(hdr, sizeof(hdr), "OK %zu\n", cn->outlen - start);

	if (ctl_reserve(cn, (size_t)h) < 0) {
		cn->outlen = start;
		return;
	}
	memmove(cn->out + start + h, cn->out + start, cn->outlen - start);
	memcpy(cn->out + start, hdr, (size_t)h);
	cn->outlen += (size_t)h;
}

static void ctl_err(struct ctl_conn *cn, int err, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void ctl_err(struct ctl_conn *cn, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	ctl_append(cn, "ERR %d %s\n", err, msg);
}

/* Send what we can; 0 when everything is out, -EAGAIN if not, <0 on error. */
static int ctl_flush(struct ctl_conn *cn)
{
	while (cn->outoff < cn->outlen) {
		ssize_t r = send(cn->fd, cn->out + cn->outoff, cn->outlen - cn->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (r <= 0)
			return -EPIPE;
		cn->outoff += (size_t)r;
	}
	cn->outoff = cn->outlen = 0;
	return 0;
}

/* ---- connections ---- */

static void ctl_conn_free(struct ctl_conn *cn, bool close_fd)
{
	struct ctl *c = cn->ctl;

	for (struct ctl_conn **pp = &c->conns; *pp; pp = &(*pp)->next) {
		if (*pp == cn) {
			*pp = cn->next;
			break;
		}
	}
	c->nconns--;
	if (cn->events)
		ev_del_fd(c->loop, cn->fd);
	if (close_fd)
		close(cn->fd);
	free(cn->out);
	free(cn);
}

static void ctl_conn_watch(struct ctl_conn *cn)
{
	uint32_t ev = cn->outlen ? EPOLLOUT : EPOLLIN;

	if (ev != cn->events && ev_mod_fd(cn->ctl->loop, cn->fd, ev) == 0)
		cn->events = ev;
}

/* ---- commands ---- */

static int ctl_parse_cpu(struct ctl_conn *cn, const char *arg, unsigned *cpu)
{
	struct vm *vm = cn->ctl->vm;
	char *end;
	unsigned long v;

	if (!arg) {
		ctl_err(cn, EINVAL, "missing vCPU number");
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || v >= vm->ncpus || !vm->vcpus) {
		ctl_err(cn, EINVAL, "invalid vCPU '%.20s' (the VM has %u)", arg, vm->ncpus);
		return -EINVAL;
	}
	*cpu = (unsigned)v;
	return 0;
}

static void ctl_cmd_info(struct ctl_conn *cn)
{
	struct ctl *c = cn->ctl;
	struct vm *vm = c->vm;
	struct timespec now;
	size_t start = cn->outlen;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ctl_append(cn, "name=%s\npid=%ld\nstate=running\nvcpus=%u\nmemsize=%llu\nuptime=%lld\n",
		   vm->name ? vm->name : "", (long)getpid(), vm->ncpus,
		   (unsigned long long)vm->ram_size, (long long)(now.tv_sec - c->started.tv_sec));
	for (unsigned i = 0; i < 4; i++) {
		char kind[16], ep[PATH_MAX + 80];
		if (!vm->com_cd[i])
			continue;
		chardev_describe(vm->com_cd[i], kind, sizeof(kind), ep, sizeof(ep));
		ctl_append(cn, "com%u=%s %s\n", i + 1, kind, ep);
	}
	ctl_finish_ok(cn, start);
}

static void ctl_cmd_stats(struct ctl_conn *cn, const char *arg)
{
	struct vm *vm = cn->ctl->vm;
	unsigned first = 0, last = vm->ncpus;
	size_t start = cn->outlen;

	if (arg) {
		if (ctl_parse_cpu(cn, arg, &first) < 0)
			return;
		last = first + 1;
	}
	for (unsigned i = first; i < last && vm->vcpus; i++) {
		ctl_append(cn, "vcpu%u stats:\n", i);
		for (unsigned s = 0; s < VCPU_STAT_MAX; s++)
			ctl_append(cn, "%-40s\t%llu\n", vcpu_stat_names[s],
				   (unsigned long long)__atomic_load_n(&vm->vcpus[i].stats[s],
								       __ATOMIC_RELAXED));
	}
	ctl_append(cn, "device stats:\n");
	for (unsigned i = 0; i < 4; i++) {
		uint64_t in, out;
		unsigned clients;
		char name[48];
		if (!vm->com_cd[i])
			continue;
		chardev_stats(vm->com_cd[i], &in, &out, &clients);
		snprintf(name, sizeof(name), "com%u input bytes", i + 1);
		ctl_append(cn, "%-40s\t%llu\n", name, (unsigned long long)in);
		snprintf(name, sizeof(name), "com%u output bytes", i + 1);
		ctl_append(cn, "%-40s\t%llu\n", name, (unsigned long long)out);
		snprintf(name, sizeof(name), "com%u attached clients", i + 1);
		ctl_append(cn, "%-40s\t%u\n", name, clients);
	}
	ctl_finish_ok(cn, start);
}

#define REG(n) { #n, offsetof(struct vcpu_state, n) }
static const struct ctl_reg {
	const char *name;
	size_t off;
} ctl_regs[] = {
	REG(rax), REG(rbx), REG(rcx), REG(rdx), REG(rsi), REG(rdi), REG(rbp), REG(rsp),
	REG(r8), REG(r9), REG(r10), REG(r11), REG(r12), REG(r13), REG(r14), REG(r15),
	REG(rip), REG(rflags), REG(cr0), REG(cr2), REG(cr3), REG(cr4), REG(cr8),
	REG(efer), REG(apic_base), REG(dr0), REG(dr1), REG(dr2), REG(dr3), REG(dr6),
	REG(dr7),
};
static const struct ctl_seg {
	const char *name;
	size_t off;
} ctl_segs[] = {
	REG(cs), REG(ds), REG(es), REG(fs), REG(gs), REG(ss), REG(tr), REG(ldtr),
};
#undef REG

static void ctl_cmd_regs(struct ctl_conn *cn, const char *arg)
{
	struct vm *vm = cn->ctl->vm;
	struct vcpu_state st;
	size_t start = cn->outlen;
	unsigned cpu;
	int rc;

	if (ctl_parse_cpu(cn, arg, &cpu) < 0)
		return;
	memset(&st, 0, sizeof(st));
	rc = vcpu_get_state(&vm->vcpus[cpu], &st);
	if (rc < 0) {
		ctl_err(cn, -rc, "cannot read vCPU %u: %s", cpu, strerror(-rc));
		return;
	}
	for (size_t i = 0; i < sizeof(ctl_regs) / sizeof(ctl_regs[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + ctl_regs[i].off, sizeof(v));
		ctl_append(cn, "%s=0x%016llx\n", ctl_regs[i].name, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(ctl_segs) / sizeof(ctl_segs[0]); i++) {
		const struct vcpu_seg *s = (const void *)((const char *)&st + ctl_segs[i].off);
		ctl_append(cn, "%s=0x%04x 0x%016llx 0x%08x 0x%08x\n", ctl_segs[i].name,
			   s->selector, (unsigned long long)s->base, s->limit, s->access);
	}
	ctl_append(cn, "gdtr=0x%016llx 0x%08x\nidtr=0x%016llx 0x%08x\nmp_state=%u\n",
		   (unsigned long long)st.gdt_base, st.gdt_limit,
		   (unsigned long long)st.idt_base, st.idt_limit, st.mp_state);
	ctl_finish_ok(cn, start);
}

static void ctl_cmd_nmi(struct ctl_conn *cn, const char *arg)
{
	unsigned cpu;
	int rc;

	if (ctl_parse_cpu(cn, arg, &cpu) < 0)
		return;
	rc = vcpu_inject_nmi(&cn->ctl->vm->vcpus[cpu]);
	if (rc < 0) {
		ctl_err(cn, -rc, "cannot inject an NMI into vCPU %u: %s", cpu, strerror(-rc));
		return;
	}
	ctl_append(cn, "OK 0\n");
}

/* Reply, push the reply out now, then stop the VM with `code`. */
static void ctl_cmd_stop(struct ctl_conn *cn, int code, const char *what)
{
	ctl_append(cn, "OK 0\n");
	ctl_flush(cn); /* a few bytes into an empty socket buffer */
	log_info("control socket: %s requested", what);
	vm_request_stop(cn->ctl->vm, code);
}

/* Returns true if the connection was handed to the chardev. */
static bool ctl_cmd_console(struct ctl_conn *cn, const char *arg, size_t consumed)
{
	struct vm *vm = cn->ctl->vm;
	uint64_t in, out;
	unsigned clients, port;
	int rc;

	if (!arg || strncmp(arg, "com", 3) != 0 || arg[3] < '1' || arg[3] > '4' || arg[4]) {
		ctl_err(cn, EINVAL, "expected console com1..com4");
		return false;
	}
	port = (unsigned)(arg[3] - '1');
	if (!vm->com_cd[port]) {
		ctl_err(cn, ENODEV, "com%u is not configured", port + 1);
		return false;
	}
	chardev_stats(vm->com_cd[port], &in, &out, &clients);
	if (clients >= 4) {
		ctl_err(cn, EBUSY, "com%u already has 4 attached clients", port + 1);
		return false;
	}
	ctl_append(cn, "OK 0\n");
	if (ctl_flush(cn) < 0) {
		cn->close_after = true;
		return false;
	}
	if (cn->events) {
		ev_del_fd(cn->ctl->loop, cn->fd);
		cn->events = 0;
	}
	rc = chardev_attach(vm->com_cd[port], cn->fd, cn->in + consumed, cn->inlen - consumed);
	if (rc < 0) {
		log_rl(&cn->ctl->rl, LOG_WARN, "control socket: console attach: %s", strerror(-rc));
		ctl_conn_free(cn, true);
		return true;
	}
	ctl_conn_free(cn, false);
	return true;
}

static const char ctl_help[] =
	"help\ninfo\nstats [CPU]\nregs CPU\nnmi CPU\nreset\npoweroff\ndestroy\nconsole comN\n";

/*
 * Handle one request line (NUL-terminated, without '\n'); consumed is the
 * number of input bytes up to and including its '\n'. Returns true if the
 * connection is gone (handed over or freed).
 */
static bool ctl_dispatch(struct ctl_conn *cn, char *line, size_t consumed)
{
	char *save = NULL, *cmd, *arg, *extra;

	for (char *p = line; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			ctl_err(cn, EINVAL, "request contains non-printable bytes");
			return false;
		}
	}
	cmd = strtok_r(line, " ", &save);
	arg = cmd ? strtok_r(NULL, " ", &save) : NULL;
	extra = arg ? strtok_r(NULL, " ", &save) : NULL;
	if (!cmd) {
		ctl_err(cn, EINVAL, "empty request");
		return false;
	}
	if (extra) {
		ctl_err(cn, EINVAL, "too many arguments");
		return false;
	}
	if (!strcmp(cmd, "help") && !arg) {
		size_t start = cn->outlen;
		ctl_append(cn, "%s", ctl_help);
		ctl_finish_ok(cn, start);
	} else if (!strcmp(cmd, "info") && !arg) {
		ctl_cmd_info(cn);
	} else if (!strcmp(cmd, "stats")) {
		ctl_cmd_stats(cn, arg);
	} else if (!strcmp(cmd, "regs")) {
		ctl_cmd_regs(cn, arg);
	} else if (!strcmp(cmd, "nmi")) {
		ctl_cmd_nmi(cn, arg);
	} else if (!strcmp(cmd, "reset") && !arg) {
		ctl_cmd_stop(cn, VM_EXIT_RESET, "reset");
	} else if (!strcmp(cmd, "poweroff") && !arg) {
		ctl_cmd_stop(cn, VM_EXIT_POWEROFF, "power off");
	} else if (!strcmp(cmd, "destroy") && !arg) {
		cn->ctl->destroyed = true;
		ctl_cmd_stop(cn, VM_EXIT_ERROR, "destroy");
	} else if (!strcmp(cmd, "console")) {
		return ctl_cmd_console(cn, arg, consumed);
	} else {
		ctl_err(cn, EINVAL, "unknown command '%.32s' (try help)", cmd);
	}
	return false;
}

/* Parse complete requests while no reply is pending. True if cn is gone. */
static bool ctl_process(struct ctl_conn *cn)
{
	while (!cn->outlen && !cn->close_after) {
		char *nl = memchr(cn->in, '\n', cn->inlen);
		char line[CTL_REQ_MAX];
		size_t len;

		if (!nl) {
			if (cn->inlen >= CTL_REQ_MAX) {
				ctl_err(cn, E2BIG, "request longer than %d bytes", CTL_REQ_MAX - 1);
				cn->close_after = true;
			}
			return false;
		}
		len = (size_t)(nl - cn->in);
		memcpy(line, cn->in, len);
		line[len] = '\0';
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (ctl_dispatch(cn, line, len + 1))
			return true;
		memmove(cn->in, nl + 1, cn->inlen - len - 1);
		cn->inlen -= len + 1;
	}
	return false;
}

static void ctl_conn_cb(void *opaque, uint32_t events)
{
	struct ctl_conn *cn = opaque;

	if (events & EPOLLIN) {
		ssize_t r;

		do
			r = recv(cn->fd, cn->in + cn->inlen, sizeof(cn->in) - cn->inlen, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			ctl_conn_free(cn, true); /* gone, possibly mid-request: forget it */
			return;
		}
		if (r > 0)
			cn->inlen += (size_t)r;
	} else if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) {
		ctl_conn_free(cn, true);
		return;
	}
	for (;;) {
		if (ctl_process(cn))
			return;
		int rc = ctl_flush(cn);
		if (rc == -EAGAIN)
			break;
		if (rc < 0 || cn->close_after) {
			ctl_conn_free(cn, true);
			return;
		}
		/* reply out: more complete requests may be waiting in cn->in */
		if (!memchr(cn->in, '\n', cn->inlen) && cn->inlen < CTL_REQ_MAX)
			break;
	}
	ctl_conn_watch(cn);
}

/* Take one pending connection; false when there is none left. */
static bool ctl_accept_one(struct ctl *c)
{
	struct ctl_conn *cn;
	int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_rl(&c->rl, LOG_WARN, "control socket: accept: %s", strerror(errno));
		return false;
	}
	if (c->nconns >= CTL_MAX_CONNS) {
		static const char busy[] = "ERR 16 too many control connections\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* nothing more to tell this client */
		}
		close(fd);
		return true;
	}
	cn = calloc(1, sizeof(*cn));
	if (!cn) {
		close(fd);
		return true;
	}
	cn->ctl = c;
	cn->fd = fd;
	if (ev_add_fd(c->loop, fd, EPOLLIN, ctl_conn_cb, cn) < 0) {
		close(fd);
		free(cn);
		return true;
	}
	cn->events = EPOLLIN;
	cn->next = c->conns;
	c->conns = cn;
	c->nconns++;
	return true;
}

/*
 * Drain the accept queue (bounded, for fairness): a burst of clients must
 * not overflow the listen backlog while the loop is busy, which a client
 * sees as a refused connect (EAGAIN on a non-blocking UNIX socket).
 */
static void ctl_accept_cb(void *opaque, uint32_t events)
{
	struct ctl *c = opaque;

	for (unsigned i = 0; i < 64 && ctl_accept_one(c); i++)
		;
}

/* Bind, falling back to /proc/self/fd/N/name for paths longer than sun_path. */
static int ctl_bind(int fd, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dfd, rc;

	if (strlen(path) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, path, strlen(path) + 1);
		return bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	}
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd, slash + 1) >=
	    (int)sizeof(a.sun_path))
		rc = -ENAMETOOLONG;
	else
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

struct ctl *ctl_start(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		snprintf(err, errlen, "control socket: out of memory");
		return NULL;
	}
	c->vm = vm;
	c->loop = vm->loop;
	c->rl = (struct ratelimit)RATELIMIT_INIT;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path)) {
		snprintf(err, errlen, "control socket: path too long");
		goto err_free;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto err_free;
	}
	unlink(path);
	if ((rc = ctl_bind(c->lfd, path)) < 0) {
		snprintf(err, errlen, "control socket %s: bind: %s", path, strerror(-rc));
		goto err_close;
	}
	chmod(path, 0600);
	if (listen(c->lfd, CTL_BACKLOG) < 0) {
		snprintf(err, errlen, "control socket %s: listen: %s", path, strerror(errno));
		goto err_unlink;
	}
	if ((rc = ev_add_fd(c->loop, c->lfd, EPOLLIN, ctl_accept_cb, c)) < 0) {
		snprintf(err, errlen, "control socket: cannot watch: %s", strerror(-rc));
		goto err_unlink;
	}
	return c;
err_unlink:
	unlink(path);
err_close:
	close(c->lfd);
err_free:
	free(c);
	return NULL;
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	while (c->conns)
		ctl_conn_free(c->conns, true);
	ev_del_fd(c->loop, c->lfd);
	close(c->lfd);
	unlink(c->path);
	free(c);
}

bool ctl_destroyed(const struct ctl *c)
{
	return c && c->destroyed;
}
