/*
 * Shared driver for the virtio device harnesses (blk, net, console, rnd):
 * the input is a feature word and queue size followed by a stream of
 * driver actions: descriptors and avail entries written into fake guest
 * memory (well-formed chains through vqdrv.h or raw descriptor fields),
 * raw memory writes, kicks of any queue number, config space accesses,
 * status writes (resets), queue re-enables with arbitrary geometry, used
 * ring reads and device-specific actions (a hook: host-side traffic).
 * At the end the device is reset (which waits for in-flight work).
 */
#ifndef LHYVE_FUZZ_VIRTIO_H
#define LHYVE_FUZZ_VIRTIO_H

#include "fuzz.h"
#include "lhyve/virtio.h"
#include "vqdrv.h"

/*
 * Guest RAM: the rings of the device's queues at VQDRV_RING(q), then 1 MiB
 * for buffers. Kept small: allocating it is most of the cost of an input.
 */
#define FZV_RAM(nq) (VQDRV_RING(nq) + (1ULL << 20))

struct fzv {
	struct guest_mem gm;
	uint64_t ram;
	struct vqdrv d;
	struct virtio_dev *v;
	unsigned nq;
	/* Device-specific action (op byte given), and "let the device run". */
	void (*hook)(void *opaque, struct fz *in);
	void (*poll)(void *opaque);
	void *opaque;
};

/* nq: the number of queues the device will have (at most VQDRV_MAXQ). */
static inline void fzv_gm_init(struct fzv *f, unsigned nq)
{
	memset(f, 0, sizeof(*f));
	f->ram = FZV_RAM(nq);
	fz_gm_acquire(&f->gm, f->ram);
}

static inline void fzv_poll(struct fzv *f)
{
	if (f->poll)
		f->poll(f->opaque);
}

static inline void fzv_run(struct fzv *f, struct fz *in)
{
	struct virtio_dev *v = f->v;
	uint64_t feat = fz_u64(in);
	uint16_t max = virtio_queue_max_size(v), qsize;
	unsigned nq = virtio_num_queues(v);
	char s8 = (char)fz_u8(in);

	if (nq > VQDRV_MAXQ)
		nq = VQDRV_MAXQ;
	f->nq = nq;
	/* A power of two up to the device maximum (vqdrv's rings fit 2048). */
	qsize = (uint16_t)(1u << ((unsigned)s8 % 12));
	if (qsize > max)
		qsize = max;
	if (qsize > 2048)
		qsize = 2048;
	if (!qsize)
		qsize = 1;
	vqdrv_start(&f->d, &f->gm, v, feat | VIRTIO_BIT(VIRTIO_F_VERSION_1), nq, qsize);

	while (fz_left(in)) {
		uint8_t op = fz_u8(in);
		unsigned q = fz_u8(in) % nq;
		struct vqdrv_q *dq = &f->d.q[q];

		switch (op % 14) {
		case 0: { /* a well-formed chain of up to 4 buffers */
			struct vqdrv_buf b[4];
			unsigned n = 1 + fz_u8(in) % 4;
			for (unsigned i = 0; i < n; i++) {
				b[i].gpa = fz_addr(in, f->ram);
				b[i].len = fz_u16(in);
				b[i].write = fz_bool(in);
			}
			if (dq->size)
				vqdrv_add(&f->d, q, b, n);
			break;
		}
		case 1: { /* a raw descriptor */
			uint16_t i = fz_u16(in);
			uint64_t addr = fz_addr(in, f->ram);
			uint32_t len = fz_u32(in);
			uint16_t flags = fz_u8(in), next = fz_u16(in);
			if (dq->size)
				vqdrv_set_desc(&f->d, q, i % dq->size, addr, len, flags,
					       (op & 0x80) ? next : next % dq->size);
			break;
		}
		case 2: { /* an indirect table entry */
			uint64_t table = fz_addr(in, f->ram) & ~15ULL;
			uint16_t i = fz_u8(in);
			uint64_t addr = fz_addr(in, f->ram);
			uint32_t len = fz_u32(in);
			uint16_t flags = fz_u8(in), next = fz_u8(in);
			if (gm_ptr(&f->gm, table + 16ULL * i, 16))
				vqdrv_set_ind(&f->d, table, i, addr, len, flags, next);
			break;
		}
		case 3: /* publish a head */
			if (dq->size)
				vqdrv_publish(&f->d, q, fz_u16(in));
			break;
		case 4: /* kick, sometimes a queue number out of range */
			virtio_queue_notify(v, (op & 0x80) ? fz_u8(in) : q);
			break;
		case 5: { /* raw guest memory write (rings, event idx, headers) */
			uint8_t buf[64];
			uint64_t gpa = fz_addr(in, f->ram);
			size_t n = fz_bytes(in, buf, fz_u8(in) % sizeof(buf));
			gm_write(&f->gm, gpa, buf, n);
			break;
		}
		case 6: { /* avail.flags / used_event / avail_event poke */
			uint16_t val = fz_u16(in);
			uint64_t gpa;
			if (!dq->size)
				break;
			switch (op >> 6) {
			case 0: gpa = dq->avail; break;                    /* avail.flags */
			case 1: gpa = dq->avail + 4 + 2ULL * dq->size; break; /* used_event */
			case 2: gpa = dq->used + 4 + 8ULL * dq->size; break;  /* avail_event */
			default: gpa = dq->avail + 2; break;               /* avail.idx */
			}
			gm_write(&f->gm, gpa, &val, 2);
			break;
		}
		case 7: { /* device config read */
			uint32_t off = fz_u16(in);
			virtio_config_read(v, off, fz_size(in));
			break;
		}
		case 8: { /* device config write */
			uint32_t off = fz_u16(in);
			unsigned sz = fz_size(in);
			virtio_config_write(v, off, sz, fz_u64(in));
			break;
		}
		case 9: /* status write: 0 resets, anything else as the guest likes */
			virtio_set_status(v, fz_u8(in));
			break;
		case 10: { /* enable a queue with arbitrary geometry */
			struct vq_config c = { .size = fz_u16(in) };
			c.desc = fz_addr(in, f->ram);
			c.avail = fz_addr(in, f->ram);
			c.used = fz_addr(in, f->ram);
			virtio_queue_enable(v, (op & 0x80) ? fz_u8(in) : q, &c);
			virtio_queue_enabled(v, q);
			break;
		}
		case 11: /* reap used entries */
			if (dq->size)
				while (vqdrv_used(&f->d, q, NULL, NULL))
					;
			fzv_poll(f);
			break;
		case 12: /* feature writes (ignored after FEATURES_OK) */
			virtio_set_driver_features(v, fz_u8(in) & 3, fz_u32(in));
			virtio_get_device_features(v, fz_u8(in) & 3);
			virtio_get_driver_features(v, fz_u8(in) & 3);
			break;
		case 13:
			if (f->hook)
				f->hook(f->opaque, in);
			fzv_poll(f);
			break;
		}
	}
	fzv_poll(f);
	virtio_config_generation(v);
	virtio_set_status(v, 0);
}

static inline void fzv_fini(struct fzv *f)
{
	if (f->v)
		virtio_dev_destroy(f->v);
	fz_gm_release(&f->gm);
}

#endif
