/*
 * A tiny fake virtio driver for unit tests: builds split rings in fake
 * guest memory (unit.h), negotiates features and enables queues through the
 * transport-facing API of lhyve/virtio.h, and records interrupts.
 * Queue q's rings live at VQDRV_RING(q); data buffers are the caller's.
 */
#ifndef LHYVE_VQDRV_H
#define LHYVE_VQDRV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lhyve/util.h"
#include "lhyve/virtio.h"

#define VQDRV_RING(q) (0x100000ULL + (uint64_t)(q) * 0x20000ULL)
#define VQDRV_MAXQ 40

struct vqdrv_q {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx; /* driver's next avail index */
	uint16_t used_seen; /* driver's last seen used index */
	uint16_t next_desc; /* simple bump allocator, wraps */
};

struct vqdrv {
	struct guest_mem *gm;
	struct virtio_dev *v;
	struct vqdrv_q q[VQDRV_MAXQ];
	unsigned irqs[VQDRV_MAXQ];
	unsigned config_irqs;
};

static inline void vqdrv_queue_irq(void *opaque, unsigned q)
{
	struct vqdrv *d = opaque;
	if (q < VQDRV_MAXQ)
		__atomic_add_fetch(&d->irqs[q], 1, __ATOMIC_SEQ_CST);
}

static inline void vqdrv_config_irq(void *opaque)
{
	struct vqdrv *d = opaque;
	__atomic_add_fetch(&d->config_irqs, 1, __ATOMIC_SEQ_CST);
}

static const struct virtio_transport_ops vqdrv_tops = {
	.queue_interrupt = vqdrv_queue_irq,
	.config_interrupt = vqdrv_config_irq,
};

static inline uint8_t *vqdrv_p(struct vqdrv *d, uint64_t gpa)
{
	return gm_ptr(d->gm, gpa, 1);
}

/* Attach, negotiate `features` (masked by the offer unless force), enable
 * nq queues of size qsize, DRIVER_OK. Returns the status read back. */
static inline uint8_t vqdrv_start(struct vqdrv *d, struct guest_mem *gm,
				  struct virtio_dev *v, uint64_t features,
				  unsigned nq, uint16_t qsize)
{
	memset(d, 0, sizeof(*d));
	d->gm = gm;
	d->v = v;
	virtio_attach(v, &vqdrv_tops, d);
	virtio_set_status(v, 0);
	virtio_set_status(v, VIRTIO_S_ACKNOWLEDGE);
	virtio_set_status(v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	uint64_t offer = (uint64_t)virtio_get_device_features(v, 0) |
			 ((uint64_t)virtio_get_device_features(v, 1) << 32);
	features &= offer;
	virtio_set_driver_features(v, 0, (uint32_t)features);
	virtio_set_driver_features(v, 1, (uint32_t)(features >> 32));
	virtio_set_status(v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	for (unsigned i = 0; i < nq && i < VQDRV_MAXQ; i++) {
		struct vqdrv_q *q = &d->q[i];
		q->size = qsize;
		q->desc = VQDRV_RING(i);
		q->avail = q->desc + 16ULL * qsize;
		q->used = ALIGN_UP(q->avail + 6 + 2ULL * qsize, 4);
		memset(vqdrv_p(d, q->desc), 0, 0x20000);
		struct vq_config c = { qsize, q->desc, q->avail, q->used };
		virtio_queue_enable(v, i, &c);
	}
	virtio_set_status(v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
			  VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
	return virtio_get_status(v);
}

static inline void vqdrv_set_desc(struct vqdrv *d, unsigned qi, uint16_t i,
				  uint64_t addr, uint32_t len, uint16_t flags,
				  uint16_t next)
{
	uint8_t *p = vqdrv_p(d, d->q[qi].desc + 16ULL * i);
	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

/* Write an indirect-table entry at gpa table + 16*i. */
static inline void vqdrv_set_ind(struct vqdrv *d, uint64_t table, uint16_t i,
				 uint64_t addr, uint32_t len, uint16_t flags,
				 uint16_t next)
{
	uint8_t *p = vqdrv_p(d, table + 16ULL * i);
	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

/* Publish head in the avail ring (no kick). */
static inline void vqdrv_publish(struct vqdrv *d, unsigned qi, uint16_t head)
{
	struct vqdrv_q *q = &d->q[qi];
	put_le16(vqdrv_p(d, q->avail + 4 + 2ULL * (q->avail_idx % q->size)), head);
	q->avail_idx++;
	put_le16(vqdrv_p(d, q->avail + 2), q->avail_idx);
}

struct vqdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Add a direct chain from the bump allocator and publish it; returns head. */
static inline uint16_t vqdrv_add(struct vqdrv *d, unsigned qi,
				 const struct vqdrv_buf *b, unsigned n)
{
	struct vqdrv_q *q = &d->q[qi];
	uint16_t head = q->next_desc % q->size;
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % q->size);
		uint16_t nxt = (uint16_t)((idx + 1) % q->size);
		vqdrv_set_desc(d, qi, idx, b[i].gpa, b[i].len,
			       (uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					  (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			       nxt);
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	vqdrv_publish(d, qi, head);
	return head;
}

/* Take the next used element; false if none. */
static inline bool vqdrv_used(struct vqdrv *d, unsigned qi, uint32_t *id, uint32_t *len)
{
	struct vqdrv_q *q = &d->q[qi];
	uint16_t idx = get_le16(vqdrv_p(d, q->used + 2));
	if (idx == q->used_seen)
		return false;
	uint8_t *e = vqdrv_p(d, q->used + 4 + 8ULL * (q->used_seen % q->size));
	if (id)
		*id = get_le32(e);
	if (len)
		*len = get_le32(e + 4);
	q->used_seen++;
	return true;
}

static inline void vqdrv_kick(struct vqdrv *d, unsigned qi)
{
	virtio_queue_notify(d->v, qi);
}

#endif
