/*
 * i8042 keyboard controller (src/hw/i8042.c): data port (offset 0) and
 * command/status port (offset 4) byte accesses (what the machine maps); reset pulses go to a counting
 * power sink.
 */
#include "fuzz.h"
#include "lhyve/hw.h"

static void fz_i8042_power(void *opaque, enum vm_exitcode why)
{
	unsigned *n = opaque;
	(*n)++;
}

FUZZ_TARGET(i8042)
{
	unsigned requests = 0;
	struct power_sink ps = { fz_i8042_power, &requests };
	struct i8042 *k = i8042_new(&ps);
	struct fz in;

	if (!k)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		/* The machine maps one byte at 0x60 (offset 0) and one at 0x64 (offset 4). */
		uint8_t op = fz_u8(&in);
		uint64_t v = fz_u8(&in);
		i8042_io(k, (op & 1) ? 4 : 0, 1, op & 2, &v);
	}
	i8042_free(k);
	return 0;
}
