/* The pvh loader (src/loader/) on hostile kernel files: see fuzz_loader.h. */
#include "fuzz_loader.h"

FUZZ_TARGET(pvh)
{
	fz_loader_run(pvh_load, pvh_probe, data, size);
	return 0;
}
