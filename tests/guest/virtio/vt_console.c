/*
 * test=console: virtio-console port 0. The runner connects to the port's
 * UNIX socket and sends a line; the guest answers with
 * "guest got [LINE]" and the runner checks it.
 */
#include "vt.h"

#define CONS_RXBUFS 4
#define CONS_BUFLEN 256

long vt_console(void *arg)
{
	struct vd d;
	int bdf = vd_find(VIRTIO_DEV_CONSOLE, 0);
	uint8_t *rx[CONS_RXBUFS];
	char line[128], *out;
	unsigned len = 0;
	uint32_t start;
	bool done = false;
	long n;

	if (bdf < 0 || vd_probe(&d, (uint32_t)bdf) || vd_init(&d, 0) ||
	    vd_queue_setup(&d, 0, 16) || vd_queue_setup(&d, 1, 16))
		return -1;
	vd_driver_ok(&d);
	for (int i = 0; i < CONS_RXBUFS; i++) {
		struct vd_buf b;

		rx[i] = vd_alloc(CONS_BUFLEN, 64);
		b = (struct vd_buf){ rx[i], CONS_BUFLEN, true };
		vd_add(&d.q[0], &b, 1);
	}
	vd_kick(&d.q[0]);
	printf("virtio-console: ready\n");
	start = vd_ms();
	while (!done) {
		uint16_t head;
		uint32_t got;

		if (vd_wait_used(&d.q[0], &head, &got, 1000)) {
			if (vd_ms() - start > 60000) {
				printf("virtio-console: no input\n");
				return -1;
			}
			continue;
		}
		/* descriptor i holds rx[i] (added in order, one each) */
		for (uint32_t k = 0; k < got && k < CONS_BUFLEN && !done; k++) {
			char c = (char)rx[head % CONS_RXBUFS][k];

			if (c == '\n')
				done = true;
			else if (len + 1 < sizeof(line))
				line[len++] = c;
		}
		/* give the buffer back */
		vd_put_desc(&d.q[0], head, (uintptr_t)rx[head % CONS_RXBUFS], CONS_BUFLEN,
			    VRING_F_WRITE, 0);
		vd_publish(&d.q[0], head);
		vd_kick(&d.q[0]);
	}
	line[len] = 0;
	printf("virtio-console: got [%s]\n", line);
	out = vd_alloc(sizeof(line) + 32, 64);
	snprintf(out, sizeof(line) + 32, "guest got [%s]\n", line);
	{
		struct vd_buf b = { out, (uint32_t)strlen(out), false };

		n = vd_xfer(&d.q[1], &b, 1, 10000);
	}
	printf("virtio-console: sent reply (used %ld)\n", n);
	return n < 0 ? -1 : 0;
}
