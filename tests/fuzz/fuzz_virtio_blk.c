/*
 * virtio-blk requests (src/virtio/blk.c) against a 1 MiB image in the
 * harness's temporary directory: the first input byte picks options (ro,
 * nodelete, sector size, serial); the rest drives the shared virtio
 * driver. Request completions run on backend threads; the final reset
 * drains them, so an input's effects on guest RAM are complete when it
 * returns (their order relative to later driver actions may vary).
 */
#include <fcntl.h>

#include "fuzz_virtio.h"
#include "lhyve/config.h"

/* An image per device: writable images are locked against a second opener. */
static void fz_blk_image(unsigned slot, char *path, size_t len)
{
	snprintf(path, len, "%s/disk%u.img", fz_tmpdir(), slot);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
}

/*
 * Opening a block backend (io_uring, worker threads) costs about a
 * millisecond, more than the rest of an input: one device per option set
 * is created on first use and kept for the life of the process, like a VM
 * that the guest resets between inputs (fzv_run starts with a reset and
 * ends with one, which waits for in-flight requests). Guest RAM lives in
 * the same static slot because the device keeps a pointer to it.
 */
static struct fzv *fz_blk_device(uint8_t opt)
{
	static const char *const sectors[] = { NULL, "512", "4096", "512/4096" };
	static struct fzv slots[32];
	struct fzv *f = &slots[opt & 31];
	const char *node = "pci.0.4.0";
	char k[64], err[256], path[128];

	if (f->v) {
		fz_gm_acquire(&f->gm, f->ram); /* zeroed again, same mapping */
		return f;
	}
	struct config *c = config_new();
	if (!c)
		abort();
	fzv_gm_init(f, 1);
	struct virtio_env env = { .gm = &f->gm, .vm_name = "fuzz", .slot = 4 };
	snprintf(k, sizeof(k), "%s.path", node);
	fz_blk_image(opt & 31, path, sizeof(path));
	config_set(c, k, path);
	snprintf(k, sizeof(k), "%s.ro", node);
	config_set(c, k, (opt & 1) ? "true" : "false");
	snprintf(k, sizeof(k), "%s.nodelete", node);
	config_set(c, k, (opt & 2) ? "true" : "false");
	snprintf(k, sizeof(k), "%s.sectorsize", node);
	if (sectors[(opt >> 2) & 3])
		config_set(c, k, sectors[(opt >> 2) & 3]);
	if (opt & 0x10) {
		snprintf(k, sizeof(k), "%s.ser", node);
		config_set(c, k, "FUZZSERIAL");
	}
	f->v = blk_create(&env, c, node, err, sizeof(err));
	config_free(c);
	if (!f->v) {
		fprintf(stderr, "blk_create: %s\n", err);
		abort();
	}
	return f;
}

FUZZ_TARGET(virtio_blk)
{
	struct fz in;

	fz_init(&in, data, size);
	struct fzv *f = fz_blk_device(fz_u8(&in));
	fzv_run(f, &in);
	return 0;
}
