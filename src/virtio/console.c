/*
 * virtio-console (virtio 1.2 §5.3): up to 16 ports, each a listening UNIX
 * socket that serves one connection at a time (later connections are
 * closed at once). With more than one port, or any named port, the device
 * offers VIRTIO_CONSOLE_F_MULTIPORT and runs the control queues.
 *
 * Threading: everything (kicks, socket callbacks) runs under v->lock on the
 * event loop thread. Guest->host data that the socket cannot take right
 * now stays pending (chain + offset) until EPOLLOUT; host->guest data is
 * read only while the guest has receive buffers (no loss, no busy loop).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

#define CONS_F_MULTIPORT 1
#define CONS_MAX_PORTS 16
#define CONS_QSIZE 64
#define CONS_CTRL_PENDING 128
#define CONS_NAME_MAX 255

/* Control events (§5.3.6.2). */
#define CTL_DEVICE_READY 0
#define CTL_DEVICE_ADD 1
#define CTL_PORT_READY 3
#define CTL_CONSOLE_PORT 4
#define CTL_PORT_OPEN 6
#define CTL_PORT_NAME 7

struct cons;

struct cons_port {
	struct cons *sc;
	unsigned id;
	char *name;
	char *path;
	int lfd, cfd;
	bool rx_stalled;
	bool parked;      /* peer hung up, data left, no guest buffers: cfd not in epoll */
	bool guest_open;
	bool ready;       /* driver sent PORT_READY */
	uint32_t mask;
	/* pending guest->host chain */
	bool tx_pending;
	struct vq_chain txc;
	size_t txoff;
	struct iovec txiov[CONS_QSIZE];
	struct iovec rxiov[CONS_QSIZE];
};

struct cons_msg {
	uint16_t len;
	uint8_t data[8 + CONS_NAME_MAX];
};

struct cons {
	struct virtio_dev v;
	bool multiport;
	bool running;
	unsigned nports;
	struct cons_port port[CONS_MAX_PORTS];
	struct cons_msg ctl[CONS_CTRL_PENDING]; /* device->driver control FIFO */
	unsigned ctl_head, ctl_count;
	struct iovec ctliov[CONS_QSIZE];
	struct ratelimit rl;
};

const char *const console_config_keys[] = { "port.*.name", "port.*.path", NULL };

static unsigned cons_rxq(const struct cons_port *p)
{
	return p->id == 0 ? 0 : 2 + 2 * p->id;
}

static unsigned cons_txq(const struct cons_port *p)
{
	return cons_rxq(p) + 1;
}

static void cons_conn_event(void *opaque, uint32_t events);

static void cons_update_mask(struct cons_port *p)
{
	uint32_t m = 0;

	if (p->cfd < 0)
		return;
	if (p->sc->running && !p->rx_stalled)
		m |= EPOLLIN;
	if (p->tx_pending)
		m |= EPOLLOUT;
	if (p->parked) {
		/* EPOLLHUP cannot be masked: re-watch only once we can read. */
		if (!p->rx_stalled &&
		    ev_add_fd(p->sc->v.loop, p->cfd, m, cons_conn_event, p) == 0) {
			p->parked = false;
			p->mask = m;
		}
		return;
	}
	if (m != p->mask && ev_mod_fd(p->sc->v.loop, p->cfd, m) == 0)
		p->mask = m;
}

/* Send queued control messages to the driver (ctrl receiveq = 2). */
static void cons_ctl_flush(struct cons *sc)
{
	struct virtqueue *vq = &sc->v.vq[2];
	struct vq_chain c = { .iov = sc->ctliov, .max_iov = CONS_QSIZE };

	if (!sc->multiport || !sc->running)
		return;
	while (sc->ctl_count) {
		struct cons_msg *m = &sc->ctl[sc->ctl_head];
		if (vq_pop(vq, &c) <= 0)
			break;
		size_t k = vq_iov_from_buf(c.iov + c.nout, c.nin, 0, m->data, m->len);
		vq_push(vq, c.head, (uint32_t)k);
		sc->ctl_head = (sc->ctl_head + 1) % CONS_CTRL_PENDING;
		sc->ctl_count--;
	}
	vq_notify(vq);
}

static void cons_ctl_send(struct cons *sc, unsigned id, uint16_t event, uint16_t value,
			  const char *extra)
{
	struct cons_msg *m;
	size_t xl = extra ? strlen(extra) : 0;

	if (!sc->multiport)
		return;
	if (sc->ctl_count == CONS_CTRL_PENDING) {
		log_rl(&sc->rl, LOG_WARN, "virtio-console: control queue overflow");
		return;
	}
	m = &sc->ctl[(sc->ctl_head + sc->ctl_count) % CONS_CTRL_PENDING];
	put_le32(m->data, id);
	put_le16(m->data + 4, event);
	put_le16(m->data + 6, value);
	if (xl)
		memcpy(m->data + 8, extra, xl);
	m->len = (uint16_t)(8 + xl);
	sc->ctl_count++;
	cons_ctl_flush(sc);
}

static void cons_disconnect(struct cons_port *p)
{
	if (p->cfd < 0)
		return;
	if (!p->parked)
		ev_del_fd(p->sc->v.loop, p->cfd);
	p->parked = false;
	close(p->cfd);
	p->cfd = -1;
	p->mask = 0;
	if (p->tx_pending) {
		struct virtqueue *vq = &p->sc->v.vq[cons_txq(p)];
		vq_push(vq, p->txc.head, 0);
		vq_notify(vq);
		p->tx_pending = false;
	}
	if (p->sc->running && p->ready)
		cons_ctl_send(p->sc, p->id, CTL_PORT_OPEN, 0, NULL);
}

/* Host -> guest (v->lock held). */
static void cons_port_rx(struct cons_port *p)
{
	struct virtqueue *vq = &p->sc->v.vq[cons_rxq(p)];
	struct vq_chain c = { .iov = p->rxiov, .max_iov = CONS_QSIZE };
	int rc;

	if (p->cfd < 0 || !p->sc->running)
		return;
	for (unsigned n = 0; n < 64; n++) {
		rc = vq_pop(vq, &c);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (vq_enable_notify(vq))
				continue;
			p->rx_stalled = true;
			break;
		}
		if (c.nin == 0) {
			vq_push(vq, c.head, 0);
			continue;
		}
		ssize_t r = readv(p->cfd, c.iov + c.nout, (int)c.nin);
		if (r > 0) {
			vq_push(vq, c.head, (uint32_t)r);
			continue;
		}
		vq_unpop(vq, 1);
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			cons_disconnect(p);
		break;
	}
	vq_notify(vq);
	cons_update_mask(p);
}

/* Write the pending chain; true when it is done. */
static bool cons_tx_flush(struct cons_port *p)
{
	struct virtqueue *vq = &p->sc->v.vq[cons_txq(p)];
	struct iovec s[CONS_QSIZE];

	while (p->tx_pending) {
		unsigned n = vq_iov_slice(p->txc.iov, p->txc.nout, p->txoff,
					  p->txc.out_bytes - p->txoff, s, CONS_QSIZE);
		struct msghdr mh = { .msg_iov = s, .msg_iovlen = n };
		ssize_t w = n ? sendmsg(p->cfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return false;
		if (w < 0) {
			cons_disconnect(p);
			return true;
		}
		p->txoff += (size_t)w;
		if (p->txoff >= p->txc.out_bytes) {
			p->tx_pending = false;
			vq_push(vq, p->txc.head, 0);
		}
	}
	return true;
}

/* Guest -> host (v->lock held). Without a connection data is discarded. */
static void cons_port_tx(struct cons_port *p)
{
	struct virtqueue *vq = &p->sc->v.vq[cons_txq(p)];
	int rc;

	do {
		if (p->tx_pending && !cons_tx_flush(p))
			break;
		vq_set_notify(vq, false);
		p->txc.iov = p->txiov;
		p->txc.max_iov = CONS_QSIZE;
		while ((rc = vq_pop(vq, &p->txc)) > 0) {
			if (p->cfd < 0) {
				vq_push(vq, p->txc.head, 0);
				continue;
			}
			p->tx_pending = true;
			p->txoff = 0;
			if (!cons_tx_flush(p))
				break;
		}
		if (rc < 0 || p->tx_pending)
			break;
	} while (vq_enable_notify(vq));
	if (p->tx_pending)
		vq_set_notify(vq, true);
	vq_notify(vq);
	cons_update_mask(p);
}

static void cons_conn_event(void *opaque, uint32_t events)
{
	struct cons_port *p = opaque;
	struct cons *sc = p->sc;

	virtio_lock(&sc->v);
	if (p->cfd >= 0 && (events & EPOLLOUT))
		cons_port_tx(p);
	if (p->cfd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && sc->running)
		cons_port_rx(p);
	if (p->cfd >= 0 && (events & (EPOLLHUP | EPOLLERR))) {
		char b;
		if (!sc->running || recv(p->cfd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
			cons_disconnect(p);
		} else if (p->rx_stalled && !p->parked) {
			ev_del_fd(sc->v.loop, p->cfd);
			p->parked = true;
		}
	}
	virtio_unlock(&sc->v);
}

static void cons_accept_event(void *opaque, uint32_t events)
{
	struct cons_port *p = opaque;
	struct cons *sc = p->sc;
	int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	virtio_lock(&sc->v);
	if (p->cfd >= 0) {
		close(fd); /* one connection at a time */
	} else if (ev_add_fd(sc->v.loop, fd, 0, cons_conn_event, p) < 0) {
		close(fd);
	} else {
		p->cfd = fd;
		p->mask = 0;
		p->rx_stalled = false;
		cons_update_mask(p);
		if (sc->running && p->ready)
			cons_ctl_send(sc, p->id, CTL_PORT_OPEN, 1, NULL);
	}
	virtio_unlock(&sc->v);
}

/* Driver -> device control messages (ctrl transmitq = 3). */
static void cons_ctl_rx(struct cons *sc)
{
	struct virtqueue *vq = &sc->v.vq[3];
	struct vq_chain c = { .iov = sc->ctliov, .max_iov = CONS_QSIZE };
	uint8_t m[8];

	while (vq_pop(vq, &c) > 0) {
		if (vq_iov_to_buf(c.iov, c.nout, 0, m, 8) == 8) {
			uint32_t id = get_le32(m);
			uint16_t ev = get_le16(m + 4), val = get_le16(m + 6);
			struct cons_port *p = id < sc->nports ? &sc->port[id] : NULL;

			if (ev == CTL_DEVICE_READY && val == 1) {
				for (unsigned i = 0; i < sc->nports; i++)
					cons_ctl_send(sc, i, CTL_DEVICE_ADD, 0, NULL);
			} else if (ev == CTL_PORT_READY && p && val == 1) {
				p->ready = true;
				if (p->name)
					cons_ctl_send(sc, id, CTL_PORT_NAME, 0, p->name);
				if (p->cfd >= 0)
					cons_ctl_send(sc, id, CTL_PORT_OPEN, 1, NULL);
			} else if (ev == CTL_PORT_OPEN && p) {
				p->guest_open = val != 0;
			} else if (ev != CTL_PORT_READY) {
				log_rl(&sc->rl, LOG_DEBUG,
				       "virtio-console: control event %u for port %u ignored", ev, id);
			}
		}
		vq_push(vq, c.head, 0);
	}
	vq_notify(vq);
}

static void cons_queue_notify(struct virtio_dev *v, unsigned q)
{
	struct cons *sc = container_of(v, struct cons, v);

	if (sc->multiport && q == 2) {
		cons_ctl_flush(sc);
		return;
	}
	if (sc->multiport && q == 3) {
		cons_ctl_rx(sc);
		return;
	}
	for (unsigned i = 0; i < sc->nports; i++) {
		struct cons_port *p = &sc->port[i];
		if (q == cons_rxq(p)) {
			p->rx_stalled = false;
			cons_port_rx(p);
		} else if (q == cons_txq(p)) {
			cons_port_tx(p);
		}
	}
}

static void cons_start(struct virtio_dev *v)
{
	struct cons *sc = container_of(v, struct cons, v);

	sc->running = true;
	for (unsigned i = 0; i < sc->nports; i++) {
		sc->port[i].rx_stalled = false;
		cons_update_mask(&sc->port[i]);
	}
}

static void cons_reset(struct virtio_dev *v)
{
	struct cons *sc = container_of(v, struct cons, v);

	sc->running = false;
	sc->ctl_head = sc->ctl_count = 0;
	for (unsigned i = 0; i < sc->nports; i++) {
		struct cons_port *p = &sc->port[i];
		p->tx_pending = false;
		p->guest_open = false;
		p->ready = false;
		cons_update_mask(p);
	}
}

static void cons_free(struct cons *sc)
{
	for (unsigned i = 0; i < sc->nports; i++) {
		struct cons_port *p = &sc->port[i];
		if (p->cfd >= 0) {
			if (!p->parked)
				ev_del_fd(sc->v.loop, p->cfd);
			close(p->cfd);
		}
		if (p->lfd >= 0) {
			ev_del_fd(sc->v.loop, p->lfd);
			close(p->lfd);
			unlink(p->path);
		}
		free(p->name);
		free(p->path);
	}
	free(sc);
}

static void cons_destroy(struct virtio_dev *v)
{
	struct cons *sc = container_of(v, struct cons, v);

	virtio_dev_fini(&sc->v);
	cons_free(sc);
}

static const struct virtio_dev_ops cons_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.max_queue_size = CONS_QSIZE,
	.queue_notify = cons_queue_notify,
	.start = cons_start,
	.reset = cons_reset,
	.destroy = cons_destroy,
};

static int cons_listen(struct cons_port *p, struct evloop *loop, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(p->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "virtio-console: socket path too long: %s", p->path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, p->path);
	if (lstat(p->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(p->path); /* stale socket from an earlier run */
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(p->lfd, 1) < 0) {
		int e = errno;
		snprintf(err, errlen, "virtio-console: %s: %s", p->path, strerror(e));
		if (p->lfd >= 0)
			close(p->lfd);
		p->lfd = -1;
		return -e;
	}
	if (loop && ev_add_fd(loop, p->lfd, EPOLLIN, cons_accept_event, p) < 0) {
		snprintf(err, errlen, "virtio-console: %s: cannot watch socket", p->path);
		close(p->lfd);
		unlink(p->path);
		p->lfd = -1;
		return -EIO;
	}
	return 0;
}

struct cons_enum {
	unsigned n;
	unsigned long num[CONS_MAX_PORTS + 1];
};

static int cons_enum_child(void *opaque, const char *name)
{
	struct cons_enum *e = opaque;
	char *end;
	unsigned long v = strtoul(name, &end, 10);

	if (*end || end == name || e->n > CONS_MAX_PORTS)
		return -EINVAL;
	e->num[e->n++] = v;
	return 0;
}

static int cons_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

struct virtio_dev *console_create(const struct virtio_env *env, struct config *cfg,
				  const char *node, char *err, size_t errlen)
{
	struct cons_enum e = { 0 };
	struct cons *sc;
	char k[300];
	unsigned nq;

	snprintf(k, sizeof(k), "%s.port", node);
	if (config_foreach_child(cfg, k, cons_enum_child, &e) < 0 || e.n > CONS_MAX_PORTS) {
		snprintf(err, errlen, "virtio-console: bad port numbers (at most %d ports)",
			 CONS_MAX_PORTS);
		return NULL;
	}
	if (e.n == 0) {
		snprintf(err, errlen, "virtio-console: no ports (port1=/path/to/sock)");
		return NULL;
	}
	qsort(e.num, e.n, sizeof(e.num[0]), cons_cmp);
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		snprintf(err, errlen, "virtio-console: out of memory");
		return NULL;
	}
	sc->rl = (struct ratelimit)RATELIMIT_INIT;
	for (unsigned i = 0; i < e.n; i++) {
		struct cons_port *p = &sc->port[i];
		const char *path, *name;

		p->sc = sc;
		p->id = i;
		p->lfd = p->cfd = -1;
		sc->nports = i + 1;
		snprintf(k, sizeof(k), "%s.port.%lu.path", node, e.num[i]);
		path = config_get(cfg, k);
		snprintf(k, sizeof(k), "%s.port.%lu.name", node, e.num[i]);
		name = config_get(cfg, k);
		if (!path || !*path) {
			snprintf(err, errlen, "virtio-console: port %lu has no path", e.num[i]);
			goto err_free;
		}
		if (name && (strlen(name) > CONS_NAME_MAX || !*name)) {
			snprintf(err, errlen, "virtio-console: bad port name '%s'", name);
			goto err_free;
		}
		p->path = strdup(path);
		p->name = name ? strdup(name) : NULL;
		if (!p->path || (name && !p->name)) {
			snprintf(err, errlen, "virtio-console: out of memory");
			goto err_free;
		}
		if (p->name)
			sc->multiport = true;
	}
	if (sc->nports > 1)
		sc->multiport = true;
	nq = sc->multiport ? 2 + 2 * sc->nports : 2;
	if (virtio_dev_init(&sc->v, &cons_ops, env, nq,
			    sc->multiport ? VIRTIO_BIT(CONS_F_MULTIPORT) : 0) < 0) {
		snprintf(err, errlen, "virtio-console: out of memory");
		goto err_free;
	}
	put_le32(sc->v.config + 4, sc->nports);
	sc->v.config_len = 12;
	for (unsigned i = 0; i < sc->nports; i++)
		if (cons_listen(&sc->port[i], env->loop, err, errlen) < 0)
			goto err_dev;
	return &sc->v;
err_dev:
	virtio_dev_fini(&sc->v);
err_free:
	cons_free(sc);
	return NULL;
}

/* "port1=/a.sock,port2=/b.sock" or libvirt's "org.qemu.guest_agent.0=/x". */
int console_legacy_config(struct config *cfg, const char *node, const char *conf,
			  char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	char key[600];
	bool used[CONS_MAX_PORTS + 1] = { false };
	int rc = 0;

	if (!conf || !*conf)
		return 0;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		copy = strdup(conf);
		if (!copy)
			return -ENOMEM;
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(tok, '=');
			char *end;
			unsigned long n = 0;
			bool numbered;

			if (!eq || eq == tok || !eq[1]) {
				snprintf(err, errlen, "virtio-console: invalid option '%s'", tok);
				rc = -EINVAL;
				break;
			}
			*eq = '\0';
			numbered = strncmp(tok, "port", 4) == 0 && tok[4] &&
				   (n = strtoul(tok + 4, &end, 10), *end == '\0');
			if (numbered && pass == 0) {
				if (n < 1 || n > CONS_MAX_PORTS || used[n]) {
					snprintf(err, errlen, "virtio-console: invalid port '%s'", tok);
					rc = -EINVAL;
					break;
				}
				used[n] = true;
				snprintf(key, sizeof(key), "%s.port.%lu.path", node, n);
				rc = config_set(cfg, key, eq + 1);
			} else if (!numbered && pass == 1) {
				for (n = 1; n <= CONS_MAX_PORTS && used[n]; n++)
					;
				if (n > CONS_MAX_PORTS) {
					snprintf(err, errlen, "virtio-console: more than %d ports",
						 CONS_MAX_PORTS);
					rc = -EINVAL;
					break;
				}
				used[n] = true;
				snprintf(key, sizeof(key), "%s.port.%lu.name", node, n);
				rc = config_set(cfg, key, tok);
				snprintf(key, sizeof(key), "%s.port.%lu.path", node, n);
				if (!rc)
					rc = config_set(cfg, key, eq + 1);
			}
			if (rc) {
				snprintf(err, errlen, "virtio-console: invalid option '%s'", tok);
				break;
			}
		}
		free(copy);
	}
	return rc;
}
