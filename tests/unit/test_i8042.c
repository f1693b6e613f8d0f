/* i8042 (probe + reset) and the POST port. */
#include <stdbool.h>

#include "unit.h"
#include "fakes.h"
#include "lhyve/hw.h"

static uint8_t rd(struct i8042 *k, unsigned off)
{
	uint64_t v = ~0ULL;
	CHECK_EQ(i8042_io(k, off, 1, false, &v), 0);
	return (uint8_t)v;
}

static void wr(struct i8042 *k, unsigned off, uint8_t val)
{
	uint64_t v = val;
	CHECK_EQ(i8042_io(k, off, 1, true, &v), 0);
}

static void test_i8042(void)
{
	struct fake_power fp;
	struct power_sink ps;
	struct i8042 *k;

	fake_power_init(&fp, &ps);
	k = i8042_new(&ps);

	CHECK_EQ(rd(k, 4) & 0x07, 0x04); /* no data, input empty, system flag */
	wr(k, 4, 0xAA);
	CHECK_EQ(rd(k, 4) & 0x01, 0x01);
	CHECK_EQ(rd(k, 0), 0x55);
	CHECK_EQ(rd(k, 4) & 0x01, 0);
	wr(k, 4, 0xAB);
	CHECK_EQ(rd(k, 0), 0x00);
	wr(k, 4, 0x60);
	wr(k, 0, 0x65);
	wr(k, 4, 0x20);
	CHECK_EQ(rd(k, 0), 0x65);
	wr(k, 4, 0xAD);
	wr(k, 4, 0x20);
	CHECK_EQ(rd(k, 0) & 0x10, 0x10);
	wr(k, 4, 0xAE);
	wr(k, 4, 0x20);
	CHECK_EQ(rd(k, 0) & 0x10, 0);
	wr(k, 0, 0xFF); /* keyboard reset: no keyboard, no answer */
	CHECK_EQ(rd(k, 4) & 0x01, 0);
	CHECK_EQ(fp.calls, 0);
	/* Output port write with bit 0 set keeps running; clear resets. */
	wr(k, 4, 0xD1);
	wr(k, 0, 0x03);
	CHECK_EQ(fp.calls, 0);
	wr(k, 4, 0xD1);
	wr(k, 0, 0x02);
	CHECK_EQ(fp.calls, 1);
	CHECK_EQ(fp.last, VM_EXIT_RESET);
	wr(k, 4, 0xFF); /* pulse nothing */
	CHECK_EQ(fp.calls, 1);
	wr(k, 4, 0xFE);
	CHECK_EQ(fp.calls, 2);
	CHECK_EQ(fp.last, VM_EXIT_RESET);
	uint64_t v = 0;
	CHECK_EQ(i8042_io(k, 2, 1, false, &v), 0);
	CHECK_EQ(v, ~0ULL);
	i8042_free(k);
}

static void test_post(void)
{
	struct post *p = post_new();
	uint64_t v = 0x1242;

	CHECK_EQ(post_last(p), 0);
	CHECK_EQ(post_io(p, 0, 1, true, &v), 0);
	CHECK_EQ(post_last(p), 0x42);
	v = 0;
	CHECK_EQ(post_io(p, 0, 1, false, &v), 0);
	CHECK_EQ(v, 0x42);
	post_free(p);
}

int main(void)
{
	RUN(test_i8042);
	RUN(test_post);
	return unit_report();
}
