/*
 * Split virtqueues (virtio 1.2 §2.7) with every guest value validated.
 *
 * Locking: vq->lock protects the cursors and flags of struct virtqueue; the
 * public functions take it themselves. The rings live in guest memory and
 * are shared with the driver: the driver-written parts (avail ring,
 * descriptors) are copied out before they are checked, and the orderings
 * the spec asks for are explicit __atomic operations/fences:
 *   - avail->idx is loaded with acquire before ring entries are read;
 *   - used->idx is stored with release after the used element;
 *   - a full fence separates publishing used->idx / avail_event from reading
 *     the driver's flags / used_event / avail->idx (event suppression).
 */
#include <errno.h>
#include <string.h>

#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

/* Offsets inside the rings. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4
#define DESC_SIZE 16
#define USED_ELEM_SIZE 8

static inline uint16_t ld16_acq(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static inline uint16_t ld16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static inline void st16_rel(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELEASE);
}

static inline void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELAXED);
}

int vq_init(struct virtqueue *vq, struct virtio_dev *v, unsigned index)
{
	int rc;

	memset(vq, 0, sizeof(*vq));
	rc = pthread_mutex_init(&vq->lock, NULL);
	if (rc)
		return -rc;
	vq->vdev = v;
	vq->index = index;
	vq->rl = (struct ratelimit)RATELIMIT_INIT;
	return 0;
}

void vq_fini(struct virtqueue *vq)
{
	pthread_mutex_destroy(&vq->lock);
}

static bool ring_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len,
		    uint64_t align, uint8_t **out)
{
	if (gpa & (align - 1))
		return false;
	*out = gm_ptr(gm, gpa, len);
	return *out != NULL;
}

int vq_enable(struct virtqueue *vq, const struct guest_mem *gm,
	      const struct vq_config *c, uint16_t max_size, bool event_idx,
	      bool indirect)
{
	uint8_t *d, *a, *u;
	uint64_t n = c->size;
	int rc = -EINVAL;

	pthread_mutex_lock(&vq->lock);
	if (vq->enabled) {
		rc = -EBUSY;
		goto out;
	}
	if (n == 0 || n > max_size || n > VQ_MAX_SIZE || (n & (n - 1)))
		goto out;
	if (!ring_ok(gm, c->desc, DESC_SIZE * n, 16, &d) ||
	    !ring_ok(gm, c->avail, 6 + 2 * n, 2, &a) ||
	    !ring_ok(gm, c->used, 6 + USED_ELEM_SIZE * n, 4, &u))
		goto out;
	vq->gm = gm;
	vq->cfg = *c;
	vq->size = (uint16_t)n;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = 0;
	vq->avail_shadow = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->pushed = false;
	vq->broken = false;
	vq->enabled = true;
	rc = 0;
out:
	pthread_mutex_unlock(&vq->lock);
	return rc;
}

void vq_reset(struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	vq->enabled = false;
	vq->broken = false;
	vq->size = 0;
	vq->desc = vq->avail = vq->used = NULL;
	memset(&vq->cfg, 0, sizeof(vq->cfg));
	vq->last_avail = vq->avail_shadow = vq->used_idx = vq->signalled_used = 0;
	vq->pushed = false;
	vq->poll_hold = false;
	pthread_mutex_unlock(&vq->lock);
}

/* Mark the queue broken (vq->lock held) and ask for a device reset. */
static int vq_fail(struct virtqueue *vq, const char *why, uint64_t a, uint64_t b)
{
	const char *name = vq->vdev && vq->vdev->ops ? vq->vdev->ops->name : "virtio";

	vq->broken = true;
	log_rl(&vq->rl, LOG_WARN, "%s: queue %u: %s (0x%llx, 0x%llx); device needs reset",
	       name, vq->index, why, (unsigned long long)a, (unsigned long long)b);
	if (vq->vdev)
		virtio_needs_reset(vq->vdev);
	return -EINVAL;
}

/* State while walking one chain. */
struct walk {
	unsigned count; /* descriptors seen (limit: queue size) */
	bool seen_write;
};

/* Add one (non-indirect) descriptor's buffer to the chain. */
static int add_buf(struct virtqueue *vq, struct vq_chain *c, struct walk *w,
		   const struct virtq_desc *d)
{
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (!wr && w->seen_write)
		return vq_fail(vq, "readable descriptor after a writable one",
			       d->addr, d->len);
	if (wr)
		w->seen_write = true;
	if (d->len == 0)
		return 0;
	p = gm_ptr(vq->gm, d->addr, d->len);
	if (!p)
		return vq_fail(vq, "descriptor buffer outside guest RAM", d->addr, d->len);
	if (c->nout + c->nin >= c->max_iov)
		return vq_fail(vq, "chain has too many buffers", c->max_iov, 0);
	if (wr) {
		if (c->in_bytes + d->len > UINT32_MAX)
			return vq_fail(vq, "chain too long (bytes)", c->in_bytes, d->len);
		c->iov[c->nout + c->nin].iov_base = p;
		c->iov[c->nout + c->nin].iov_len = d->len;
		c->nin++;
		c->in_bytes += d->len;
	} else {
		if (c->out_bytes + d->len > UINT32_MAX)
			return vq_fail(vq, "chain too long (bytes)", c->out_bytes, d->len);
		c->iov[c->nout].iov_base = p;
		c->iov[c->nout].iov_len = d->len;
		c->nout++;
		c->out_bytes += d->len;
	}
	return 0;
}

/* Walk an indirect table (§2.7.5.3.2). */
static int walk_indirect(struct virtqueue *vq, struct vq_chain *c, struct walk *w,
			 const struct virtq_desc *ind)
{
	const uint8_t *tbl;
	uint32_t n, i = 0;
	unsigned steps = 0;
	struct virtq_desc d;

	if (!vq->indirect)
		return vq_fail(vq, "indirect descriptor without INDIRECT_DESC",
			       ind->addr, ind->len);
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(vq, "indirect descriptor with NEXT", ind->addr, ind->len);
	if (ind->len == 0 || ind->len % DESC_SIZE)
		return vq_fail(vq, "bad indirect table length", ind->addr, ind->len);
	n = ind->len / DESC_SIZE;
	if (n > vq->size)
		return vq_fail(vq, "indirect table larger than the queue", ind->addr, n);
	tbl = gm_ptr(vq->gm, ind->addr, ind->len);
	if (!tbl)
		return vq_fail(vq, "indirect table outside guest RAM", ind->addr, ind->len);
	for (;;) {
		int rc;

		memcpy(&d, tbl + (size_t)i * DESC_SIZE, sizeof(d));
		if (++steps > n)
			return vq_fail(vq, "loop in indirect table", ind->addr, i);
		if (++w->count > vq->size)
			return vq_fail(vq, "chain longer than the queue", w->count, vq->size);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_fail(vq, "nested indirect descriptor", d.addr, d.len);
		rc = add_buf(vq, c, w, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return vq_fail(vq, "indirect next index out of range", d.next, n);
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	struct walk w = { 0, false };
	struct virtq_desc d;
	uint16_t avail_idx, head, i;
	int rc = 0;

	pthread_mutex_lock(&vq->lock);
	c->nout = c->nin = 0;
	c->out_bytes = c->in_bytes = 0;
	if (!vq->enabled || vq->broken)
		goto out;
	if (vq->avail_shadow == vq->last_avail) {
		/*
		 * Read the driver's index only when the entries seen last time
		 * are used up: the line it sits on is being written by the
		 * driver on another CPU, and each read of it is a cache miss.
		 */
		avail_idx = ld16_acq(vq->avail + AVAIL_IDX);
		if (avail_idx == vq->last_avail)
			goto out;
		if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
			rc = vq_fail(vq, "avail index moved more than the queue size",
				     avail_idx, vq->last_avail);
			goto out;
		}
		vq->avail_shadow = avail_idx;
	}
	head = ld16(vq->avail + AVAIL_RING + 2 * (vq->last_avail & (vq->size - 1)));
	if (head >= vq->size) {
		rc = vq_fail(vq, "avail ring head out of range", head, vq->size);
		goto out;
	}
	i = head;
	for (;;) {
		memcpy(&d, vq->desc + (size_t)i * DESC_SIZE, sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			rc = walk_indirect(vq, c, &w, &d);
			if (rc)
				goto out;
			break;
		}
		if (++w.count > vq->size) {
			rc = vq_fail(vq, "descriptor chain loops or is too long", head, w.count);
			goto out;
		}
		rc = add_buf(vq, c, &w, &d);
		if (rc)
			goto out;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			rc = vq_fail(vq, "next index out of range", d.next, vq->size);
			goto out;
		}
		i = d.next;
	}
	c->head = head;
	vq->last_avail++;
	rc = 1;
out:
	pthread_mutex_unlock(&vq->lock);
	return rc;
}

void vq_unpop(struct virtqueue *vq, unsigned n)
{
	pthread_mutex_lock(&vq->lock);
	vq->last_avail = (uint16_t)(vq->last_avail - n);
	pthread_mutex_unlock(&vq->lock);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vq_used_elem u = { head, len };

	vq_push_n(vq, &u, 1);
}

void vq_push_n(struct virtqueue *vq, const struct vq_used_elem *u, unsigned n)
{
	uint8_t *e;
	bool any = false;

	pthread_mutex_lock(&vq->lock);
	if (!vq->enabled) {
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (u[i].head >= vq->size)
			continue;
		e = vq->used + USED_RING +
		    USED_ELEM_SIZE * (size_t)(vq->used_idx & (vq->size - 1));
		put_le32(e, u[i].head);
		put_le32(e + 4, u[i].len);
		vq->used_idx++;
		any = true;
	}
	/* One index update for the batch: the driver polls that line. */
	if (any) {
		st16_rel(vq->used + USED_IDX, vq->used_idx);
		vq->pushed = true;
	}
	pthread_mutex_unlock(&vq->lock);
}

/* vq->lock held. */
static bool should_notify_locked(struct virtqueue *vq)
{
	uint16_t old, new, ev;
	bool need;

	if (!vq->enabled || !vq->pushed)
		return false;
	/* used->idx was published; now look at the driver's suppression. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		need = !(ld16(vq->avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	} else {
		ev = ld16(vq->avail + AVAIL_RING + 2 * (size_t)vq->size); /* used_event */
		old = vq->signalled_used;
		new = vq->used_idx;
		/* §2.7.10: interrupt if used_event lies in [old, new). */
		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	}
	vq->signalled_used = vq->used_idx;
	vq->pushed = false;
	return need;
}

bool vq_should_notify(struct virtqueue *vq)
{
	bool need;

	pthread_mutex_lock(&vq->lock);
	need = should_notify_locked(vq);
	pthread_mutex_unlock(&vq->lock);
	return need;
}

void vq_notify(struct virtqueue *vq)
{
	struct virtio_dev *v = vq->vdev;

	if (!vq_should_notify(vq))
		return;
	if (v && v->tops && v->tops->queue_interrupt)
		v->tops->queue_interrupt(v->topaque, vq->index);
}

void vq_set_notify(struct virtqueue *vq, bool on)
{
	uint8_t *p;

	pthread_mutex_lock(&vq->lock);
	if (!vq->enabled) {
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	if (on && vq->poll_hold) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	if (vq->event_idx) {
		/* avail_event: kick when the driver adds entry last_avail. */
		if (on)
			st16(vq->used + USED_RING + USED_ELEM_SIZE * (size_t)vq->size,
			     vq->last_avail);
	} else {
		/* Store only a change: the driver reads this line all the time. */
		p = vq->used + USED_FLAGS;
		if (ld16(p) != (on ? 0 : VIRTQ_USED_F_NO_NOTIFY))
			st16(p, on ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	if (on)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vq->lock);
}

bool vq_has_avail(struct virtqueue *vq)
{
	bool r;

	pthread_mutex_lock(&vq->lock);
	r = vq->enabled && !vq->broken &&
	    (vq->avail_shadow != vq->last_avail ||
	     ld16_acq(vq->avail + AVAIL_IDX) != vq->last_avail);
	pthread_mutex_unlock(&vq->lock);
	return r;
}

bool vq_enable_notify(struct virtqueue *vq)
{
	vq_set_notify(vq, true);
	return vq_has_avail(vq);
}

size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
		     void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = MIN(iov[i].iov_len - off, len - done);
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
		       const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = MIN(iov[i].iov_len - off, len - done);
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, k);
		done += k;
		off = 0;
	}
	return done;
}

unsigned vq_iov_slice(const struct iovec *iov, unsigned n, size_t off,
		      size_t len, struct iovec *dst, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len > 0 && k < max; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t l = MIN(iov[i].iov_len - off, len);
		dst[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}
