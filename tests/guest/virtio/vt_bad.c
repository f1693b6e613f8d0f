/*
 * test=malicious: a hostile driver against virtio-blk (first blk device):
 * descriptor loops, out-of-range and huge buffers, next indexes past the
 * queue, chains longer than the queue, indirect-in-indirect, an avail
 * index far ahead, wrong buffer direction, bad ring geometry and notify
 * storms. After each case the device must report DEVICE_NEEDS_RESET (or
 * fail the request), and a reset plus re-initialisation must bring it
 * back. Finally a second device (virtio-rnd) must still work. The VMM
 * staying up is shown by this guest reaching its end.
 */
#include "vt.h"

#define QSIZE 8
#define BLK_T_IN 0
#define BLK_T_GET_ID 8
#define OOB_ADDR 0x40000000000ull /* 4 TiB: far outside guest RAM */

struct bad {
	struct vd d;
	uint8_t *hdr, *status, *data, *itab, *itab2;
	unsigned failures;
};

enum bad_expect { EXPECT_RESET, EXPECT_ANY };

static void bad_hdr(struct bad *b, uint32_t type)
{
	memset(b->hdr, 0, 16);
	memcpy(b->hdr, &type, 4);
	*b->status = 0xEE;
}

static int bad_init(struct bad *b)
{
	if (vd_init(&b->d, VF_INDIRECT) || vd_queue_setup(&b->d, 0, QSIZE))
		return -1;
	vd_driver_ok(&b->d);
	return 0;
}

/* A good request on a freshly initialised device: GET_ID must work. */
static int bad_good_request(struct bad *b)
{
	struct vd_buf v[3] = {
		{ b->hdr, 16, false }, { b->data, 20, true }, { b->status, 1, true },
	};

	bad_hdr(b, BLK_T_GET_ID);
	return vd_xfer(&b->d.q[0], v, 3, 5000) >= 0 && *b->status == 0 ? 0 : -1;
}

/* Wait for NEEDS_RESET or a used entry, report, then reset and recover. */
static void bad_check(struct bad *b, const char *name, enum bad_expect want)
{
	uint32_t start = vd_ms(), len = 0;
	uint8_t st = 0;
	bool used = false;

	while (vd_ms() - start < 2000) {
		st = vd_status(&b->d);
		if (st & VS_NEEDS_RESET)
			break;
		if (vd_used_pending(&b->d.q[0])) {
			vd_wait_used(&b->d.q[0], NULL, &len, 0);
			used = true;
			break;
		}
		cpu_pause();
	}
	if (st & VS_NEEDS_RESET)
		printf("bad: %s -> NEEDS_RESET (status 0x%x)\n", name, st);
	else if (used)
		printf("bad: %s -> request completed len=%u blk-status=%u\n", name, len,
		       *b->status);
	else
		printf("bad: %s -> ignored (status 0x%x)\n", name, st);
	if (want == EXPECT_RESET && !(st & VS_NEEDS_RESET)) {
		printf("bad: %s: expected NEEDS_RESET\n", name);
		b->failures++;
	}
	if (bad_init(b) || bad_good_request(b)) {
		printf("bad: %s: device did not recover after reset\n", name);
		b->failures++;
	} else {
		printf("bad: %s: recovered after reset\n", name);
	}
}

/* hdr -> data (flags/next/addr/len given) -> status */
static void bad_chain3(struct bad *b, uint64_t addr, uint32_t len, uint16_t next1)
{
	struct vd_queue *q = &b->d.q[0];

	bad_hdr(b, BLK_T_IN);
	vd_put_desc(q, 0, (uintptr_t)b->hdr, 16, VRING_F_NEXT, 1);
	vd_put_desc(q, 1, addr, len, VRING_F_WRITE | VRING_F_NEXT, next1);
	vd_put_desc(q, 2, (uintptr_t)b->status, 1, VRING_F_WRITE, 0);
	vd_publish(q, 0);
	vd_kick(q);
}

static void bad_storm(struct bad *b)
{
	struct vd_queue *q = &b->d.q[0];
	uint32_t t0 = vd_ms();

	for (unsigned i = 0; i < 10000; i++)
		vd_kick(q);
	/* notify offsets of queues that do not exist, and the ISR/config */
	for (unsigned i = 0; i < 2000; i++) {
		*(volatile uint16_t *)(b->d.notify_base + b->d.notify_mult * (3 + i % 60)) = 0xFFFF;
		*(volatile uint32_t *)(b->d.common + 0x3C + 4 * (i % 16)) = i;
	}
	printf("bad: notify storm: 12000 kicks in %u ms\n", vd_ms() - t0);
	if (vd_status(&b->d) & VS_NEEDS_RESET) {
		printf("bad: notify storm broke the device\n");
		b->failures++;
	}
	if (bad_good_request(b)) {
		printf("bad: device does not work after the notify storm\n");
		b->failures++;
	} else {
		printf("bad: notify storm -> device still works\n");
	}
}

/* Ring geometry the device must refuse: queue_enable stays 0. */
static void bad_geometry(struct bad *b)
{
	volatile uint16_t *sel = (volatile uint16_t *)(b->d.common + 0x16);
	volatile uint16_t *size = (volatile uint16_t *)(b->d.common + 0x18);
	volatile uint16_t *en = (volatile uint16_t *)(b->d.common + 0x1C);
	volatile uint32_t *desc = (volatile uint32_t *)(b->d.common + 0x20);

	vd_init(&b->d, 0);
	*sel = 0;
	*size = 7; /* not a power of two: must be refused */
	desc[0] = 0;
	desc[1] = 0x400; /* desc ring at 4 TiB */
	*en = 1;
	printf("bad: ring outside RAM -> queue_enable reads %u, size %u\n", *en, *size);
	if (*en != 0 || *size == 7) {
		printf("bad: bad ring geometry accepted\n");
		b->failures++;
	}
	*sel = 200; /* no such queue: reads as size 0 */
	if (*size != 0) {
		printf("bad: queue 200 has size %u\n", *size);
		b->failures++;
	}
	if (bad_init(b) || bad_good_request(b)) {
		printf("bad: device did not recover after bad geometry\n");
		b->failures++;
	}
}

static int bad_rnd_works(void)
{
	struct vd d;
	int bdf = vd_find(VIRTIO_DEV_RNG, 0);
	uint8_t *buf = vd_alloc(32, 32);
	struct vd_buf v = { buf, 32, true };

	if (bdf < 0 || vd_probe(&d, (uint32_t)bdf) || vd_init(&d, 0) ||
	    vd_queue_setup(&d, 0, 8))
		return -1;
	vd_driver_ok(&d);
	return vd_xfer(&d.q[0], &v, 1, 5000) > 0 ? 0 : -1;
}

long vt_bad(void *arg)
{
	struct bad *b = vd_alloc(sizeof(*b), 64);
	struct vd_queue *q = &b->d.q[0];
	int bdf = vd_find(VIRTIO_DEV_BLK, 0);
	struct vring_desc *it;

	if (bdf < 0 || vd_probe(&b->d, (uint32_t)bdf))
		return -1;
	b->hdr = vd_alloc(16, 16);
	b->status = vd_alloc(1, 1);
	b->data = vd_alloc(4096, 4096);
	b->itab = vd_alloc(16 * 256, 4096);
	b->itab2 = vd_alloc(16 * 4, 64);
	if (bad_init(b) || bad_good_request(b)) {
		printf("bad: device does not work to begin with\n");
		return -1;
	}
	if (!(b->d.features & VF_INDIRECT))
		printf("bad: INDIRECT_DESC not offered\n");

	/* 1. a descriptor loop: 0 -> 1 -> 0 (all device-readable) */
	bad_hdr(b, BLK_T_IN);
	vd_put_desc(q, 0, (uintptr_t)b->hdr, 16, VRING_F_NEXT, 1);
	vd_put_desc(q, 1, (uintptr_t)b->data, 512, VRING_F_NEXT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "descriptor loop", EXPECT_RESET);

	/* 2. buffer outside guest RAM, 3. huge length, 4. next past the queue */
	bad_chain3(b, OOB_ADDR, 512, 2);
	bad_check(b, "out-of-range address", EXPECT_RESET);
	bad_chain3(b, (uintptr_t)b->data, 0xFFFFF000u, 2);
	bad_check(b, "huge length", EXPECT_RESET);
	bad_chain3(b, (uintptr_t)b->data, 512, 200);
	bad_check(b, "next index past the queue", EXPECT_RESET);

	/* 5. head index past the queue */
	vd_publish(q, 1000);
	vd_kick(q);
	bad_check(b, "head index past the queue", EXPECT_RESET);

	/* 6. an indirect chain longer than the queue (and than any sane limit) */
	it = (struct vring_desc *)b->itab;
	bad_hdr(b, BLK_T_IN);
	it[0] = (struct vring_desc){ (uintptr_t)b->hdr, 16, VRING_F_NEXT, 1 };
	for (uint16_t i = 1; i < 255; i++)
		it[i] = (struct vring_desc){ (uintptr_t)b->data + (i % 8) * 512u, 512,
					     VRING_F_WRITE | VRING_F_NEXT, (uint16_t)(i + 1) };
	it[255] = (struct vring_desc){ (uintptr_t)b->status, 1, VRING_F_WRITE, 0 };
	vd_put_desc(q, 0, (uintptr_t)it, 256 * 16, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "chain longer than the queue", EXPECT_ANY);

	/* 7. indirect inside indirect */
	it[0] = (struct vring_desc){ (uintptr_t)b->itab2, 32, VRING_F_INDIRECT, 0 };
	((struct vring_desc *)b->itab2)[0] =
		(struct vring_desc){ (uintptr_t)b->hdr, 16, 0, 0 };
	vd_put_desc(q, 0, (uintptr_t)it, 16, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "indirect in indirect", EXPECT_RESET);

	/* 8. indirect table outside RAM / with a loop inside */
	vd_put_desc(q, 0, OOB_ADDR, 64, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "indirect table outside RAM", EXPECT_RESET);
	it[0] = (struct vring_desc){ (uintptr_t)b->hdr, 16, VRING_F_NEXT, 1 };
	it[1] = (struct vring_desc){ (uintptr_t)b->data, 512, VRING_F_WRITE | VRING_F_NEXT, 0 };
	vd_put_desc(q, 0, (uintptr_t)it, 32, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "loop inside an indirect table", EXPECT_RESET);

	/* 9. avail index far ahead of the queue size */
	q->avail[1] = (uint16_t)(q->avail_idx + 1000);
	vd_kick(q);
	bad_check(b, "avail index jump", EXPECT_RESET);

	/* 10. read request whose data buffer is device-readable: must fail or
	 * reset, never write into it */
	memset(b->data + 1024, 0x77, 512);
	bad_hdr(b, BLK_T_IN);
	vd_put_desc(q, 0, (uintptr_t)b->hdr, 16, VRING_F_NEXT, 1);
	vd_put_desc(q, 1, (uintptr_t)b->data + 1024, 512, VRING_F_NEXT, 2);
	vd_put_desc(q, 2, (uintptr_t)b->status, 1, VRING_F_WRITE, 0);
	vd_publish(q, 0);
	vd_kick(q);
	bad_check(b, "wrong buffer direction", EXPECT_ANY);
	for (int i = 0; i < 512; i++)
		if (b->data[1024 + i] != 0x77) {
			printf("bad: device wrote into a device-readable buffer\n");
			b->failures++;
			break;
		}

	/* 11. bad ring geometry, 12. notify storm */
	bad_geometry(b);
	bad_storm(b);

	if (bad_rnd_works()) {
		printf("bad: virtio-rnd does not work\n");
		b->failures++;
	} else {
		printf("bad: virtio-rnd still works\n");
	}
	printf("bad: %u failures\n", b->failures);
	return b->failures ? -1 : 0;
}
