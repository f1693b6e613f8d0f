/* test=rnd: virtio-rnd delivers bytes that are not all zero. */
#include "vt.h"

long vt_rnd(void *arg)
{
	struct vd d;
	int bdf = vd_find(VIRTIO_DEV_RNG, 0);
	uint8_t *buf;
	unsigned total = 0, nonzero = 0;

	if (bdf < 0 || vd_probe(&d, (uint32_t)bdf) || vd_init(&d, 0) ||
	    vd_queue_setup(&d, 0, 16))
		return -1;
	vd_driver_ok(&d);
	buf = vd_alloc(256, 64);
	for (int i = 0; i < 4; i++) {
		struct vd_buf b = { buf, 64, true };
		long n;

		memset(buf, 0, 64);
		n = vd_xfer(&d.q[0], &b, 1, 5000);
		if (n <= 0 || n > 64) {
			printf("virtio-rnd: request %d returned %ld\n", i, n);
			return -1;
		}
		total += (unsigned)n;
		for (long k = 0; k < n; k++)
			nonzero += buf[k] != 0;
	}
	printf("virtio-rnd: %u bytes, %u non-zero, first %02x %02x %02x %02x\n",
	       total, nonzero, buf[0], buf[1], buf[2], buf[3]);
	return nonzero > total / 2 ? 0 : -1;
}
