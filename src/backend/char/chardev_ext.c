/*
 * Console backend extensions (see lhyve/chardev.h and chardev.c): pty
 * pairs and nmdm-style published links, the output history ring, the log
 * file and attached clients. Same locking as chardev.c: cd->lock protects
 * all state; cdi_client_cb runs on the loop thread and calls the notify
 * callback without the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lhyve/util.h"
#include "chardev_int.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41) /* Linux 4.13 */
#endif

/* ---- history, log and attached clients (cd->lock held) ---- */

void cdi_client_drop(struct chardev *cd, struct cd_client *c)
{
	int fd = c->fd;

	if (fd < 0)
		return;
	c->fd = -1;
	cdi_update_watches(cd); /* removes the watch before the fd is closed */
	close(fd);
	log_info("%s: attached client left", cd->desc);
}

/* Non-blocking send to a client: what does not fit is dropped. */
static void cd_client_send(struct chardev *cd, struct cd_client *c, const void *buf,
			   size_t n)
{
	const uint8_t *b = buf;

	while (n && c->fd >= 0) {
		ssize_t r = send(c->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->dropped += n;
			return;
		}
		if (r <= 0) {
			cdi_client_drop(cd, c);
			return;
		}
		b += r;
		n -= (size_t)r;
	}
}

/* Every output byte: history ring, log file, attached clients. */
void cdi_record(struct chardev *cd, const void *buf, size_t n)
{
	const uint8_t *b = buf;

	cd->bytes_out += n;
	for (size_t i = n > CD_HIST_SIZE ? n - CD_HIST_SIZE : 0; i < n; i++) {
		cd->hist[cd->hist_head] = b[i];
		cd->hist_head = (cd->hist_head + 1) % CD_HIST_SIZE;
	}
	cd->hist_len = MIN(cd->hist_len + n, (size_t)CD_HIST_SIZE);
	if (cd->log_fd >= 0 && !cd->log_failed) {
		size_t done = 0;
		while (done < n) {
			ssize_t r = write(cd->log_fd, b + done, n - done);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				log_warn("%s: console log write failed (%s); log stopped", cd->desc,
					 r < 0 ? strerror(errno) : "short write");
				cd->log_failed = true;
				break;
			}
			done += (size_t)r;
		}
	}
	for (unsigned i = 0; i < CD_MAX_CLIENTS; i++)
		if (cd->clients[i].fd >= 0)
			cd_client_send(cd, &cd->clients[i], b, n);
}

/* Copy the history, oldest first (cd->lock held). */
static size_t cd_hist_copy(struct chardev *cd, uint8_t *out, size_t n)
{
	size_t take = MIN(n, cd->hist_len);
	size_t start = (cd->hist_head + CD_HIST_SIZE - take) % CD_HIST_SIZE;

	for (size_t i = 0; i < take; i++)
		out[i] = cd->hist[(start + i) % CD_HIST_SIZE];
	return take;
}

/* Input from an attached client (loop thread). */
void cdi_client_cb(void *opaque, uint32_t events)
{
	struct cd_client *c = opaque;
	struct chardev *cd = c->cd;
	size_t before;

	pthread_mutex_lock(&cd->lock);
	if (c->fd < 0) {
		pthread_mutex_unlock(&cd->lock);
		return;
	}
	before = cd->ilen;
	if (cd->ilen < CD_IBUF_SIZE) {
		size_t tail = (cd->ihead + cd->ilen) % CD_IBUF_SIZE;
		size_t seg = MIN(CD_IBUF_SIZE - cd->ilen, CD_IBUF_SIZE - tail);
		ssize_t r;

		do
			r = recv(c->fd, cd->ibuf + tail, seg, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r > 0)
			cd->ilen += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			cdi_client_drop(cd, c);
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		cdi_client_drop(cd, c);
	}
	cdi_update_watches(cd);
	cdi_input_done(cd, before);
}

/* ---- pty pairs ---- */

/* "…/nmdmXA" or "…/nmdmXB" (X non-empty): the other end's path, else false. */
bool cdi_nmdm_peer(const char *spec, char *peer, size_t len)
{
	const char *base = strrchr(spec, '/');
	size_t n = strlen(spec);

	base = base ? base + 1 : spec;
	if (strncmp(base, "nmdm", 4) != 0 || strlen(base) < 6 || n >= len ||
	    (spec[n - 1] != 'A' && spec[n - 1] != 'B'))
		return false;
	memcpy(peer, spec, n + 1);
	peer[n - 1] = spec[n - 1] == 'A' ? 'B' : 'A';
	return true;
}

void cdi_unpublish(struct chardev *cd)
{
	char cur[sizeof(cd->pty_path)];
	ssize_t n = readlink(cd->link_path, cur, sizeof(cur) - 1);

	if (n > 0) {
		cur[n] = '\0';
		if (strcmp(cur, cd->pty_path) == 0)
			unlink(cd->link_path);
	}
	cd->link_path[0] = '\0';
}

/* Symlink link -> the pty slave; replaces only a dangling old link. */
static int cd_publish(struct chardev *cd, const char *link, char *err, size_t errlen)
{
	for (int tries = 0; tries < 2; tries++) {
		struct stat st;

		if (symlink(cd->pty_path, link) == 0) {
			snprintf(cd->link_path, sizeof(cd->link_path), "%s", link);
			return 0;
		}
		if (errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s%s", link, strerror(errno),
				 errno == EACCES ? " (only root may create links in /dev; "
						   "use a writable directory or run as root)" : "");
			return -errno;
		}
		if (lstat(link, &st) < 0 || !S_ISLNK(st.st_mode) || stat(link, &st) == 0)
			break;
		unlink(link); /* a dangling link left by a killed bhyve */
	}
	snprintf(err, errlen, "%s already exists (another VM's console?); remove it first", link);
	return -EEXIST;
}

/*
 * Like FreeBSD's nmdm devices (uucp:dialer 0660): give the slave to user
 * uucp and group dialout where they exist, so cu(1), which drops to uucp,
 * can open it. Only root can; otherwise the caller's own pty stays as is.
 */
static void cdi_nmdm_owner(int fd)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[2048];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (geteuid() != 0)
		return;
	if (getpwnam_r("uucp", &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		uid = pwp->pw_uid;
	if (getgrnam_r("dialout", &gr, buf, sizeof(buf), &grp) == 0 && grp)
		gid = grp->gr_gid;
	if (fchown(fd, uid, gid) == 0)
		fchmod(fd, 0660);
}

/*
 * Output a client has not read yet from a pty slave. The poll comes first:
 * it also moves bytes still in flight (the tty layer's flip buffer, filled
 * by our master writes and emptied by a kernel worker) into the slave's
 * read buffer, which FIONREAD counts. A canonical-mode reader's unfinished
 * line counts as nothing: it cannot read it anyway.
 */
static size_t cd_pty_unread(int slave)
{
	struct pollfd p = { .fd = slave, .events = POLLIN };
	int n = 0;

	if (poll(&p, 1, 0) < 0)
		return 0;
	if (ioctl(slave, FIONREAD, &n) < 0 || n < 0)
		n = 0;
	return n ? (size_t)n : (p.revents & POLLIN) ? 1 : 0;
}

/*
 * Closing a pty master hangs up its slave, and the hangup throws away
 * whatever the slave's reader has not read yet: the last lines a guest
 * printed before it powered off would never reach cu(1) or socat. So while
 * output is unread (or still in our buffer) and somebody besides us has the
 * slave open, wait for them: as long as they make progress, at most
 * CD_DRAIN_MAX_NS in all and CD_DRAIN_IDLE_NS without progress.
 *
 * Whether anybody else has the slave open: with our own slave fd closed,
 * the master reports a hangup exactly when nobody does. Then there is
 * nothing to wait for; otherwise a new slave fd (TIOCGPTPEER: no path is
 * opened, so the sandbox allows it) lets us watch the unread count.
 */
void cdi_pty_drain(struct chardev *cd)
{
	struct pollfd p = { .fd = cd->in_fd, .events = POLLIN };
	const struct timespec tick = { 0, 1000000 };
	uint64_t start, moved;
	size_t left, prev;
	int fd;

	if (cd->slave_fd < 0 || cd->in_fd < 0 || cd->out_dead)
		return;
	cdi_flush(cd);
	if (!cd->olen && !cd_pty_unread(cd->slave_fd))
		return;
	close(cd->slave_fd);
	cd->slave_fd = -1;
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
		return; /* nobody else has the slave open */
	fd = ioctl(cd->in_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	cd->slave_fd = fd; /* closed by chardev_close */
	start = moved = now_ns();
	prev = SIZE_MAX;
	for (;;) {
		uint64_t now;

		cdi_flush(cd);
		left = cd->out_dead ? 0 : cd->olen + cd_pty_unread(fd);
		if (!left)
			return;
		now = now_ns();
		if (left != prev) {
			prev = left;
			moved = now;
		}
		if (now - moved >= CD_DRAIN_IDLE_NS || now - start >= CD_DRAIN_MAX_NS)
			break;
		nanosleep(&tick, NULL);
	}
	log_info("%s: closing with %zu bytes of output unread by the client", cd->desc, left);
}

struct chardev *cdi_open_pty(const char *spec, const char *link, struct evloop *loop,
				   char *err, size_t errlen)
{
	struct chardev *cd = cdi_alloc(loop, link ? CD_NMDM : CD_PTY, spec);
	struct termios tio;
	int fd;

	if (!cd) {
		snprintf(err, errlen, "%s: out of memory", spec);
		return NULL;
	}
	fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open a pty: %s", spec, strerror(errno));
		goto err_close;
	}
	cd->in_fd = cd->out_fd = fd;
	if (grantpt(fd) < 0 || unlockpt(fd) < 0 ||
	    ptsname_r(fd, cd->pty_path, sizeof(cd->pty_path)) != 0) {
		snprintf(err, errlen, "%s: cannot set up the pty: %s", spec, strerror(errno));
		goto err_close;
	}
	/* Hold the slave: the master then never reports a hangup between users. */
	cd->slave_fd = open(cd->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (cd->slave_fd < 0) {
		snprintf(err, errlen, "%s: cannot open %s: %s", spec, cd->pty_path, strerror(errno));
		goto err_close;
	}
	if (tcgetattr(cd->slave_fd, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(cd->slave_fd, TCSANOW, &tio);
	}
	if (link)
		cdi_nmdm_owner(cd->slave_fd);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (link && cd_publish(cd, link, err, errlen) < 0)
		goto err_close;
	if (cdi_start(cd, err, errlen) < 0)
		goto err_close;
	return cd;
err_close:
	chardev_close(cd);
	return NULL;
}

void chardev_describe(struct chardev *cd, char *kind, size_t kindlen, char *ep, size_t eplen)
{
	static const char *const kinds[] = {
		[CD_FDS] = "fds", [CD_STDIO] = "stdio", [CD_PATH] = "tty", [CD_FILE] = "file",
		[CD_TCP] = "tcp", [CD_PTY] = "pty", [CD_NMDM] = "nmdm",
	};
	const char *name = cd->desc + strlen("console ");

	pthread_mutex_lock(&cd->lock);
	snprintf(kind, kindlen, "%s", kinds[cd->kind]);
	switch (cd->kind) {
	case CD_PTY:
		snprintf(ep, eplen, "%s", cd->pty_path);
		break;
	case CD_NMDM:
		snprintf(ep, eplen, "%s %s", cd->link_path, cd->pty_path);
		break;
	case CD_TCP: {
		const char *colon = strrchr(name + 4, ':');
		int port = chardev_local_port(cd);
		snprintf(ep, eplen, "%.*s:%d", colon ? (int)(colon - name - 4) : 0, name + 4, port);
		break;
	}
	case CD_PATH:
	case CD_FILE:
		snprintf(ep, eplen, "%s", name);
		break;
	case CD_FDS:
	case CD_STDIO:
		snprintf(ep, eplen, "-");
		break;
	}
	pthread_mutex_unlock(&cd->lock);
}

const char *chardev_pty_path(struct chardev *cd)
{
	return cd->pty_path[0] ? cd->pty_path : NULL;
}

int chardev_set_log(struct chardev *cd, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&cd->lock);
	if (cd->log_fd >= 0)
		close(cd->log_fd);
	cd->log_fd = fd;
	cd->log_failed = false;
	pthread_mutex_unlock(&cd->lock);
	return 0;
}

size_t chardev_history(struct chardev *cd, void *buf, size_t n)
{
	size_t got;

	pthread_mutex_lock(&cd->lock);
	got = cd_hist_copy(cd, buf, n);
	pthread_mutex_unlock(&cd->lock);
	return got;
}

int chardev_attach(struct chardev *cd, int fd, const void *early, size_t nearly)
{
	struct cd_client *c = NULL;
	void (*fn)(void *) = NULL;
	void *fn_opaque = NULL;
	uint8_t *hist;
	size_t nhist;
	int sndbuf = 2 * CD_HIST_SIZE;

	hist = malloc(CD_HIST_SIZE);
	if (!hist)
		return -ENOMEM;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&cd->lock);
	for (unsigned i = 0; i < CD_MAX_CLIENTS && !c; i++)
		if (cd->clients[i].fd < 0)
			c = &cd->clients[i];
	if (!c) {
		pthread_mutex_unlock(&cd->lock);
		free(hist);
		return -EBUSY;
	}
	c->fd = fd;
	c->dropped = 0;
	/* History first, under the lock, so no live byte overtakes it. */
	nhist = cd_hist_copy(cd, hist, CD_HIST_SIZE);
	cd_client_send(cd, c, hist, nhist);
	if (nearly && c->fd >= 0) {
		size_t take = MIN(nearly, CD_IBUF_SIZE - cd->ilen);
		const uint8_t *e = early;
		for (size_t i = 0; i < take; i++)
			cd->ibuf[(cd->ihead + cd->ilen + i) % CD_IBUF_SIZE] = e[i];
		cd->ilen += take;
		cd->bytes_in += take;
		if (take) {
			fn = cd->notify;
			fn_opaque = cd->notify_opaque;
		}
	}
	cdi_update_watches(cd);
	pthread_mutex_unlock(&cd->lock);
	free(hist);
	log_info("%s: client attached", cd->desc);
	if (fn)
		fn(fn_opaque);
	return 0;
}

void chardev_stats(struct chardev *cd, uint64_t *in, uint64_t *out, unsigned *clients)
{
	unsigned n = 0;

	pthread_mutex_lock(&cd->lock);
	*in = cd->bytes_in;
	*out = cd->bytes_out;
	for (unsigned i = 0; i < CD_MAX_CLIENTS; i++)
		n += cd->clients[i].fd >= 0;
	*clients = n;
	pthread_mutex_unlock(&cd->lock);
}
