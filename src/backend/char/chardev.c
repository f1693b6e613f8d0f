/*
 * Console backends (see lhyve/chardev.h): stdio, a host path (tty, fifo,
 * character device or regular file), a one-client TCP server, and pty
 * pairs ("pty", and the nmdm(4)-style "/dev/nmdmNA" whose B end is
 * published as a symlink to the pty slave) -- the pty code, history, log
 * and attached clients live in chardev_ext.c.
 *
 * Besides the backend, every chardev keeps a 64 KiB history ring of all
 * output, an optional log file, and up to CD_MAX_CLIENTS attached clients
 * (sockets handed over by the control server): each gets the history at
 * attach time and then live output; their input joins the backend's.
 *
 * Every backend is an input fd and an output fd (possibly the same fd, or
 * -1) plus two ring buffers: 4 KiB of input the device pulls with
 * chardev_read(), and 64 KiB of output the fd would not take yet, flushed
 * on EPOLLOUT. Nothing ever blocks: fds are non-blocking (or only read after
 * EPOLLIN), a full output buffer drops bytes.
 *
 * Locking: cd->lock protects all of struct chardev. While holding it we
 * only call the event loop's fd/timer functions, whose own lock is a leaf
 * that never calls back into us. Device models may call chardev_* with
 * their own lock held (device lock -> chardev lock). The notify callback is
 * called on the loop thread with cd->lock NOT held, so it may take the
 * device lock and call back into chardev_read().
 *
 * Lifetime: chardev_close() must run on the loop thread or while the loop
 * is not running (a callback already dispatched must not find freed state).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/util.h"

#include "chardev_int.h"

/*
 * Saved terminal settings of every tty we put in raw mode. This is the one
 * piece of process-wide mutable state in this file: chardev_restore_terminals()
 * runs from signal handlers and atexit paths that have no chardev pointer,
 * and may only use async-signal-safe calls, so the settings must sit in
 * static storage. A slot is claimed with an atomic compare-and-swap
 * (0 free -> 2 being filled -> 1 valid); the restore path only reads
 * slots marked valid and calls tcsetattr().
 */
static struct cd_tty_slot {
	int state; /* 0 free, 1 valid, 2 being filled (accessed atomically) */
	int fd;
	struct termios tio;
} cd_tty_saved[CD_TTY_SLOTS];

static void cd_in_cb(void *opaque, uint32_t events);
static void cd_out_cb(void *opaque, uint32_t events);

/* ---- terminals ---- */

static int cd_tty_raw(int fd)
{
	struct termios tio;

	for (int i = 0; i < CD_TTY_SLOTS; i++) {
		struct cd_tty_slot *s = &cd_tty_saved[i];
		int expect = 0;

		if (!__atomic_compare_exchange_n(&s->state, &expect, 2, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		if (tcgetattr(fd, &s->tio) < 0) {
			__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
			return -1;
		}
		s->fd = fd;
		__atomic_store_n(&s->state, 1, __ATOMIC_RELEASE);
		tio = s->tio;
		tio.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
					   IGNCR | ICRNL | IXON | IXOFF);
		tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
		tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
		tio.c_cflag |= CS8;
		/* Keep output post-processing so log lines start at column 0. */
		tio.c_oflag |= OPOST | ONLCR;
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(fd, TCSANOW, &tio) < 0)
			log_warn("console: cannot set raw mode: %s", strerror(errno));
		return i;
	}
	log_warn("console: too many terminals in raw mode; leaving one cooked");
	return -1;
}

static void cd_tty_restore(int slot)
{
	struct cd_tty_slot *s;

	if (slot < 0)
		return;
	s = &cd_tty_saved[slot];
	if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 1)
		tcsetattr(s->fd, TCSANOW, &s->tio);
	__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
}

void chardev_restore_terminals(void)
{
	for (int i = 0; i < CD_TTY_SLOTS; i++) {
		struct cd_tty_slot *s = &cd_tty_saved[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 1)
			tcsetattr(s->fd, TCSANOW, &s->tio);
	}
}

/* ---- watches (cd->lock held) ---- */

static int cd_set_watch_op(struct chardev *cd, struct cd_watch *w, int fd,
			   uint32_t events, ev_fd_fn fn, void *opaque)
{
	int rc = 0;

	if (w->events && (!events || w->fd != fd)) {
		ev_del_fd(cd->loop, w->fd);
		w->events = 0;
	}
	if (!events || fd < 0)
		return 0;
	if (!w->events) {
		rc = ev_add_fd(cd->loop, fd, events, fn, opaque);
		if (rc == 0) {
			w->fd = fd;
			w->events = events;
		}
	} else if (w->events != events) {
		rc = ev_mod_fd(cd->loop, fd, events);
		if (rc == 0)
			w->events = events;
	}
	return rc;
}

static int cd_set_watch(struct chardev *cd, struct cd_watch *w, int fd,
			uint32_t events, ev_fd_fn fn)
{
	return cd_set_watch_op(cd, w, fd, events, fn, cd);
}

static void cd_in_timer_kick(struct chardev *cd)
{
	if (cd->in_poll && cd->in_timer && !cd->in_eof && !cd->in_timer_armed &&
	    cd->ilen < CD_IBUF_SIZE) {
		if (ev_timer_arm(cd->in_timer, CD_POLL_NS, 0) == 0)
			cd->in_timer_armed = true;
	}
}

/* Register exactly the events we need now; returns the input watch's rc. */
int cdi_update_watches(struct chardev *cd)
{
	uint32_t win = 0, wout = 0;

	cd_in_timer_kick(cd);

	if (cd->in_fd >= 0 && !cd->in_eof && !cd->in_poll &&
	    cd->ilen < CD_IBUF_SIZE)
		win = EPOLLIN;
	if (cd->out_fd >= 0 && !cd->out_dead && cd->olen)
		wout = EPOLLOUT;
	for (unsigned i = 0; i < CD_MAX_CLIENTS; i++) {
		struct cd_client *c = &cd->clients[i];
		cd_set_watch_op(cd, &c->w, c->fd,
				c->fd >= 0 && cd->ilen < CD_IBUF_SIZE ? EPOLLIN : 0, cdi_client_cb, c);
	}
	if (cd->in_fd >= 0 && cd->in_fd == cd->out_fd) {
		cd_set_watch(cd, &cd->w_out, -1, 0, cd_out_cb);
		return cd_set_watch(cd, &cd->w_in, cd->in_fd, win | wout, cd_in_cb);
	}
	cd_set_watch(cd, &cd->w_out, cd->out_fd, wout, cd_out_cb);
	return cd_set_watch(cd, &cd->w_in, cd->in_fd, win, cd_in_cb);
}

/* ---- output (cd->lock held) ---- */

static ssize_t cd_write_fd(struct chardev *cd, const void *buf, size_t n)
{
	ssize_t r;

	do {
		if (cd->out_sock)
			r = send(cd->out_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			r = write(cd->out_fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

static void cd_disconnect(struct chardev *cd);

static void cd_out_failed(struct chardev *cd, int err)
{
	if (cd->kind == CD_TCP) {
		cd_disconnect(cd);
		return;
	}
	log_warn("%s: output failed (%s); console output is dropped from now on",
		 cd->desc, strerror(err));
	cd->out_dead = true;
	cd->olen = 0;
}

/* Write out as much buffered output as the fd takes. */
void cdi_flush(struct chardev *cd)
{
	while (cd->olen && cd->out_fd >= 0 && !cd->out_dead) {
		size_t seg = MIN(cd->olen, CD_OBUF_SIZE - cd->ohead);
		ssize_t r = cd_write_fd(cd, cd->obuf + cd->ohead, seg);

		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cd_out_failed(cd, errno);
			break;
		}
		if (r == 0)
			break;
		cd->ohead = (cd->ohead + (size_t)r) % CD_OBUF_SIZE;
		cd->olen -= (size_t)r;
	}
	if (!cd->olen)
		cd->ohead = 0;
}

/* ---- input (cd->lock held) ---- */

/* Read once into the ring: >0 bytes, 0 EOF, -errno (-EAGAIN: nothing now). */
static ssize_t cd_fill(struct chardev *cd)
{
	size_t tail = (cd->ihead + cd->ilen) % CD_IBUF_SIZE;
	size_t room = CD_IBUF_SIZE - cd->ilen;
	size_t seg = MIN(room, CD_IBUF_SIZE - tail);
	ssize_t r;

	if (!seg)
		return -ENOBUFS;
	do {
		if (cd->in_sock)
			r = recv(cd->in_fd, cd->ibuf + tail, seg, MSG_DONTWAIT);
		else
			r = read(cd->in_fd, cd->ibuf + tail, seg);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	cd->ilen += (size_t)r;
	return r;
}

static void cd_input_ended(struct chardev *cd, ssize_t why)
{
	if (cd->kind == CD_TCP) {
		cd_disconnect(cd);
		return;
	}
	if (why < 0)
		log_info("%s: input error (%s); input closed", cd->desc,
			 strerror((int)-why));
	else
		log_info("%s: end of input", cd->desc);
	cd->in_eof = true;
	cdi_update_watches(cd);
}

void cdi_input_done(struct chardev *cd, size_t before)
{
	void (*fn)(void *) = NULL;
	void *fn_opaque = NULL;

	if (cd->ilen > before) {
		cd->bytes_in += cd->ilen - before;
		fn = cd->notify;
		fn_opaque = cd->notify_opaque;
	}
	pthread_mutex_unlock(&cd->lock);
	if (fn)
		fn(fn_opaque);
}

/* Both callbacks run on the loop thread. */
static void cd_in_cb(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	size_t before;

	pthread_mutex_lock(&cd->lock);
	if (cd->in_fd < 0) {
		pthread_mutex_unlock(&cd->lock);
		return;
	}
	before = cd->ilen;
	if ((events & EPOLLOUT) && cd->in_fd == cd->out_fd)
		cdi_flush(cd);
	if (cd->in_fd >= 0 && !cd->in_eof &&
	    (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t r = cd_fill(cd);

		if (r == 0 || (r < 0 && r != -EAGAIN && r != -ENOBUFS) ||
		    (r == -ENOBUFS && (events & (EPOLLHUP | EPOLLERR))))
			cd_input_ended(cd, r);
	}
	cdi_update_watches(cd);
	cdi_input_done(cd, before);
}

static void cd_out_cb(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;

	pthread_mutex_lock(&cd->lock);
	if (cd->out_fd >= 0) {
		if (events & EPOLLERR)
			cd_out_failed(cd, EPIPE);
		else
			cdi_flush(cd);
		cdi_update_watches(cd);
	}
	pthread_mutex_unlock(&cd->lock);
}

static void cd_timer_cb(void *opaque)
{
	struct chardev *cd = opaque;
	size_t before;

	pthread_mutex_lock(&cd->lock);
	cd->in_timer_armed = false;
	before = cd->ilen;
	if (cd->in_fd >= 0 && !cd->in_eof) {
		ssize_t r = cd_fill(cd);
		if (r == 0 || (r < 0 && r != -EAGAIN && r != -ENOBUFS))
			cd_input_ended(cd, r);
	}
	cd_in_timer_kick(cd);
	cdi_input_done(cd, before);
}

/* ---- tcp ---- */

/* Drop the client (cd->lock held) and go back to listening. */
static void cd_disconnect(struct chardev *cd)
{
	int fd = cd->in_fd;

	if (fd < 0)
		return;
	cd->in_fd = cd->out_fd = -1;
	cd->olen = 0;
	cd->ohead = 0;
	cdi_update_watches(cd); /* removes the watch before the fd is closed */
	close(fd);
	log_info("%s: client disconnected", cd->desc);
}

static void cd_accept_cb(void *opaque, uint32_t events)
{
	struct chardev *cd = opaque;
	void (*fn)(void *) = NULL;
	void *fn_opaque = NULL;
	int fd, one = 1;

	pthread_mutex_lock(&cd->lock);
	fd = accept4(cd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_rl(&cd->rl, LOG_WARN, "%s: accept: %s", cd->desc,
			       strerror(errno));
		goto out;
	}
	if (cd->in_fd >= 0) {
		log_rl(&cd->rl, LOG_INFO, "%s: already has a client; closing the new one",
		       cd->desc);
		close(fd);
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cd->in_fd = cd->out_fd = fd;
	cd->in_sock = cd->out_sock = true;
	cd->in_eof = cd->out_dead = false;
	cd->olen = cd->ohead = 0;
	if (cdi_update_watches(cd) < 0) {
		log_rl(&cd->rl, LOG_WARN, "%s: cannot watch the client", cd->desc);
		cd->in_fd = cd->out_fd = -1;
		close(fd);
		goto out;
	}
	log_info("%s: client connected", cd->desc);
	fn = cd->notify;
	fn_opaque = cd->notify_opaque;
out:
	pthread_mutex_unlock(&cd->lock);
	if (fn)
		fn(fn_opaque);
}

/* Split "host:port", "[v6]:port" or ":port". */
static int cd_parse_hostport(const char *s, char *host, size_t hostlen,
			     char *port, size_t portlen)
{
	const char *p;
	size_t hl;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		s++;
		p = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || memchr(s, ':', (size_t)(c - s)))
			return -EINVAL; /* bare IPv6 must be bracketed */
		hl = (size_t)(c - s);
		p = c + 1;
	}
	if (hl >= hostlen || !*p || strlen(p) >= portlen ||
	    strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	strcpy(port, p);
	return 0;
}

static int cd_tcp_listen(struct chardev *cd, const char *addr, char *err,
			 size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[256], port[8];
	int rc, fd = -1, one = 1, e = 0;

	if (cd_parse_hostport(addr, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "tcp=%s: expected tcp=addr:port (IPv6 as [addr]:port)",
			 addr);
		return -EINVAL;
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "tcp=%s: %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "tcp=%s: cannot listen: %s", addr,
			 strerror(e ? e : EADDRNOTAVAIL));
		return -(e ? e : EADDRNOTAVAIL);
	}
	cd->listen_fd = fd;
	rc = ev_add_fd(cd->loop, fd, EPOLLIN, cd_accept_cb, cd);
	if (rc < 0) {
		snprintf(err, errlen, "tcp=%s: cannot watch socket: %s", addr,
			 strerror(-rc));
		return rc;
	}
	cd->listen_watched = true;
	log_info("%s: listening on port %d", cd->desc, chardev_local_port(cd));
	return 0;
}

/* ---- open/close ---- */

struct chardev *cdi_alloc(struct evloop *loop, enum cd_kind kind,
				const char *desc)
{
	struct chardev *cd = calloc(1, sizeof(*cd));

	if (!cd)
		return NULL;
	cd->obuf = malloc(CD_OBUF_SIZE);
	cd->hist = malloc(CD_HIST_SIZE);
	if (!cd->obuf || !cd->hist) {
		free(cd->obuf);
		free(cd->hist);
		free(cd);
		return NULL;
	}
	pthread_mutex_init(&cd->lock, NULL);
	cd->loop = loop;
	cd->kind = kind;
	snprintf(cd->desc, sizeof(cd->desc), "console %s", desc);
	cd->in_fd = cd->out_fd = cd->listen_fd = -1;
	cd->tty_slot = -1;
	cd->out_restore_flags = -1;
	cd->rl = (struct ratelimit)RATELIMIT_INIT;
	cd->slave_fd = cd->log_fd = -1;
	for (unsigned i = 0; i < CD_MAX_CLIENTS; i++) {
		cd->clients[i].cd = cd;
		cd->clients[i].fd = -1;
	}
	return cd;
}

static bool cd_is_sock(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Start watching input; fall back to timer polling for unpollable fds. */
int cdi_start(struct chardev *cd, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&cd->lock);
	rc = cdi_update_watches(cd);
	if (rc == -EPERM && cd->in_fd >= 0) {
		/* Regular file or /dev/null: epoll refuses; reads never block. */
		cd->in_poll = true;
		cd->in_timer = ev_timer_new(cd->loop, cd_timer_cb, cd);
		rc = cd->in_timer ? cdi_update_watches(cd) : -ENOMEM;
	}
	pthread_mutex_unlock(&cd->lock);
	if (rc < 0)
		snprintf(err, errlen, "%s: cannot watch input: %s", cd->desc,
			 strerror(-rc));
	return rc;
}

/*
 * A private non-blocking open file description for fd 0/1, so that
 * O_NONBLOCK does not leak to the shell or to stderr sharing the tty.
 * Regular files are just duplicated (they never block); sockets are
 * duplicated and used with MSG_DONTWAIT.
 */
static int cd_private_fd(struct chardev *cd, int fd, int accmode)
{
	char path[32];
	struct stat st;
	int nfd, fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)) {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return nfd < 0 ? -errno : nfd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, accmode | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	fl = fcntl(nfd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(nfd, F_SETFL, fl | O_NONBLOCK) == 0 &&
	    accmode == O_WRONLY)
		cd->out_restore_flags = fl;
	return nfd;
}

static struct chardev *cd_open_stdio(struct evloop *loop, char *err, size_t errlen)
{
	struct chardev *cd = cdi_alloc(loop, CD_STDIO, "stdio");
	int fd;

	if (!cd)
		goto err_nomem;
	fd = cd_private_fd(cd, STDIN_FILENO, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "stdio: cannot use stdin: %s", strerror(-fd));
		goto err_close;
	}
	cd->in_fd = fd;
	fd = cd_private_fd(cd, STDOUT_FILENO, O_WRONLY);
	if (fd < 0) {
		snprintf(err, errlen, "stdio: cannot use stdout: %s", strerror(-fd));
		goto err_close;
	}
	cd->out_fd = fd;
	cd->in_sock = cd_is_sock(cd->in_fd);
	cd->out_sock = cd_is_sock(cd->out_fd);
	if (isatty(STDIN_FILENO))
		cd->tty_slot = cd_tty_raw(STDIN_FILENO);
	if (cdi_start(cd, err, errlen) < 0)
		goto err_close;
	return cd;
err_close:
	chardev_close(cd);
	return NULL;
err_nomem:
	snprintf(err, errlen, "stdio: out of memory");
	return NULL;
}

static struct chardev *cd_open_path(const char *path, struct evloop *loop,
				    char *err, size_t errlen)
{
	struct stat st;
	struct chardev *cd;
	bool file;
	int fd;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
		file = true; /* a new log file */
	} else {
		file = S_ISREG(st.st_mode);
	}
	if (!file && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		return NULL;
	}
	cd = cdi_alloc(loop, file ? CD_FILE : CD_PATH, path);
	if (!cd) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (file)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	else
		fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: open: %s", path, strerror(errno));
		goto err_close;
	}
	cd->out_fd = fd;
	if (!file) {
		cd->in_fd = fd;
		if (isatty(fd))
			cd->tty_slot = cd_tty_raw(fd);
	}
	if (cdi_start(cd, err, errlen) < 0)
		goto err_close;
	return cd;
err_close:
	chardev_close(cd);
	return NULL;
}

struct chardev *chardev_open(const char *spec, struct evloop *loop, char *err,
			     size_t errlen)
{
	struct chardev *cd;
	const char *eq;
	char peer[4096];

	if (!spec || !*spec) {
		snprintf(err, errlen, "console: empty backend (expected stdio, pty, tcp=addr:port, /dev/nmdmNA or a path)");
		return NULL;
	}
	if (!strcmp(spec, "stdio"))
		return cd_open_stdio(loop, err, errlen);
	if (!strcmp(spec, "pty"))
		return cdi_open_pty(spec, NULL, loop, err, errlen);
	if (cdi_nmdm_peer(spec, peer, sizeof(peer)))
		return cdi_open_pty(spec, peer, loop, err, errlen);
	if (!strncmp(spec, "tcp=", 4)) {
		cd = cdi_alloc(loop, CD_TCP, spec);
		if (!cd) {
			snprintf(err, errlen, "%s: out of memory", spec);
			return NULL;
		}
		if (cd_tcp_listen(cd, spec + 4, err, errlen) < 0) {
			chardev_close(cd);
			return NULL;
		}
		return cd;
	}
	eq = strchr(spec, '=');
	if (eq && !memchr(spec, '/', (size_t)(eq - spec))) {
		snprintf(err, errlen, "%s: unknown console backend (expected stdio, pty, tcp=addr:port, /dev/nmdmNA or a path)",
			 spec);
		return NULL;
	}
	return cd_open_path(spec, loop, err, errlen);
}

struct chardev *chardev_open_fds(int in_fd, int out_fd, struct evloop *loop,
				 char *err, size_t errlen)
{
	struct chardev *cd = cdi_alloc(loop, CD_FDS, "fds");

	if (!cd) {
		snprintf(err, errlen, "console fds: out of memory");
		if (in_fd >= 0)
			close(in_fd);
		if (out_fd >= 0 && out_fd != in_fd)
			close(out_fd);
		return NULL;
	}
	cd->in_fd = in_fd;
	cd->out_fd = out_fd;
	if (in_fd >= 0)
		fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
	if (out_fd >= 0 && out_fd != in_fd)
		fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
	cd->in_sock = cd_is_sock(in_fd);
	cd->out_sock = cd_is_sock(out_fd);
	if (cdi_start(cd, err, errlen) < 0) {
		chardev_close(cd);
		return NULL;
	}
	return cd;
}

void chardev_close(struct chardev *cd)
{
	int in_fd, out_fd;

	if (!cd)
		return;
	pthread_mutex_lock(&cd->lock);
	if (cd->olen && cd->out_fd >= 0)
		cdi_flush(cd); /* best effort, non-blocking (may drop a tcp client) */
	if (cd->kind == CD_PTY || cd->kind == CD_NMDM)
		cdi_pty_drain(cd); /* closing the master discards what is unread */
	in_fd = cd->in_fd;
	out_fd = cd->out_fd;
	cd->in_fd = cd->out_fd = -1;
	for (unsigned i = 0; i < CD_MAX_CLIENTS; i++)
		cdi_client_drop(cd, &cd->clients[i]);
	cdi_update_watches(cd);
	if (cd->listen_watched)
		ev_del_fd(cd->loop, cd->listen_fd);
	pthread_mutex_unlock(&cd->lock);
	ev_timer_free(cd->in_timer);
	cd_tty_restore(cd->tty_slot);
	if (cd->out_restore_flags >= 0 && out_fd >= 0)
		fcntl(out_fd, F_SETFL, cd->out_restore_flags);
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0 && out_fd != in_fd)
		close(out_fd);
	if (cd->listen_fd >= 0)
		close(cd->listen_fd);
	if (cd->link_path[0])
		cdi_unpublish(cd);
	if (cd->slave_fd >= 0)
		close(cd->slave_fd);
	if (cd->log_fd >= 0)
		close(cd->log_fd);
	pthread_mutex_destroy(&cd->lock);
	free(cd->obuf);
	free(cd->hist);
	free(cd);
}

int chardev_local_port(struct chardev *cd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!cd || cd->listen_fd < 0 ||
	    getsockname(cd->listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

void chardev_set_notify(struct chardev *cd, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&cd->lock);
	cd->notify = fn;
	cd->notify_opaque = opaque;
	pthread_mutex_unlock(&cd->lock);
}

size_t chardev_read(struct chardev *cd, void *buf, size_t n)
{
	uint8_t *b = buf;
	size_t got = 0;
	bool was_full;

	pthread_mutex_lock(&cd->lock);
	was_full = cd->ilen == CD_IBUF_SIZE;
	while (got < n && cd->ilen) {
		size_t seg = MIN(MIN(n - got, cd->ilen), CD_IBUF_SIZE - cd->ihead);
		memcpy(b + got, cd->ibuf + cd->ihead, seg);
		cd->ihead = (cd->ihead + seg) % CD_IBUF_SIZE;
		cd->ilen -= seg;
		got += seg;
	}
	if (!cd->ilen)
		cd->ihead = 0;
	if (was_full && got)
		cdi_update_watches(cd); /* resume reading input */
	pthread_mutex_unlock(&cd->lock);
	return got;
}

size_t chardev_pending(struct chardev *cd)
{
	size_t n;

	pthread_mutex_lock(&cd->lock);
	n = cd->ilen;
	pthread_mutex_unlock(&cd->lock);
	return n;
}

size_t chardev_write(struct chardev *cd, const void *buf, size_t n)
{
	const uint8_t *b = buf;
	size_t done = 0, room, take, tail;

	pthread_mutex_lock(&cd->lock);
	if (!n)
		goto out;
	cdi_record(cd, b, n);
	if (cd->out_fd < 0 || cd->out_dead)
		goto out;
	if (!cd->olen) {
		ssize_t r = cd_write_fd(cd, b, n);
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			cd_out_failed(cd, errno);
			goto out;
		}
		if (r > 0)
			done = (size_t)r;
	}
	if (done < n) {
		room = CD_OBUF_SIZE - cd->olen;
		take = MIN(room, n - done);
		tail = (cd->ohead + cd->olen) % CD_OBUF_SIZE;
		for (size_t i = 0; i < take; i++)
			cd->obuf[(tail + i) % CD_OBUF_SIZE] = b[done + i];
		cd->olen += take;
		done += take;
		if (done < n)
			log_rl(&cd->rl, LOG_INFO, "%s: output buffer full, dropping %zu bytes",
			       cd->desc, n - done);
		cdi_update_watches(cd);
	}
out:
	pthread_mutex_unlock(&cd->lock);
	return done;
}

bool chardev_connected(struct chardev *cd)
{
	bool c;

	pthread_mutex_lock(&cd->lock);
	c = cd->kind != CD_TCP || cd->in_fd >= 0;
	pthread_mutex_unlock(&cd->lock);
	return c;
}
