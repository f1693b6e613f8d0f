/* The bzimage loader (src/loader/) on hostile kernel files: see fuzz_loader.h. */
#include "fuzz_loader.h"

FUZZ_TARGET(bzimage)
{
	fz_loader_run(bzimage_load, bzimage_probe, data, size);
	return 0;
}
