/*
 * i8254 PIT (src/hw/pit.c): byte accesses to ports 0x40-0x43 (offsets 0-3)
 * and to port 0x61, with channel 0's interrupt timer on an event loop that
 * is polled (never waited on).
 */
#include "fuzz.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"

FUZZ_TARGET(pit)
{
	struct fz_irq irqs = { 0 };
	struct irq_chip chip = { &fz_irq_ops, &irqs };
	struct irq_line line;
	struct evloop *loop = evloop_new();
	struct fz in;

	irq_line_init(&line, &chip, 0);
	struct pit *p = loop ? pit_new(loop, line) : NULL;
	if (!p)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		uint64_t v = fz_u8(&in);
		switch (op % 4) {
		case 0: /* what the machine maps: 4 ports at 0x40 */
			pit_io(p, (op >> 2) & 3, 1, op & 0x10, &v);
			break;
		case 1: /* port 0x61 */
			pit_port61_io(p, 0, 1, op & 0x10, &v);
			break;
		case 2: /* any size and offset the bus could pass */
			pit_io(p, (op >> 2) & 7, fz_size(&in), op & 0x40, &v);
			break;
		case 3:
			evloop_run_once(loop, 0);
			break;
		}
	}
	pit_free(p);
	evloop_free(loop);
	return 0;
}
