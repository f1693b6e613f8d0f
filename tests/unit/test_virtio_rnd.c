/* virtio-rnd: buffers come back filled with random bytes. */
#include "unit.h"
#include "vqdrv.h"

#include "lhyve/config.h"

#define MEM (8 * MiB)
#define BUF 0x200000ULL

static void test_rnd(void)
{
	struct guest_mem gm;
	struct vqdrv d;
	struct config *c = config_new();
	struct virtio_env env = { .gm = &gm };
	char err[128];
	uint32_t id = 0, len = 0;

	fake_gm_init(&gm, MEM, 0);
	CHECK_EQ(rnd_legacy_config(c, "pci.0.5.0", "/dev/random", err, sizeof(err)), 0);
	CHECK(rnd_legacy_config(c, "pci.0.5.0", "x=1", err, sizeof(err)) < 0);
	struct virtio_dev *v = rnd_create(&env, c, "pci.0.5.0", err, sizeof(err));
	CHECK(v != NULL);
	CHECK_EQ(v->ops->device_id, VIRTIO_ID_RNG);
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL, 1, 16) & VIRTIO_S_DRIVER_OK);
	/* Two writable buffers in one chain, and a second chain. */
	struct vqdrv_buf b[2] = { { BUF, 64, true }, { BUF + 0x1000, 200, true } };
	uint16_t h1 = vqdrv_add(&d, 0, b, 2);
	struct vqdrv_buf big = { BUF + 0x10000, 100000, true };
	uint16_t h2 = vqdrv_add(&d, 0, &big, 1);
	vqdrv_kick(&d, 0);
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(id, h1);
	CHECK_EQ(len, 264);
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(id, h2);
	CHECK_EQ(len, 65536);
	CHECK_EQ(d.irqs[0], 1);
	uint8_t *p = gm_ptr(&gm, BUF + 0x1000, 200);
	int nz = 0;
	for (int i = 0; i < 200; i++)
		nz += p[i] != 0;
	CHECK(nz > 150);
	/* A readable-only chain gets length 0. */
	struct vqdrv_buf ro = { BUF, 16, false };
	vqdrv_add(&d, 0, &ro, 1);
	vqdrv_kick(&d, 0);
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(len, 0);
	virtio_dev_destroy(v);
	config_free(c);
	fake_gm_free(&gm);
}

int main(void)
{
	log_set_level(LOG_ERR);
	RUN(test_rnd);
	return unit_report();
}
