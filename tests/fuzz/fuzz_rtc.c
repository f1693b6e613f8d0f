/*
 * MC146818 RTC/CMOS (src/hw/rtc.c): index/data port accesses of any size
 * at offsets 0 and 1, with the periodic/alarm/update timers on an event
 * loop that is polled (never waited on).
 */
#include "fuzz.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"

FUZZ_TARGET(rtc)
{
	struct fz_irq irqs = { 0 };
	struct irq_chip chip = { &fz_irq_ops, &irqs };
	struct irq_line line;
	struct evloop *loop = evloop_new();
	struct fz in;

	fz_init(&in, data, size);
	struct rtc_params p = { .localtime = fz_bool(&in),
				.lowmem = (uint64_t)fz_u32(&in) << 8,
				.highmem = fz_u64(&in) };
	irq_line_init(&line, &chip, 8);
	struct rtc *r = loop ? rtc_new(loop, line, &p) : NULL;
	if (!r)
		abort();
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		switch (op % 4) {
		case 0: { /* select a register then read or write it */
			uint64_t idx = fz_u8(&in), v = fz_u8(&in);
			rtc_io(r, 0, 1, true, &idx);
			rtc_io(r, 1, 1, op & 4, &v);
			break;
		}
		case 1:
		case 2: { /* raw access */
			unsigned off = fz_u8(&in) % 2, sz = fz_size(&in);
			uint64_t v = fz_u64(&in);
			if (off + sz > 2)
				break;
			rtc_io(r, off, sz, op & 4, &v);
			break;
		}
		case 3:
			evloop_run_once(loop, 0);
			break;
		}
	}
	rtc_free(r);
	evloop_free(loop);
	return 0;
}
