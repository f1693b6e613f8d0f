/* The multiboot loader (src/loader/) on hostile kernel files: see fuzz_loader.h. */
#include "fuzz_loader.h"

FUZZ_TARGET(multiboot)
{
	fz_loader_run(multiboot_load, multiboot_probe, data, size);
	return 0;
}
