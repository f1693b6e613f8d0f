/* virtio-rnd (src/virtio/rnd.c) driven through the shared virtio driver. */
#include "fuzz_virtio.h"
#include "lhyve/config.h"

FUZZ_TARGET(virtio_rnd)
{
	struct fzv f;
	struct fz in;
	char err[256];
	struct config *c = config_new();

	fzv_gm_init(&f, 1);
	struct virtio_env env = { .gm = &f.gm, .vm_name = "fuzz", .slot = 5 };
	if (!c || !(f.v = rnd_create(&env, c, "pci.0.5.0", err, sizeof(err))))
		abort();
	config_free(c);
	fz_init(&in, data, size);
	fzv_run(&f, &in);
	fzv_fini(&f);
	return 0;
}
