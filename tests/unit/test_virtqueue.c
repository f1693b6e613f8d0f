/* Split virtqueue walker and virtio core: valid and malformed rings. */
#include "unit.h"
#include "vqdrv.h"

#include <errno.h>

#define QS 16
#define DATA 0x200000ULL /* data buffers */
#define TABLE 0x300000ULL /* indirect tables */
#define MEM (8 * MiB)

static const struct virtio_dev_ops fake_ops = {
	.name = "fake",
	.device_id = 99,
	.max_queue_size = 256,
};

struct fx {
	struct guest_mem gm;
	struct virtio_dev v;
	struct vqdrv d;
	struct vq_chain c;
	struct iovec iov[QS];
};

static void fx_init(struct fx *f, uint64_t features)
{
	struct virtio_env env = { .gm = &f->gm };

	memset(f, 0, sizeof(*f));
	fake_gm_init(&f->gm, MEM, 0);
	CHECK_EQ(virtio_dev_init(&f->v, &fake_ops, &env, 2, 0), 0);
	uint8_t st = vqdrv_start(&f->d, &f->gm, &f->v, features, 2, QS);
	CHECK(st & VIRTIO_S_DRIVER_OK);
	f->c.iov = f->iov;
	f->c.max_iov = QS;
}

static void fx_fini(struct fx *f)
{
	virtio_dev_fini(&f->v);
	fake_gm_free(&f->gm);
}

static int pop(struct fx *f, unsigned q)
{
	return vq_pop(&f->v.vq[q], &f->c);
}

static const uint64_t ALLF = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			     VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
			     VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
static const uint64_t NOEVF = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			      VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);

static void test_direct(void)
{
	struct fx f;
	fx_init(&f, NOEVF);
	struct vqdrv_buf b[3] = {
		{ DATA, 16, false }, { DATA + 0x1000, 100, true }, { DATA + 0x2000, 1, true },
	};
	memcpy(vqdrv_p(&f.d, DATA), "hello, device!!", 16);
	CHECK_EQ(pop(&f, 0), 0); /* empty */
	uint16_t head = vqdrv_add(&f.d, 0, b, 3);
	CHECK(vq_has_avail(&f.v.vq[0]));
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(f.c.head, head);
	CHECK_EQ(f.c.nout, 1);
	CHECK_EQ(f.c.nin, 2);
	CHECK_EQ(f.c.out_bytes, 16);
	CHECK_EQ(f.c.in_bytes, 101);
	CHECK(memcmp(f.iov[0].iov_base, "hello", 5) == 0);
	CHECK(f.iov[1].iov_base == vqdrv_p(&f.d, DATA + 0x1000));
	CHECK_EQ(f.iov[2].iov_len, 1);
	CHECK_EQ(pop(&f, 0), 0);
	vq_push(&f.v.vq[0], head, 101);
	vq_notify(&f.v.vq[0]);
	CHECK_EQ(f.d.irqs[0], 1);
	uint32_t id = 0, len = 0;
	CHECK(vqdrv_used(&f.d, 0, &id, &len));
	CHECK_EQ(id, head);
	CHECK_EQ(len, 101);
	/* No new used entries: no interrupt. */
	vq_notify(&f.v.vq[0]);
	CHECK_EQ(f.d.irqs[0], 1);
	/* NO_INTERRUPT suppresses. */
	put_le16(vqdrv_p(&f.d, f.d.q[0].avail), VIRTQ_AVAIL_F_NO_INTERRUPT);
	head = vqdrv_add(&f.d, 0, b, 1);
	CHECK_EQ(pop(&f, 0), 1);
	vq_push(&f.v.vq[0], head, 0);
	vq_notify(&f.v.vq[0]);
	CHECK_EQ(f.d.irqs[0], 1);
	/* set_notify without event idx uses the used flags. */
	vq_set_notify(&f.v.vq[0], false);
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used)), VIRTQ_USED_F_NO_NOTIFY);
	CHECK(!vq_enable_notify(&f.v.vq[0]));
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used)), 0);
	/* While the device polls, "kicks on" keeps them off; reset clears it. */
	vq_set_notify(&f.v.vq[0], false);
	f.v.vq[0].poll_hold = true;
	CHECK(!vq_enable_notify(&f.v.vq[0]));
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used)), VIRTQ_USED_F_NO_NOTIFY);
	f.v.vq[0].poll_hold = false;
	CHECK(!vq_enable_notify(&f.v.vq[0]));
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used)), 0);
	/* Unpop gives the chain back. */
	head = vqdrv_add(&f.d, 0, b, 2);
	CHECK_EQ(pop(&f, 0), 1);
	vq_unpop(&f.v.vq[0], 1);
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(f.c.head, head);
	/* Ring wrap: many chains through a 16-entry ring. */
	for (int i = 0; i < 100; i++) {
		head = vqdrv_add(&f.d, 0, b, 3);
		CHECK_EQ(pop(&f, 0), 1);
		CHECK_EQ(f.c.head, head);
		vq_push(&f.v.vq[0], head, 7);
	}
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_NEEDS_RESET));
	fx_fini(&f);
}

/* vq_push_n publishes the used index once; the avail index is cached. */
static void test_batch(void)
{
	struct fx f;
	struct vqdrv_buf b[1] = { { DATA, 16, false } };
	struct vq_used_elem u[4];
	uint16_t heads[4];
	uint32_t id, len;

	fx_init(&f, NOEVF);
	for (int i = 0; i < 3; i++)
		heads[i] = vqdrv_add(&f.d, 0, b, 1);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pop(&f, 0), 1);
		u[i] = (struct vq_used_elem){ f.c.head, (uint32_t)(10 + i) };
	}
	CHECK_EQ(pop(&f, 0), 0);
	u[3] = (struct vq_used_elem){ QS + 5, 1 }; /* bad head: skipped */
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used + 2)), 0);
	vq_push_n(&f.v.vq[0], u, 4);
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used + 2)), 3);
	for (int i = 0; i < 3; i++) {
		CHECK(vqdrv_used(&f.d, 0, &id, &len));
		CHECK_EQ(id, heads[i]);
		CHECK_EQ(len, 10 + i);
	}
	CHECK(!vqdrv_used(&f.d, 0, &id, &len));
	vq_push_n(&f.v.vq[0], u, 0); /* nothing: index unchanged */
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used + 2)), 3);
	/* Two chains published; after popping one, a later index jump by the
	 * driver is not seen until the cached entries are used up, then it is
	 * caught. */
	vqdrv_add(&f.d, 0, b, 1);
	vqdrv_add(&f.d, 0, b, 1);
	CHECK_EQ(pop(&f, 0), 1);
	put_le16(vqdrv_p(&f.d, f.d.q[0].avail + 2), (uint16_t)(5 + QS + 1));
	CHECK(vq_has_avail(&f.v.vq[0]));
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(pop(&f, 0), -EINVAL);
	CHECK(virtio_get_status(&f.v) & VIRTIO_S_NEEDS_RESET);
	fx_fini(&f);
}

static void test_indirect_and_mixed(void)
{
	struct fx f;
	fx_init(&f, ALLF);
	/* Pure indirect: table of 3 entries. */
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	vqdrv_set_ind(&f.d, TABLE, 2, DATA + 0x100, 32, VIRTQ_DESC_F_NEXT, 1);
	vqdrv_set_ind(&f.d, TABLE, 1, DATA + 0x200, 512, VIRTQ_DESC_F_WRITE, 0);
	vqdrv_set_desc(&f.d, 0, 5, TABLE, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	vqdrv_publish(&f.d, 0, 5);
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(f.c.head, 5);
	CHECK_EQ(f.c.nout, 2);
	CHECK_EQ(f.c.nin, 1);
	CHECK_EQ(f.c.out_bytes, 48);
	CHECK_EQ(f.c.in_bytes, 512);
	CHECK(f.iov[1].iov_base == vqdrv_p(&f.d, DATA + 0x100));
	/* Mixed: a direct readable descriptor, then an indirect table. */
	vqdrv_set_ind(&f.d, TABLE + 0x1000, 0, DATA + 0x300, 8, 0, 0);
	vqdrv_set_desc(&f.d, 0, 7, DATA, 16, VIRTQ_DESC_F_NEXT, 9);
	vqdrv_set_desc(&f.d, 0, 9, TABLE + 0x1000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 7);
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(f.c.head, 7);
	CHECK_EQ(f.c.nout, 2);
	CHECK_EQ(f.c.nin, 0);
	CHECK_EQ(f.c.out_bytes, 24);
	/* Zero-length descriptors are skipped. */
	vqdrv_set_desc(&f.d, 0, 1, 0xdeadbeef000ULL, 0, VIRTQ_DESC_F_NEXT, 2);
	vqdrv_set_desc(&f.d, 0, 2, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	vqdrv_publish(&f.d, 0, 1);
	CHECK_EQ(pop(&f, 0), 1);
	CHECK_EQ(f.c.nout + f.c.nin, 1);
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_NEEDS_RESET));
	fx_fini(&f);
}

static void test_event_idx(void)
{
	struct fx f;
	struct virtqueue *vq;
	uint64_t used_event_gpa;
	uint16_t h;
	fx_init(&f, ALLF);
	vq = &f.v.vq[0];
	CHECK(vq->event_idx);
	used_event_gpa = f.d.q[0].avail + 4 + 2 * QS;
	struct vqdrv_buf b = { DATA, 8, true };
	/* used_event = 0: interrupt after the first used entry (idx 0 -> 1). */
	put_le16(vqdrv_p(&f.d, used_event_gpa), 0);
	h = vqdrv_add(&f.d, 0, &b, 1);
	CHECK_EQ(pop(&f, 0), 1);
	vq_push(vq, h, 8);
	vq_notify(vq);
	CHECK_EQ(f.d.irqs[0], 1);
	/* used_event = 3: entries 1, 2 give no interrupt, entry 3 (->4) does. */
	put_le16(vqdrv_p(&f.d, used_event_gpa), 3);
	for (int i = 1; i <= 3; i++) {
		h = vqdrv_add(&f.d, 0, &b, 1);
		CHECK_EQ(pop(&f, 0), 1);
		vq_push(vq, h, 8);
		vq_notify(vq);
		CHECK_EQ(f.d.irqs[0], i == 3 ? 2u : 1u);
	}
	/* Batched: two pushes crossing used_event in one notify. */
	put_le16(vqdrv_p(&f.d, used_event_gpa), 4);
	for (int i = 0; i < 2; i++) {
		h = vqdrv_add(&f.d, 0, &b, 1);
		CHECK_EQ(pop(&f, 0), 1);
		vq_push(vq, h, 8);
	}
	vq_notify(vq);
	CHECK_EQ(f.d.irqs[0], 3);
	/* used_event behind (driver not interested): no interrupt. */
	h = vqdrv_add(&f.d, 0, &b, 1);
	CHECK_EQ(pop(&f, 0), 1);
	vq_push(vq, h, 8);
	vq_notify(vq);
	CHECK_EQ(f.d.irqs[0], 3);
	/* avail_event follows last_avail when kicks are turned on. */
	vq_set_notify(vq, false);
	CHECK(!vq_enable_notify(vq));
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used + 4 + 8 * QS)), 7);
	h = vqdrv_add(&f.d, 0, &b, 1);
	CHECK(vq_enable_notify(vq));
	/* Used flags untouched in event-idx mode. */
	CHECK_EQ(get_le16(vqdrv_p(&f.d, f.d.q[0].used)), 0);
	fx_fini(&f);
}

/* Each malformed case: pop fails, NEEDS_RESET + config irq, queue stops. */
static void expect_bad(struct fx *f, unsigned q, const char *what)
{
	unit_current = what;
	CHECK_EQ(pop(f, q), (uint64_t)-EINVAL);
	CHECK(virtio_get_status(&f->v) & VIRTIO_S_NEEDS_RESET);
	CHECK_EQ(f->d.config_irqs, 1);
	CHECK_EQ(pop(f, q), 0);
	CHECK(!vq_has_avail(&f->v.vq[q]));
	/* Kicks on a broken queue are ignored. */
	virtio_queue_notify(&f->v, q);
	/* Reset recovers the device. */
	virtio_set_status(&f->v, 0);
	CHECK_EQ(virtio_get_status(&f->v), 0);
	CHECK(!f->v.vq[q].enabled);
	fx_fini(f);
}

static void test_malformed(void)
{
	struct fx f;
	struct vqdrv_buf b2[2] = { { DATA, 4, true }, { DATA + 64, 4, false } };

	fx_init(&f, ALLF); /* direct loop */
	vqdrv_set_desc(&f.d, 0, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	vqdrv_set_desc(&f.d, 0, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "loop");

	fx_init(&f, ALLF); /* self loop */
	vqdrv_set_desc(&f.d, 0, 3, DATA, 4, VIRTQ_DESC_F_NEXT, 3);
	vqdrv_publish(&f.d, 0, 3);
	expect_bad(&f, 0, "self loop");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, DATA, 4, VIRTQ_DESC_F_NEXT, QS);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "next out of range");

	fx_init(&f, ALLF);
	vqdrv_publish(&f.d, 0, QS + 3);
	expect_bad(&f, 0, "head out of range");

	fx_init(&f, ALLF);
	put_le16(vqdrv_p(&f.d, f.d.q[1].avail + 2), QS + 1);
	expect_bad(&f, 1, "avail idx jump");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, MEM - 8, 16, 0, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "buffer past RAM end");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "address wraps");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, DATA, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "huge length");

	fx_init(&f, ALLF);
	vqdrv_add(&f.d, 0, b2, 2);
	expect_bad(&f, 0, "write before read");

	fx_init(&f, ALLF);
	vqdrv_set_ind(&f.d, TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "nested indirect");

	fx_init(&f, ALLF);
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 4, 0, 0);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vqdrv_set_desc(&f.d, 0, 1, DATA, 4, 0, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect with next");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 20, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect len not multiple of 16");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 16 * (QS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect table too big");

	fx_init(&f, ALLF);
	vqdrv_set_desc(&f.d, 0, 0, MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect table outside RAM");

	fx_init(&f, ALLF);
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	vqdrv_set_ind(&f.d, TABLE, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect loop");

	fx_init(&f, ALLF);
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 5);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect next out of range");

	fx_init(&f, VIRTIO_BIT(VIRTIO_F_VERSION_1)); /* INDIRECT not negotiated */
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 4, 0, 0);
	vqdrv_set_desc(&f.d, 0, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "indirect not negotiated");

	fx_init(&f, ALLF); /* more buffers than the caller's iov */
	f.c.max_iov = 2;
	struct vqdrv_buf b3[3] = { { DATA, 4, false }, { DATA, 4, false }, { DATA, 4, false } };
	vqdrv_add(&f.d, 0, b3, 3);
	expect_bad(&f, 0, "too many buffers");

	fx_init(&f, ALLF); /* direct chain of 15 + indirect of 2: longer than queue */
	for (uint16_t i = 0; i < QS - 1; i++)
		vqdrv_set_desc(&f.d, 0, i, DATA, 0, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	vqdrv_set_ind(&f.d, TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	vqdrv_set_ind(&f.d, TABLE, 1, DATA, 4, 0, 0);
	vqdrv_set_desc(&f.d, 0, QS - 1, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vqdrv_publish(&f.d, 0, 0);
	expect_bad(&f, 0, "mixed chain too long");
	unit_current = "test_malformed";
}

static void test_enable_checks(void)
{
	struct fx f;
	struct vq_config c;
	fx_init(&f, ALLF);
	virtio_set_status(&f.v, 0);
	virtio_set_status(&f.v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	virtio_set_driver_features(&f.v, 1, 1);
	virtio_set_status(&f.v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	CHECK(virtio_get_status(&f.v) & VIRTIO_S_FEATURES_OK);

	c = (struct vq_config){ 16, 0x1000, 0x2000, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 0, &c), 0);
	CHECK_EQ(virtio_queue_enable(&f.v, 0, &c), (uint64_t)-EBUSY);
	CHECK_EQ(virtio_queue_enable(&f.v, 2, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 12, 0x1000, 0x2000, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 512, 0x1000, 0x20000, 0x30000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 0, 0x1000, 0x2000, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 16, 0x1008, 0x2000, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 16, 0x1000, 0x2001, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 16, 0x1000, 0x2000, 0x3002 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 16, 0x1000, 0x2000, MEM - 64 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	c = (struct vq_config){ 16, 0xfffffffffffffff0ULL, 0x2000, 0x3000 };
	CHECK_EQ(virtio_queue_enable(&f.v, 1, &c), (uint64_t)-EINVAL);
	CHECK(!virtio_queue_enabled(&f.v, 1));
	CHECK(virtio_queue_enabled(&f.v, 0));
	/* Notify out of range is ignored. */
	virtio_queue_notify(&f.v, 77);
	fx_fini(&f);
}

static void test_features(void)
{
	struct fx f;
	fx_init(&f, ALLF);
	CHECK_EQ(virtio_get_device_features(&f.v, 1) & 1, 1);
	CHECK(virtio_get_device_features(&f.v, 0) & (1u << VIRTIO_F_RING_EVENT_IDX));
	CHECK_EQ(virtio_get_device_features(&f.v, 2), 0);
	/* Not a subset of the offer: refused. */
	virtio_set_status(&f.v, 0);
	virtio_set_status(&f.v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	virtio_set_driver_features(&f.v, 0, 1);
	virtio_set_driver_features(&f.v, 1, 1);
	virtio_set_status(&f.v, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_FEATURES_OK));
	/* Without VERSION_1: refused. */
	virtio_set_status(&f.v, 0);
	virtio_set_driver_features(&f.v, 0, 1u << VIRTIO_F_RING_EVENT_IDX);
	virtio_set_status(&f.v, VIRTIO_S_FEATURES_OK);
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_FEATURES_OK));
	/* DRIVER_OK without FEATURES_OK is not accepted. */
	virtio_set_status(&f.v, VIRTIO_S_DRIVER_OK);
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_DRIVER_OK));
	/* Proper negotiation; later feature writes ignored. */
	virtio_set_status(&f.v, 0);
	virtio_set_driver_features(&f.v, 1, 1);
	virtio_set_status(&f.v, VIRTIO_S_FEATURES_OK);
	CHECK(virtio_get_status(&f.v) & VIRTIO_S_FEATURES_OK);
	virtio_set_driver_features(&f.v, 0, 0xffffffff);
	CHECK_EQ(virtio_get_driver_features(&f.v, 0), 0);
	/* Driver cannot set NEEDS_RESET. */
	virtio_set_status(&f.v, VIRTIO_S_FEATURES_OK | VIRTIO_S_NEEDS_RESET);
	CHECK(!(virtio_get_status(&f.v) & VIRTIO_S_NEEDS_RESET));
	/* Config space of length 0: reads 0, writes ignored. */
	CHECK_EQ(virtio_config_read(&f.v, 0, 4), 0);
	virtio_config_write(&f.v, 0, 4, 1);
	fx_fini(&f);
}

static void test_iov_helpers(void)
{
	char a[4] = "abcd", b[3] = "efg", out[8] = { 0 };
	struct iovec iov[2] = { { a, 4 }, { b, 3 } }, s[4];
	CHECK_EQ(vq_iov_to_buf(iov, 2, 2, out, 8), 5);
	CHECK(memcmp(out, "cdefg", 5) == 0);
	CHECK_EQ(vq_iov_from_buf(iov, 2, 3, "XYZ", 3), 3);
	CHECK(memcmp(a, "abcX", 4) == 0 && memcmp(b, "YZg", 3) == 0);
	CHECK_EQ(vq_iov_slice(iov, 2, 1, 4, s, 4), 2);
	CHECK_EQ(s[0].iov_len, 3);
	CHECK_EQ(s[1].iov_len, 1);
	CHECK_EQ(vq_iov_slice(iov, 2, 7, 4, s, 4), 0);
}

int main(void)
{
	log_set_level(LOG_ERR);
	RUN(test_direct);
	RUN(test_batch);
	RUN(test_indirect_and_mixed);
	RUN(test_event_idx);
	RUN(test_malformed);
	RUN(test_enable_checks);
	RUN(test_features);
	RUN(test_iov_helpers);
	return unit_report();
}
