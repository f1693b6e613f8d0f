/* virtio-blk request handling against a temporary image file. */
#include "unit.h"
#include "vqdrv.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhyve/block.h"
#include "lhyve/config.h"
#include "lhyve/event.h"

#define MEM (8 * MiB)
#define HDR 0x200000ULL
#define DATA 0x210000ULL
#define STATUS 0x2f0000ULL
#define NODE "pci.0.3.0"
#define IMG_SIZE (1 * MiB)

static char img[64];
static struct guest_mem gm;

static void make_image(void)
{
	snprintf(img, sizeof(img), "/tmp/lhyve-blk-test-%d.img", (int)getpid());
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, IMG_SIZE), 0);
	uint8_t buf[512];
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, sizeof(buf), 512 * 100), 512);
	close(fd);
}

static struct virtio_dev *mk(const char *opts, char *err, size_t errlen)
{
	struct config *c = config_new();
	struct virtio_env env = { .gm = &gm, .vm_name = "vm", .slot = 3 };
	struct virtio_dev *v;

	err[0] = '\0';
	if (blk_legacy_config(c, NODE, opts, err, errlen) < 0) {
		config_free(c);
		return NULL;
	}
	v = blk_create(&env, c, NODE, err, errlen);
	config_free(c);
	return v;
}

/* Submit one request and wait for it; returns the status byte. */
static int req(struct vqdrv *d, uint32_t type, uint64_t sector, uint32_t dlen,
	       bool dwrite, uint32_t *used_len)
{
	uint8_t *h = gm_ptr(&gm, HDR, 16);
	put_le32(h, type);
	put_le32(h + 4, 0);
	put_le64(h + 8, sector);
	*(uint8_t *)gm_ptr(&gm, STATUS, 1) = 0xff;
	struct vqdrv_buf b[3] = { { HDR, 16, false } };
	unsigned n = 1;
	if (dlen)
		b[n++] = (struct vqdrv_buf){ DATA, dlen, dwrite };
	b[n++] = (struct vqdrv_buf){ STATUS, 1, true };
	uint16_t head = vqdrv_add(d, 0, b, n);
	vqdrv_kick(d, 0);
	uint32_t id = 0, len = 0;
	for (int i = 0; i < 5000; i++) {
		if (vqdrv_used(d, 0, &id, &len)) {
			CHECK_EQ(id, head);
			if (used_len)
				*used_len = len;
			return *(uint8_t *)gm_ptr(&gm, STATUS, 1);
		}
		usleep(1000);
	}
	CHECK(!"request timed out");
	return -1;
}

static uint64_t feat(struct virtio_dev *v)
{
	return (uint64_t)virtio_get_device_features(v, 0) |
	       ((uint64_t)virtio_get_device_features(v, 1) << 32);
}

static void test_rw(void)
{
	char err[256];
	struct vqdrv d;
	uint32_t ul;
	struct virtio_dev *v = mk(img, err, sizeof(err));
	CHECK(v != NULL);
	if (!v) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(virtio_config_read(v, 0, 8), IMG_SIZE / 512);
	CHECK_EQ(virtio_config_read(v, 20, 4), 512);
	CHECK_EQ(virtio_config_read(v, 12, 4), 254);
	uint64_t f = feat(v);
	CHECK(f & (1ULL << 9));   /* FLUSH */
	CHECK(f & (1ULL << 13));  /* DISCARD */
	CHECK(f & (1ULL << 14));  /* WRITE_ZEROES */
	CHECK(!(f & (1ULL << 5))); /* not RO */
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL, 1, 64) & VIRTIO_S_DRIVER_OK);

	/* Write 2 sectors at sector 4, check the file. */
	uint8_t *data = gm_ptr(&gm, DATA, 65536);
	for (int i = 0; i < 1024; i++)
		data[i] = (uint8_t)(i * 7);
	CHECK_EQ(req(&d, 1, 4, 1024, false, &ul), 0);
	CHECK_EQ(ul, 1);
	int fd = open(img, O_RDONLY);
	uint8_t fb[1024];
	CHECK_EQ(pread(fd, fb, 1024, 4 * 512), 1024);
	CHECK(memcmp(fb, data, 1024) == 0);
	/* Read back sector 100 (0xee) and sector 4. */
	memset(data, 0, 4096);
	CHECK_EQ(req(&d, 0, 100, 512, true, &ul), 0);
	CHECK_EQ(ul, 513);
	CHECK_EQ(data[0], 0xee);
	CHECK_EQ(data[511], 0xee);
	CHECK_EQ(req(&d, 0, 4, 1024, true, NULL), 0);
	CHECK(memcmp(fb, data, 1024) == 0);
	/* Flush. */
	CHECK_EQ(req(&d, 4, 0, 0, false, NULL), 0);
	/* GET_ID: default serial is a 20-byte hash string. */
	memset(data, 0, 64);
	CHECK_EQ(req(&d, 8, 0, 20, true, &ul), 0);
	CHECK_EQ(ul, 21);
	CHECK(memcmp(data, "LHYVE-", 6) == 0);
	/* Out of range / partial sector / unknown type. */
	CHECK_EQ(req(&d, 0, IMG_SIZE / 512 - 1, 1024, true, NULL), 1);
	CHECK_EQ(req(&d, 1, IMG_SIZE / 512, 512, false, NULL), 1);
	CHECK_EQ(req(&d, 0, ~0ULL, 512, true, NULL), 1);
	CHECK_EQ(req(&d, 0, 0, 100, true, NULL), 1);
	CHECK_EQ(req(&d, 77, 0, 0, false, NULL), 2);
	/* Discard sector 100 -> zeros. */
	uint8_t *seg = data;
	put_le64(seg, 100);
	put_le32(seg + 8, 1);
	put_le32(seg + 12, 0);
	CHECK_EQ(req(&d, 11, 0, 16, false, NULL), 0);
	CHECK_EQ(pread(fd, fb, 512, 100 * 512), 512);
	CHECK_EQ(fb[0], 0);
	CHECK_EQ(fb[511], 0);
	/* Discard with the unmap flag set is unsupported; bad range is IOERR. */
	put_le32(seg + 12, 1);
	CHECK_EQ(req(&d, 11, 0, 16, false, NULL), 2);
	put_le64(seg, IMG_SIZE / 512);
	put_le32(seg + 12, 0);
	CHECK_EQ(req(&d, 11, 0, 16, false, NULL), 1);
	/* Write zeroes over sector 4..5 (both with and without unmap). */
	put_le64(seg, 4);
	put_le32(seg + 8, 1);
	put_le32(seg + 12, 0);
	CHECK_EQ(req(&d, 13, 0, 16, false, NULL), 0);
	put_le64(seg, 5);
	put_le32(seg + 12, 1);
	CHECK_EQ(req(&d, 13, 0, 16, false, NULL), 0);
	CHECK_EQ(pread(fd, fb, 1024, 4 * 512), 1024);
	CHECK_EQ(fb[1], 0);
	CHECK_EQ(fb[1023], 0);
	close(fd);

	/* Malformed requests: no status byte, short header. */
	struct vqdrv_buf bad[1] = { { HDR, 16, false } };
	vqdrv_add(&d, 0, bad, 1);
	vqdrv_kick(&d, 0);
	uint32_t id;
	CHECK(vqdrv_used(&d, 0, &id, &ul));
	CHECK_EQ(ul, 0);
	struct vqdrv_buf bad2[2] = { { HDR, 8, false }, { STATUS, 1, true } };
	vqdrv_add(&d, 0, bad2, 2);
	vqdrv_kick(&d, 0);
	CHECK(vqdrv_used(&d, 0, &id, &ul));
	CHECK(!(virtio_get_status(v) & VIRTIO_S_NEEDS_RESET));

	/* Many requests in flight at once. */
	for (int i = 0; i < 32; i++) {
		uint64_t h = HDR + 0x100 * (uint64_t)(i + 1);
		uint8_t *hp = gm_ptr(&gm, h, 16);
		put_le32(hp, 1);
		put_le64(hp + 8, (uint64_t)i * 8);
		memset(gm_ptr(&gm, DATA + 4096ULL * (uint64_t)i, 4096), i + 1, 4096);
		struct vqdrv_buf b[3] = { { h, 16, false },
					  { DATA + 4096ULL * (uint64_t)i, 4096, false },
					  { STATUS + (uint64_t)i, 1, true } };
		vqdrv_add(&d, 0, b, 3);
	}
	vqdrv_kick(&d, 0);
	int got = 0;
	for (int i = 0; i < 5000 && got < 32; i++) {
		if (vqdrv_used(&d, 0, NULL, NULL))
			got++;
		else
			usleep(1000);
	}
	CHECK_EQ(got, 32);
	CHECK(d.irqs[0] > 0);
	fd = open(img, O_RDONLY);
	CHECK_EQ(pread(fd, fb, 1, 31 * 4096), 1);
	CHECK_EQ(fb[0], 32);
	close(fd);

	/* Reset with the device running, then destroy. */
	virtio_set_status(v, 0);
	virtio_dev_destroy(v);
}

static void test_ro_and_lock(void)
{
	char err[256], err2[256];
	struct vqdrv d;
	struct virtio_dev *v = mk(img, err, sizeof(err));
	CHECK(v != NULL);
	/* A second writer is refused with a clear message. */
	struct virtio_dev *v2 = mk(img, err2, sizeof(err2));
	CHECK(v2 == NULL);
	CHECK(strstr(err2, "is in use by another process") != NULL);
	/* A reader too (a writer holds the image). */
	char opts[128];
	snprintf(opts, sizeof(opts), "%s,ro", img);
	v2 = mk(opts, err2, sizeof(err2));
	CHECK(v2 == NULL);
	virtio_dev_destroy(v);
	/* Read-only: RO offered, no DISCARD, writes fail. Two readers are fine. */
	v = mk(opts, err, sizeof(err));
	CHECK(v != NULL);
	v2 = mk(opts, err2, sizeof(err2));
	CHECK(v2 != NULL);
	virtio_dev_destroy(v2);
	uint64_t f = feat(v);
	CHECK(f & (1ULL << 5));
	CHECK(!(f & (1ULL << 13)));
	CHECK(!(f & (1ULL << 14)));
	vqdrv_start(&d, &gm, v, ~0ULL, 1, 64);
	CHECK_EQ(req(&d, 1, 0, 512, false, NULL), 1);
	CHECK_EQ(req(&d, 0, 0, 512, true, NULL), 0);
	CHECK_EQ(req(&d, 11, 0, 16, false, NULL), 2);
	CHECK_EQ(req(&d, 4, 0, 0, false, NULL), 0);
	virtio_dev_destroy(v);
}

static void test_options(void)
{
	char err[256], opts[256];
	struct virtio_dev *v;

	v = mk("/nonexistent/disk.img", err, sizeof(err));
	CHECK(v == NULL);
	CHECK(strstr(err, "No such file or directory") != NULL);
	CHECK(strstr(err, "/nonexistent/disk.img") != NULL);

	snprintf(opts, sizeof(opts), "%s,sectorsize=4096/8192,ser=ABC,nodelete", img);
	v = mk(opts, err, sizeof(err));
	CHECK(v != NULL);
	if (v) {
		CHECK_EQ(virtio_config_read(v, 20, 4), 4096);
		CHECK_EQ(virtio_config_read(v, 24, 1), 1); /* physical exp */
		CHECK_EQ(virtio_config_read(v, 0, 8), IMG_SIZE / 512);
		CHECK(!(feat(v) & (1ULL << 13)));
		struct vqdrv d;
		vqdrv_start(&d, &gm, v, ~0ULL, 1, 64);
		memset(gm_ptr(&gm, DATA, 32), 0x55, 32);
		uint32_t ul;
		CHECK_EQ(req(&d, 8, 0, 32, true, &ul), 0);
		CHECK_EQ(ul, 21);
		CHECK(memcmp(gm_ptr(&gm, DATA, 4), "ABC\0", 4) == 0);
		virtio_dev_destroy(v);
	}
	snprintf(opts, sizeof(opts), "%s,sectorsize=1000", img);
	CHECK(mk(opts, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "sectorsize") != NULL);
	snprintf(opts, sizeof(opts), "%s,sectorsize=4096/512", img);
	CHECK(mk(opts, err, sizeof(err)) == NULL);
	snprintf(opts, sizeof(opts), "%s,ser=123456789012345678901", img);
	CHECK(mk(opts, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "20") != NULL);
	snprintf(opts, sizeof(opts), "%s,bogus", img);
	CHECK(mk(opts, err, sizeof(err)) == NULL);
	CHECK_STR(err, "virtio-blk: invalid option 'bogus'");
	snprintf(opts, sizeof(opts), "%s,bootindex=1", img);
	CHECK(mk(opts, err, sizeof(err)) == NULL);
	snprintf(opts, sizeof(opts), "%s,direct,sync,nocache", img);
	v = mk(opts, err, sizeof(err));
	if (v) /* O_DIRECT may be unsupported by the file system */
		virtio_dev_destroy(v);
	else
		CHECK(strstr(err, img) != NULL);
	CHECK(mk(NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "path") != NULL);
}

/*
 * virtio.poll_us: after virtio_queue_kicked the queue is polled on the
 * event loop with kicks off; a request added without a kick is served by
 * the loop; when the window runs out kicks come back on.
 */
static void test_poll(void)
{
	struct config *c = config_new();
	struct evloop *loop = evloop_new();
	struct virtio_env env = { .gm = &gm, .vm_name = "vm", .slot = 3, .loop = loop,
				  .poll_ns = 30 * 1000000ULL };
	char err[256];
	struct vqdrv d;
	struct virtio_dev *v;
	uint32_t id, len;
	uint16_t head;
	const uint16_t *uflags;

	CHECK(loop != NULL);
	CHECK_EQ(blk_legacy_config(c, NODE, img, err, sizeof(err)), 0);
	v = blk_create(&env, c, NODE, err, sizeof(err));
	config_free(c);
	CHECK(v != NULL);
	if (!v || !loop)
		return;
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL & ~(1ULL << VIRTIO_F_RING_EVENT_IDX), 1, 64) &
	      VIRTIO_S_DRIVER_OK);
	uflags = (const uint16_t *)vqdrv_p(&d, d.q[0].used);
	uint8_t *h = gm_ptr(&gm, HDR, 16);
	put_le32(h, 8); /* GET_ID: completes inline */
	put_le32(h + 4, 0);
	put_le64(h + 8, 0);
	struct vqdrv_buf b[3] = { { HDR, 16, false }, { DATA, 20, true }, { STATUS, 1, true } };

	/* The kick is served, then kicks stay off while the loop polls. */
	head = vqdrv_add(&d, 0, b, 3);
	virtio_queue_kicked(v, 0);
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(id, head);
	CHECK_EQ(*uflags, VIRTQ_USED_F_NO_NOTIFY);
	/* A request without a kick: the loop finds it. */
	head = vqdrv_add(&d, 0, b, 3);
	CHECK(!vqdrv_used(&d, 0, &id, &len));
	for (int i = 0; i < 100 && !vqdrv_used(&d, 0, &id, &len); i++)
		evloop_run_once(loop, 0);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 21);
	CHECK_EQ(*uflags, VIRTQ_USED_F_NO_NOTIFY);
	/* Idle past the window: kicks are back on and the loop sleeps again. */
	usleep(40000);
	evloop_run_once(loop, 0);
	CHECK_EQ(*uflags, 0);
	/* A request that arrives as polling ends is still served. */
	virtio_queue_kicked(v, 0);
	CHECK_EQ(*uflags, VIRTQ_USED_F_NO_NOTIFY);
	usleep(40000);
	head = vqdrv_add(&d, 0, b, 3);
	evloop_run_once(loop, 0); /* window over, but this round serves it */
	for (int i = 0; i < 100 && !vqdrv_used(&d, 0, &id, &len); i++)
		evloop_run_once(loop, 0);
	CHECK_EQ(id, head);
	/* A reset while polling: kicks on for the next driver. */
	virtio_set_status(v, 0);
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL & ~(1ULL << VIRTIO_F_RING_EVENT_IDX), 1, 64) &
	      VIRTIO_S_DRIVER_OK);
	uflags = (const uint16_t *)vqdrv_p(&d, d.q[0].used);
	CHECK_EQ(*uflags, 0);
	head = vqdrv_add(&d, 0, b, 3);
	vqdrv_kick(&d, 0); /* a plain notify (MMIO path) does not start polling */
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(*uflags, 0);
	virtio_dev_destroy(v);
	evloop_free(loop);
}

static void done_cb(struct blkbe_req *r, int res)
{
	__atomic_store_n(&r->len, res == 0 ? 1 : 2, __ATOMIC_SEQ_CST);
}

/* One backend request, waited for; it must succeed. */
static void sync_io(struct blkbe *b, enum blkbe_op op, uint64_t offset,
		    const struct iovec *iov, unsigned iovcnt)
{
	struct blkbe_req r = { .op = op, .offset = offset, .iov = iov, .iovcnt = iovcnt,
			       .done = done_cb };

	CHECK_EQ(blkbe_submit(b, &r), 0);
	blkbe_drain(b);
	CHECK_EQ(r.len, 1);
}

/* Backend directly: thread engine and O_DIRECT bounce buffers. */
static void test_backend(void)
{
	char err[256];
	for (int mode = 0; mode < 2; mode++) {
		struct blkbe_opts o = { .path = img, .no_uring = true, .nocache = mode == 1 };
		struct blkbe *b = blkbe_open(&o, err, sizeof(err));
		if (!b) {
			CHECK(mode == 1); /* O_DIRECT unsupported here */
			continue;
		}
		CHECK_STR(blkbe_engine(b), "threads");
		static char buf[4096 + 3];
		char *p = buf + 3; /* deliberately misaligned */
		memset(p, 'x', 4096);
		struct iovec iov = { p, 4096 };
		sync_io(b, BLKBE_WRITE, 8192, &iov, 1);
		memset(p, 0, 4096);
		sync_io(b, BLKBE_READ, 8192, &iov, 1);
		CHECK_EQ(p[0], 'x');
		CHECK_EQ(p[4095], 'x');
		blkbe_close(b);
	}
	struct blkbe_opts o = { .path = img };
	struct blkbe *b = blkbe_open(&o, err, sizeof(err));
	CHECK(b != NULL);
	if (b) {
		printf("default block engine: %s\n", blkbe_engine(b));
		blkbe_close(b);
	}
}

/*
 * Buffered writes through the default engine, small ones (done inline where
 * the file system has no RWF_NOWAIT for writes) and one above the inline
 * limit, each completed before the next: what was written reads back.
 */
static void test_backend_writes(void)
{
	char err[256];
	struct blkbe_opts o = { .path = img };
	struct blkbe *b = blkbe_open(&o, err, sizeof(err));
	static uint8_t big[256 * 1024], chk[256 * 1024];

	CHECK(b != NULL);
	if (!b)
		return;
	for (unsigned i = 0; i < 16; i++) {
		uint8_t sec[4096];
		memset(sec, 'a' + (int)i, sizeof(sec));
		struct iovec iov[2] = { { sec, 1024 }, { sec + 1024, 3072 } };
		sync_io(b, BLKBE_WRITE, (uint64_t)i * 8192, iov, 2);
	}
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	struct iovec biov = { big, sizeof(big) };
	sync_io(b, BLKBE_WRITE, 512 * 1024, &biov, 1);
	for (unsigned i = 0; i < 16; i++) {
		uint8_t sec[4096];
		struct iovec iov = { sec, sizeof(sec) };
		sync_io(b, BLKBE_READ, (uint64_t)i * 8192, &iov, 1);
		CHECK_EQ(sec[0], 'a' + i);
		CHECK_EQ(sec[4095], 'a' + i);
	}
	struct iovec civ = { chk, sizeof(chk) };
	sync_io(b, BLKBE_READ, 512 * 1024, &civ, 1);
	CHECK(memcmp(big, chk, sizeof(big)) == 0);
	blkbe_close(b);
}

int main(void)
{
	log_set_level(LOG_ERR);
	fake_gm_init(&gm, MEM, 0);
	make_image();
	RUN(test_rw);
	RUN(test_ro_and_lock);
	RUN(test_options);
	RUN(test_poll);
	RUN(test_backend);
	RUN(test_backend_writes);
	unlink(img);
	fake_gm_free(&gm);
	return unit_report();
}
