/*
 * Split virtqueue chain walking (src/virtio/virtqueue.c) directly: ring
 * geometry, descriptors, indirect tables and avail/used indexes all come
 * from the input; event idx and indirect descriptors are switched by the
 * input. Every popped chain is checked: each iovec must lie inside guest
 * RAM and the byte counts must add up.
 */
#include "fuzz_virtio.h"

#define FZ_VQ_RAM (2ULL << 20) /* rings at VQDRV_RING(0) = 1 MiB */

static const struct virtio_dev_ops fz_vq_ops = {
	.name = "fuzz-vq",
	.device_id = 99,
	.max_queue_size = 1024,
};

static void fz_vq_check(const struct guest_mem *gm, const struct vq_chain *c)
{
	uint64_t out = 0, inb = 0;
	const uint8_t *base = gm->region[0].hva;

	for (unsigned i = 0; i < c->nout + c->nin; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;
		/* Inside guest RAM, or the device would touch host memory. */
		if (p < base || len > gm->region[0].size ||
		    (size_t)(p - base) > gm->region[0].size - len)
			abort();
		if (i < c->nout)
			out += len;
		else
			inb += len;
	}
	if (c->nout + c->nin > c->max_iov || out != c->out_bytes || inb != c->in_bytes)
		abort();
}

FUZZ_TARGET(virtqueue)
{
	struct guest_mem gm;
	struct virtio_dev v;
	struct vqdrv d;
	struct fz in;
	struct iovec iov[64], slice[8];
	uint8_t buf[256];
	unsigned popped = 0;
	uint16_t last_head = 0;

	fz_gm_acquire(&gm, FZ_VQ_RAM);
	fz_init(&in, data, size);
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	uint8_t opt = fz_u8(&in);
	if (opt & 1)
		feat |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (opt & 2)
		feat |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	struct virtio_env env = { .gm = &gm, .vm_name = "fuzz" };
	if (virtio_dev_init(&v, &fz_vq_ops, &env, 1, 0) < 0)
		abort();
	/* A driver that negotiated `feat` with a queue of 1..256 entries. */
	uint16_t qsize = (uint16_t)(1u << (((unsigned)opt >> 2) % 9));
	vqdrv_start(&d, &gm, &v, feat, 1, qsize);
	struct virtqueue *vq = &v.vq[0];

	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		switch (op % 10) {
		case 0: { /* raw descriptor (index may exceed the queue) */
			uint16_t i = fz_u16(&in) % qsize;
			uint64_t addr = fz_addr(&in, FZ_VQ_RAM);
			uint32_t len = fz_u32(&in);
			uint16_t flags = fz_u8(&in) & 7, next = fz_u16(&in);
			vqdrv_set_desc(&d, 0, i, addr, len, flags,
				       (op & 0x80) ? next : next % qsize);
			break;
		}
		case 1: { /* indirect table entry */
			uint64_t table = fz_addr(&in, FZ_VQ_RAM);
			uint16_t i = fz_u8(&in);
			uint64_t addr = fz_addr(&in, FZ_VQ_RAM);
			uint32_t len = fz_u32(&in);
			uint16_t flags = fz_u8(&in) & 7, next = fz_u8(&in);
			if (gm_ptr(&gm, table + 16ULL * i, 16))
				vqdrv_set_ind(&d, table, i, addr, len, flags, next);
			break;
		}
		case 2: /* publish a head (any value) */
			vqdrv_publish(&d, 0, fz_u16(&in));
			break;
		case 3: { /* raw avail.idx / flags / used_event / avail_event */
			uint16_t val = fz_u16(&in);
			uint64_t gpa;
			switch ((op >> 4) & 3) {
			case 0: gpa = d.q[0].avail; break;
			case 1: gpa = d.q[0].avail + 2; break;
			case 2: gpa = d.q[0].avail + 4 + 2ULL * qsize; break;
			default: gpa = d.q[0].used + 4 + 8ULL * qsize; break;
			}
			gm_write(&gm, gpa, &val, 2);
			break;
		}
		case 4: { /* pop with a small or large iovec budget */
			struct vq_chain c = { .iov = iov, .max_iov = 1 + fz_u8(&in) % 64 };
			int rc = vq_pop(vq, &c);
			if (rc > 0) {
				fz_vq_check(&gm, &c);
				popped++;
				last_head = c.head;
				/* Copy through the helpers the devices use. */
				vq_iov_to_buf(c.iov, c.nout, fz_u16(&in), buf, sizeof(buf));
				vq_iov_from_buf(c.iov + c.nout, c.nin, fz_u16(&in), buf,
						fz_u8(&in));
				vq_iov_slice(c.iov, c.nout + c.nin, fz_u16(&in), fz_u16(&in),
					     slice, 1 + fz_u8(&in) % 8);
			}
			break;
		}
		case 5: /* push the last popped head, or any value */
			if (op & 0x80)
				vq_push(vq, fz_u16(&in), fz_u32(&in));
			else if (popped) {
				vq_push(vq, last_head, fz_u16(&in));
				popped--;
			}
			break;
		case 6: /* give back chains */
			if (popped) {
				unsigned n = 1 + fz_u8(&in) % popped;
				vq_unpop(vq, n);
				popped -= n;
			}
			break;
		case 7:
			vq_notify(vq);
			break;
		case 8:
			if (op & 0x80)
				vq_set_notify(vq, fz_bool(&in));
			else
				vq_enable_notify(vq);
			vq_has_avail(vq);
			vq_should_notify(vq);
			break;
		case 9: /* reset and re-enable with fuzzed geometry */
			vq_reset(vq);
			popped = 0;
			struct vq_config c = { .size = fz_u16(&in) };
			c.desc = fz_addr(&in, FZ_VQ_RAM);
			c.avail = fz_addr(&in, FZ_VQ_RAM);
			c.used = fz_addr(&in, FZ_VQ_RAM);
			if (vq_enable(vq, &gm, &c, 1024, opt & 1, opt & 2) < 0) {
				struct vq_config ok = { qsize, d.q[0].desc, d.q[0].avail,
							d.q[0].used };
				if (vq_enable(vq, &gm, &ok, 1024, opt & 1, opt & 2) < 0)
					abort();
			}
			break;
		}
	}
	virtio_dev_fini(&v);
	fz_gm_release(&gm);
	return 0;
}
