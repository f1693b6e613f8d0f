/*
 * virtio-net (virtio 1.2 §5.1) over a network backend (lhyve/netbe.h).
 *
 * One RX/TX queue pair, no control queue. Frames carry the 12-byte
 * virtio_net_hdr both in the guest and on the backend, so checksum/TSO
 * offloads pass straight through (the tap is told what the guest accepts
 * with TUNSETOFFLOAD).
 *
 * Threading: everything runs under v->lock: queue kicks (event loop, via
 * virtio_queue_notify) and the backend fd callback (event loop).
 *
 * RX reads one frame per readv straight into the guest's buffers
 * (net_rx_direct): the chains for the expected size are popped first, and
 * a bounce buffer as the last iovec takes what does not fit. A frame that
 * overflowed is put together in the bounce buffer and delivered from there
 * (net_deliver), as is any frame when the first chain is unusual. With no
 * RX buffers nothing is read: frames wait in the backend, the fd is no
 * longer polled for input, and delivery resumes on the next RX kick
 * (nothing is dropped). TX that the backend cannot take (EAGAIN) waits for
 * EPOLLOUT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/netbe.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

/* Feature bits (§5.1.3). */
#define NET_F_CSUM 0
#define NET_F_GUEST_CSUM 1
#define NET_F_MTU 3
#define NET_F_MAC 5
#define NET_F_GUEST_TSO4 7
#define NET_F_GUEST_TSO6 8
#define NET_F_GUEST_ECN 9
#define NET_F_HOST_TSO4 11
#define NET_F_HOST_TSO6 12
#define NET_F_HOST_ECN 13
#define NET_F_MRG_RXBUF 15
#define NET_F_STATUS 16
#define NET_S_LINK_UP 1

#define NET_QSIZE 256
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_HDR NETBE_HDR_LEN
#define NET_RXBUF (NET_HDR + 65536 + 4096)
#define NET_MAX_FRAMES 256 /* per fd event, for fairness */
#define NET_TX_BATCH 32    /* TX completions returned at once */
#define NET_RX_POLL_MAX_AVG 4096 /* tap polling only for frames this small on average */
#define NET_RXD_IOV 1024   /* iovecs of one direct read (IOV_MAX), the last the bounce buffer */
#define NET_RXD_MIN 4096   /* direct reads after a frame larger than this */

struct net {
	struct virtio_dev v;
	struct netbe *be;
	int fd;
	bool watched;
	bool rx_polled;   /* fd out of epoll while the RX poller reads it */
	uint32_t mask;
	bool running;
	bool rx_stalled;  /* waiting for RX buffers */
	bool tx_blocked;  /* waiting for EPOLLOUT */
	bool mrg;         /* MRG_RXBUF negotiated */
	bool guest_csum;
	bool rx_progress; /* small frames delivered since the RX poller looked; atomic */
	struct ev_poller *rxpoll; /* tap polling after a burst (virtio.poll_us) */
	uint8_t *rxbuf;
	size_t rxlen;     /* pending frame (with header), 0: none */
	size_t rxhint;    /* length of the last frame received (direct reads) */
	unsigned rxdn;    /* chains kept popped after EAGAIN (direct reads) */
	uint8_t mac[6];
	uint16_t mtu;
	struct iovec rxiov[NET_QSIZE];
	struct iovec txiov[NET_QSIZE];
	struct vq_used_elem used[NET_QSIZE];
	struct iovec rxdiov[NET_RXD_IOV]; /* direct read: the chains' buffers, then rxbuf */
	unsigned rxdnin[NET_QSIZE];       /* direct read: iovecs of each chain */
	uint32_t rxdcap[NET_QSIZE];       /* direct read: bytes of each chain */
	struct vq_used_elem txdone[NET_TX_BATCH];
	struct ratelimit rl;
};

const char *const net_config_keys[] = { "path", "backend", "mac", "mtu", NULL };

static void net_fd_event(void *opaque, uint32_t events);

/* The fd events the device waits for (v->lock held). */
static uint32_t net_wanted_events(const struct net *sc)
{
	uint32_t m = 0;

	if (sc->running && !sc->rx_stalled)
		m |= EPOLLIN;
	if (sc->running && sc->tx_blocked)
		m |= EPOLLOUT;
	return m;
}

/* Put the fd back into epoll after the RX poller had it out (v->lock held). */
static void net_rewatch(struct net *sc, uint32_t m)
{
	if (ev_add_fd(sc->v.loop, sc->fd, m, net_fd_event, sc) < 0) {
		log_rl(&sc->rl, LOG_WARN, "virtio-net: cannot watch the backend again");
		return;
	}
	sc->rx_polled = false;
	sc->mask = m;
}

/* v->lock held. */
static void net_update_mask(struct net *sc)
{
	uint32_t m = net_wanted_events(sc);

	if (sc->rx_polled) {
		/* the RX poller reads the fd; only a blocked TX needs epoll */
		if (m & EPOLLOUT)
			net_rewatch(sc, m);
		return;
	}
	if (sc->watched && m != sc->mask && ev_mod_fd(sc->v.loop, sc->fd, m) == 0)
		sc->mask = m;
}

/*
 * Put the pending frame into guest buffers. Returns false if the guest has
 * not enough buffers (nothing consumed), true if delivered or dropped.
 */
static bool net_deliver(struct net *sc)
{
	struct virtqueue *vq = &sc->v.vq[NET_RXQ];
	struct vq_chain c = { .iov = sc->rxiov, .max_iov = NET_QSIZE };
	uint8_t *nb[2] = { NULL, NULL };
	size_t off = 0;
	unsigned n = 0;
	int rc;

	if (!sc->guest_csum)
		sc->rxbuf[0] = 0; /* no DATA_VALID/NEEDS_CSUM without GUEST_CSUM */
	while (off < sc->rxlen) {
		rc = vq_pop(vq, &c);
		if (rc < 0)
			return true; /* queue broken: drop */
		if (rc == 0) {
			vq_unpop(vq, n);
			return false;
		}
		struct iovec *in = c.iov + c.nout;
		if ((n == 0 && c.in_bytes < NET_HDR) || (!sc->mrg && c.in_bytes < sc->rxlen)) {
			log_rl(&sc->rl, LOG_WARN, "virtio-net: RX buffer too small (%llu < %zu)",
			       (unsigned long long)c.in_bytes, sc->rxlen);
			vq_push(vq, c.head, 0);
			for (unsigned i = 0; i < n; i++)
				vq_push(vq, sc->used[i].head, 0);
			return true;
		}
		size_t k = vq_iov_from_buf(in, c.nin, 0, sc->rxbuf + off, sc->rxlen - off);
		if (n == 0) {
			struct iovec s[2];
			unsigned m = vq_iov_slice(in, c.nin, 10, 2, s, 2);
			nb[0] = s[0].iov_base;
			nb[1] = m == 2 ? s[1].iov_base : (uint8_t *)s[0].iov_base + 1;
		}
		sc->used[n].head = c.head;
		sc->used[n].len = (uint32_t)k;
		n++;
		off += k;
		if (k == 0 || n >= NET_QSIZE) {
			/* Zero-sized buffers or too many: give up on this frame. */
			for (unsigned i = 0; i < n; i++)
				vq_push(vq, sc->used[i].head, 0);
			return true;
		}
	}
	/* num_buffers (le16 at offset 10) */
	*nb[0] = (uint8_t)n;
	*nb[1] = (uint8_t)(n >> 8);
	vq_push_n(vq, sc->used, n);
	return true;
}

enum { RXD_EMPTY, RXD_DONE, RXD_NOBUF, RXD_PENDING, RXD_DROPPED };

/* Read one frame into the bounce buffer (sc->rxlen); RXD_* (v->lock held). */
static int net_rx_bounce(struct net *sc)
{
	ssize_t r;

	do {
		r = read(sc->fd, sc->rxbuf, NET_RXBUF);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno != EAGAIN)
			log_rl(&sc->rl, LOG_WARN, "virtio-net: backend read: %s", strerror(errno));
		return RXD_EMPTY;
	}
	if (r < NET_HDR + 14)
		return RXD_DROPPED; /* runt frame */
	sc->rxlen = (size_t)r;
	sc->rxhint = (size_t)r;
	return RXD_PENDING;
}

/*
 * Read the next frame straight into guest RX buffers (v->lock held).
 * Chains are popped for the expected frame size (an MTU-sized frame, or
 * the last frame's size if larger: a TSO stream); the bounce buffer follows
 * them in the iovec array and takes any excess. Returns RXD_DONE (delivered,
 * *len = its length), RXD_EMPTY (no frame), RXD_NOBUF (no buffers, nothing
 * read), RXD_DROPPED, or RXD_PENDING: the frame (or one that needs the
 * careful path) is in the bounce buffer for net_deliver.
 */
static int net_rx_direct(struct net *sc, size_t *len)
{
	struct virtqueue *vq = &sc->v.vq[NET_RXQ];
	size_t want = NET_HDR + 18 + (size_t)sc->mtu, cap = 0, left;
	unsigned n = sc->rxdn, niov = 0, used;
	const uint8_t zero = 0;
	uint8_t nbuf[2];
	ssize_t r;
	int rc;

	/* chains popped by a read that found nothing are used first */
	for (unsigned i = 0; i < n; i++) {
		niov += sc->rxdnin[i];
		cap += sc->rxdcap[i];
	}
	sc->rxdn = 0;
	if (sc->mrg && sc->rxhint > want)
		want = sc->rxhint;
	while (cap < want && (sc->mrg || n == 0) && n < NET_QSIZE &&
	       niov + NET_QSIZE < NET_RXD_IOV) {
		struct vq_chain c = { .iov = sc->rxdiov + niov, .max_iov = NET_QSIZE };

		rc = vq_pop(vq, &c);
		if (rc < 0) {
			/* broken queue (NEEDS_RESET): frames are dropped (and
			 * the chains popped before are of no matter) */
			if (net_rx_bounce(sc) != RXD_PENDING)
				return RXD_EMPTY;
			sc->rxlen = 0;
			return RXD_DROPPED;
		}
		if (rc == 0)
			break;
		if (c.in_bytes == 0 || (n == 0 && c.in_bytes < NET_HDR)) {
			/* odd buffers: net_deliver decides (drops, and says so) */
			vq_unpop(vq, n + 1);
			return net_rx_bounce(sc);
		}
		if (c.nout) /* readable descriptors in an RX chain: skip them */
			memmove(c.iov, c.iov + c.nout, c.nin * sizeof(*c.iov));
		sc->used[n].head = c.head;
		sc->rxdnin[n] = c.nin;
		sc->rxdcap[n] = (uint32_t)c.in_bytes;
		niov += c.nin;
		cap += c.in_bytes;
		n++;
	}
	if (n == 0)
		return RXD_NOBUF;
	sc->rxdiov[niov].iov_base = sc->rxbuf;
	sc->rxdiov[niov].iov_len = NET_RXBUF;
	do {
		r = readv(sc->fd, sc->rxdiov, (int)niov + 1);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN) {
		/* Keep the chains for the next frame: a poll round that finds
		 * nothing then costs one read, no pop and unpop. */
		sc->rxdn = n;
		return RXD_EMPTY;
	}
	if (r < NET_HDR + 14 || ((size_t)r > cap && (size_t)r > NET_RXBUF)) {
		/* The guest's buffers were written but are still the device's. */
		vq_unpop(vq, n);
		if (r < 0)
			log_rl(&sc->rl, LOG_WARN, "virtio-net: backend read: %s", strerror(errno));
		return r < 0 ? RXD_EMPTY : RXD_DROPPED;
	}
	sc->rxhint = (size_t)r;
	if ((size_t)r > cap) {
		if (!sc->mrg) {
			log_rl(&sc->rl, LOG_WARN, "virtio-net: RX buffer too small (%zu < %zd)",
			       cap, r);
			sc->used[0].len = 0;
			vq_push_n(vq, sc->used, 1);
			return RXD_DROPPED;
		}
		/* Put the frame together in the bounce buffer: head from the
		 * guest's buffers, tail already there. */
		memmove(sc->rxbuf + cap, sc->rxbuf, (size_t)r - cap);
		vq_iov_to_buf(sc->rxdiov, niov, 0, sc->rxbuf, cap);
		vq_unpop(vq, n);
		sc->rxlen = (size_t)r;
		return RXD_PENDING;
	}
	left = (size_t)r;
	for (used = 0; left; used++) {
		sc->used[used].len = (uint32_t)MIN(left, sc->rxdcap[used]);
		left -= sc->used[used].len;
	}
	vq_unpop(vq, n - used);
	/* the header sits in the first chain (at least NET_HDR bytes) */
	if (!sc->guest_csum) /* no DATA_VALID/NEEDS_CSUM without GUEST_CSUM */
		vq_iov_from_buf(sc->rxdiov, sc->rxdnin[0], 0, &zero, 1);
	put_le16(nbuf, (uint16_t)used); /* num_buffers (le16 at offset 10) */
	vq_iov_from_buf(sc->rxdiov, sc->rxdnin[0], 10, nbuf, 2);
	vq_push_n(vq, sc->used, used);
	*len = (size_t)r;
	return RXD_DONE;
}

/* Move frames from the backend to the guest (v->lock held). */
static void net_rx(struct net *sc)
{
	struct virtqueue *vq = &sc->v.vq[NET_RXQ];
	unsigned frames = 0, rounds = 0;
	size_t bytes = 0, len = 0;
	bool retried = false;

	if (!sc->running || !vq->enabled)
		return;
	while (rounds++ < NET_MAX_FRAMES) {
		bool delivered;

		if (sc->rxlen) {
			delivered = net_deliver(sc);
			len = sc->rxlen;
			if (delivered)
				sc->rxlen = 0;
		} else {
			/* Small frames are cheaper through the bounce buffer (a
			 * read and a copy that stays in cache, against a readv
			 * of two iovecs: ~100 ns more per frame measured at
			 * 64 and 1514 bytes); large ones are not copied twice. */
			int rc = sc->rxdn || sc->rxhint > NET_RXD_MIN ? net_rx_direct(sc, &len)
								       : net_rx_bounce(sc);

			if (rc == RXD_EMPTY)
				break;
			/* PENDING: net_deliver takes it from the bounce buffer */
			if (rc == RXD_DROPPED || rc == RXD_PENDING)
				continue;
			delivered = rc == RXD_DONE;
		}
		if (!delivered) {
			/*
			 * Out of buffers: wait for a kick, unless one just came.
			 * Retry once only: the chains net_deliver gave back count
			 * as available too, so with buffers too small in total
			 * for the frame vq_enable_notify() stays true (found by
			 * fuzzing: the loop thread spun forever). Kicks are on
			 * from here, so a buffer added later still wakes us.
			 */
			if (!retried && vq_enable_notify(vq)) {
				retried = true;
				continue;
			}
			sc->rx_stalled = true;
			break;
		}
		retried = false;
		bytes += len;
		frames++;
	}
	/* Polling pays for small frames, where a wake-up costs more than the
	 * frames it brings; a 64 KiB frame's copies dwarf it. */
	if (frames && bytes / frames <= NET_RX_POLL_MAX_AVG)
		__atomic_store_n(&sc->rx_progress, true, __ATOMIC_RELAXED);
	vq_notify(vq);
	net_update_mask(sc);
}

/* Guest frames to the backend (v->lock held). */
static void net_tx(struct net *sc)
{
	struct virtqueue *vq = &sc->v.vq[NET_TXQ];
	struct vq_chain c = { .iov = sc->txiov, .max_iov = NET_QSIZE };
	unsigned n = 0;
	int rc;

	if (!sc->running || sc->tx_blocked)
		return;
	do {
		vq_set_notify(vq, false);
		while ((rc = vq_pop(vq, &c)) > 0) {
			if (c.out_bytes < NET_HDR || c.nout == 0) {
				log_rl(&sc->rl, LOG_WARN, "virtio-net: TX chain without header");
				sc->txdone[n++] = (struct vq_used_elem){ c.head, 0 };
			} else {
				ssize_t w;
				do {
					w = writev(sc->fd, c.iov, (int)c.nout);
				} while (w < 0 && errno == EINTR);
				if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
					vq_unpop(vq, 1);
					sc->tx_blocked = true;
					vq_push_n(vq, sc->txdone, n);
					vq_notify(vq);
					net_update_mask(sc);
					return;
				}
				if (w < 0)
					log_rl(&sc->rl, LOG_DEBUG, "virtio-net: backend write: %s",
					       strerror(errno));
				sc->txdone[n++] = (struct vq_used_elem){ c.head, 0 };
			}
			/* Completions go back in batches (one used-index update each). */
			if (n == NET_TX_BATCH) {
				vq_push_n(vq, sc->txdone, n);
				n = 0;
			}
		}
		vq_push_n(vq, sc->txdone, n);
		n = 0;
		vq_notify(vq);
		if (rc < 0)
			return;
	} while (vq_enable_notify(vq));
}

static void net_fd_event(void *opaque, uint32_t events)
{
	struct net *sc = opaque;

	virtio_lock(&sc->v);
	if (sc->running) {
		if (events & EPOLLOUT) {
			sc->tx_blocked = false;
			net_update_mask(sc);
			net_tx(sc);
		}
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
			net_rx(sc);
			if (sc->rxpoll && __atomic_load_n(&sc->rx_progress, __ATOMIC_RELAXED)) {
				ev_poller_start(sc->rxpoll);
				/*
				 * While the poller runs the fd is out of epoll: a
				 * host sender then finds no waiter on the tap and
				 * skips the wake-up path for each frame (~10% of
				 * its cost per 64-byte frame, measured).
				 */
				if (!sc->tx_blocked && !sc->rx_polled &&
				    ev_del_fd(sc->v.loop, sc->fd) == 0) {
					sc->rx_polled = true;
					sc->mask = 0;
				}
			}
		}
	}
	virtio_unlock(&sc->v);
}

/*
 * Tap polling (virtio.poll_us): after a wake-up that delivered small frames
 * the loop keeps reading the tap itself (the fd out of epoll, sched_yield
 * on empty rounds) until no frame came for the window. A host sender that
 * shares our CPU then runs on without waking us per few frames (each
 * wake-up a pair of context switches, and a preemption of the sender), and
 * we take its frames in longer runs: host -> guest 64-byte frames went from
 * ~370k to ~500k per second on the 2-core CI host in alternating runs
 * (the gain swings with where the scheduler puts the threads).
 */
static bool net_rx_poll(void *opaque)
{
	struct net *sc = opaque;

	virtio_lock(&sc->v);
	if (sc->rx_polled && sc->running && !sc->rx_stalled)
		net_rx(sc);
	virtio_unlock(&sc->v);
	return __atomic_exchange_n(&sc->rx_progress, false, __ATOMIC_RELAXED);
}

static bool net_rx_poll_end(void *opaque)
{
	struct net *sc = opaque;

	virtio_lock(&sc->v);
	if (sc->rx_polled)
		net_rewatch(sc, net_wanted_events(sc));
	virtio_unlock(&sc->v);
	return false; /* the fd watch is on: the next frame wakes the loop */
}

static void net_queue_notify(struct virtio_dev *v, unsigned q)
{
	struct net *sc = container_of(v, struct net, v);

	if (q == NET_RXQ) {
		/*
		 * RX kicks only matter when delivery waits for buffers: keep
		 * them off until net_rx runs out again (it turns them on).
		 */
		vq_set_notify(&v->vq[NET_RXQ], false);
		sc->rx_stalled = false;
		net_rx(sc);
	} else if (q == NET_TXQ) {
		net_tx(sc);
	}
}

static void net_start(struct virtio_dev *v)
{
	struct net *sc = container_of(v, struct net, v);

	sc->mrg = virtio_has_feature(v, NET_F_MRG_RXBUF);
	sc->guest_csum = virtio_has_feature(v, NET_F_GUEST_CSUM);
	netbe_set_offload(sc->be, sc->guest_csum, virtio_has_feature(v, NET_F_GUEST_TSO4),
			  virtio_has_feature(v, NET_F_GUEST_TSO6),
			  virtio_has_feature(v, NET_F_GUEST_ECN));
	sc->running = true;
	sc->rx_stalled = false;
	sc->tx_blocked = false;
	sc->rxlen = 0;
	sc->rxdn = 0;
	net_update_mask(sc);
}

static void net_reset(struct virtio_dev *v)
{
	struct net *sc = container_of(v, struct net, v);

	sc->running = false;
	sc->rxlen = 0;
	sc->rxdn = 0; /* the queues start over */
	net_update_mask(sc);
}

static void net_destroy(struct virtio_dev *v)
{
	struct net *sc = container_of(v, struct net, v);

	ev_poller_free(sc->rxpoll);
	if (sc->watched && !sc->rx_polled)
		ev_del_fd(v->loop, sc->fd);
	netbe_close(sc->be);
	virtio_dev_fini(&sc->v);
	free(sc->rxbuf);
	free(sc);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.max_queue_size = NET_QSIZE,
	.poll_queues = 1u << NET_TXQ,
	.queue_notify = net_queue_notify,
	.start = net_start,
	.reset = net_reset,
	.destroy = net_destroy,
};

static int net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1) /* multicast / broadcast */
		return -EINVAL;
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

/*
 * Default MAC: locally administered unicast 02:xx:xx:xx:xx:xx, the rest
 * from an FNV-1a hash of "<vm name>,<bus>:<slot>:<func>" (stable per VM/slot).
 */
static void net_default_mac(const struct virtio_env *env, uint8_t mac[6])
{
	char id[300];
	uint64_t h = 0xcbf29ce484222325ULL;

	snprintf(id, sizeof(id), "%s,%u:%u:%u", env->vm_name ? env->vm_name : "",
		 env->bus, env->slot, env->func);
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

/* Common part of creation once the backend is open (takes ownership). */
static struct virtio_dev *net_create_be(const struct virtio_env *env, struct netbe *be,
					const uint8_t mac[6], uint16_t mtu, char *err,
					size_t errlen)
{
	struct net *sc = calloc(1, sizeof(*sc));
	uint64_t feat = VIRTIO_BIT(NET_F_MAC) | VIRTIO_BIT(NET_F_MTU) |
			VIRTIO_BIT(NET_F_STATUS) | VIRTIO_BIT(NET_F_MRG_RXBUF);

	if (!sc)
		goto err_nomem;
	sc->rxbuf = malloc(NET_RXBUF);
	if (!sc->rxbuf)
		goto err_sc;
	if (netbe_has_offloads(be))
		feat |= VIRTIO_BIT(NET_F_CSUM) | VIRTIO_BIT(NET_F_GUEST_CSUM) |
			VIRTIO_BIT(NET_F_GUEST_TSO4) | VIRTIO_BIT(NET_F_GUEST_TSO6) |
			VIRTIO_BIT(NET_F_GUEST_ECN) | VIRTIO_BIT(NET_F_HOST_TSO4) |
			VIRTIO_BIT(NET_F_HOST_TSO6) | VIRTIO_BIT(NET_F_HOST_ECN);
	if (virtio_dev_init(&sc->v, &net_ops, env, 2, feat) < 0)
		goto err_buf;
	sc->be = be;
	sc->fd = netbe_fd(be);
	sc->rl = (struct ratelimit)RATELIMIT_INIT;
	memcpy(sc->mac, mac, 6);
	sc->mtu = mtu;
	memcpy(sc->v.config, mac, 6);
	put_le16(sc->v.config + 6, NET_S_LINK_UP);
	put_le16(sc->v.config + 8, 1);
	put_le16(sc->v.config + 10, mtu);
	sc->v.config_len = 12;
	if (env->loop) {
		if (ev_add_fd(env->loop, sc->fd, 0, net_fd_event, sc) < 0) {
			snprintf(err, errlen, "virtio-net: cannot watch the backend");
			virtio_dev_fini(&sc->v);
			goto err_buf;
		}
		sc->watched = true;
		if (env->poll_ns) {
			sc->rxpoll = ev_poller_new(env->loop, net_rx_poll, net_rx_poll_end, sc,
						   env->poll_ns);
			if (!sc->rxpoll) {
				ev_del_fd(env->loop, sc->fd);
				virtio_dev_fini(&sc->v);
				goto err_buf;
			}
		}
	}
	return &sc->v;
err_buf:
	free(sc->rxbuf);
err_sc:
	free(sc);
err_nomem:
	if (!err[0])
		snprintf(err, errlen, "virtio-net: out of memory");
	netbe_close(be);
	return NULL;
}

struct virtio_dev *net_create_fd(const struct virtio_env *env, int fd, bool offloads,
				 char *err, size_t errlen)
{
	uint8_t mac[6];
	struct netbe *be = netbe_fd_open(fd, offloads);

	err[0] = '\0';
	if (!be) {
		snprintf(err, errlen, "virtio-net: out of memory");
		return NULL;
	}
	net_default_mac(env, mac);
	return net_create_be(env, be, mac, 1500, err, errlen);
}

struct virtio_dev *net_create(const struct virtio_env *env, struct config *cfg,
			      const char *node, char *err, size_t errlen)
{
	char k[300];
	const char *name, *s;
	uint8_t mac[6];
	uint64_t mtu;
	struct netbe *be;

	err[0] = '\0';
	snprintf(k, sizeof(k), "%s.backend", node);
	name = config_get(cfg, k);
	if (!name) {
		snprintf(k, sizeof(k), "%s.path", node);
		name = config_get(cfg, k);
	}
	if (!name || !*name) {
		snprintf(err, errlen, "virtio-net: no backend given (e.g. tap0)");
		return NULL;
	}
	snprintf(k, sizeof(k), "%s.mac", node);
	if ((s = config_get(cfg, k))) {
		if (net_parse_mac(s, mac) < 0) {
			snprintf(err, errlen,
				 "virtio-net: invalid MAC address '%s' (unicast xx:xx:xx:xx:xx:xx)", s);
			return NULL;
		}
	} else {
		net_default_mac(env, mac);
	}
	snprintf(k, sizeof(k), "%s.mtu", node);
	if (config_get_uint(cfg, k, 1500, &mtu) < 0 || mtu < 68 || mtu > 65535) {
		snprintf(err, errlen, "virtio-net: invalid mtu '%s' (68-65535)",
			 config_get(cfg, k) ? config_get(cfg, k) : "");
		return NULL;
	}
	be = netbe_tap_open(name, err, errlen);
	if (!be)
		return NULL;
	return net_create_be(env, be, mac, (uint16_t)mtu, err, errlen);
}

int net_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen)
{
	static const char *const keys[] = { "mac", "mtu", "path", "backend", NULL };

	return virtio_legacy_opts(cfg, node, conf, keys, NULL, "virtio-net", err,
				  errlen);
}
