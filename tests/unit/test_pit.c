/* i8254 PIT and port 0x61: counting, latches, read-back, gate, IRQ 0 timing. */
#include <stdbool.h>
#include <unistd.h>

#include "unit.h"
#include "fakes.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/util.h"

#define GSI 0
#define TICKS_PER_MS 1193

static uint8_t rd(struct pit *p, unsigned port)
{
	uint64_t v = ~0ULL;
	CHECK_EQ(pit_io(p, port, 1, false, &v), 0);
	CHECK(v <= 0xFF);
	return (uint8_t)v;
}

static void wr(struct pit *p, unsigned port, uint8_t val)
{
	uint64_t v = val;
	CHECK_EQ(pit_io(p, port, 1, true, &v), 0);
}

static uint8_t rd61(struct pit *p)
{
	uint64_t v = ~0ULL;
	CHECK_EQ(pit_port61_io(p, 0, 1, false, &v), 0);
	return (uint8_t)v;
}

static void wr61(struct pit *p, uint8_t val)
{
	uint64_t v = val;
	CHECK_EQ(pit_port61_io(p, 0, 1, true, &v), 0);
}

/* Channel n: control word for LSB-then-MSB access in `mode`, then `count`. */
static void program(struct pit *p, unsigned n, unsigned mode, uint16_t count)
{
	wr(p, 3, (uint8_t)(n << 6 | 0x30 | mode << 1));
	wr(p, n, (uint8_t)count);
	wr(p, n, (uint8_t)(count >> 8));
}

/* LSB then MSB (two statements: the order of operands is unspecified). */
static uint16_t rd16(struct pit *p, unsigned n)
{
	uint16_t lo = rd(p, n);
	return (uint16_t)(lo | rd(p, n) << 8);
}

static uint16_t latched(struct pit *p, unsigned n)
{
	wr(p, 3, (uint8_t)(n << 6)); /* counter latch */
	return rd16(p, n);
}

static struct pit *mk(struct fake_irq *f, struct irq_chip *chip, struct evloop *loop)
{
	struct irq_line line;

	fake_irq_init(f, chip);
	irq_line_init(&line, chip, GSI);
	return pit_new(loop, line);
}

static void test_counting(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct pit *p = mk(&f, &chip, NULL);

	/* Mode 0 from 0xFFFF (~55 ms): reads count down by the elapsed time.
	 * Bounds come from the clock, so a slow (loaded) host cannot fail it. */
	uint64_t t0 = now_ns();
	program(p, 0, 0, 0xFFFF);
	usleep(3000);
	uint16_t a = latched(p, 0);
	uint64_t t1 = now_ns();
	uint64_t max_ticks = (t1 - t0) * TICKS_PER_MS / 1000000 + 2;
	if (max_ticks < 0xF000) {
		CHECK(a <= 0xFFFF - 3 * TICKS_PER_MS);
		CHECK(a >= 0xFFFF - max_ticks);
	}

	/* A latched count stays until read (LSB then MSB); a second latch
	 * does not replace the first. */
	t0 = now_ns();
	program(p, 0, 0, 0xFFFF);
	wr(p, 3, 0x00);
	usleep(2000);
	wr(p, 3, 0x00);
	uint16_t c = rd16(p, 0);
	uint16_t d = latched(p, 0);
	t1 = now_ns();
	if ((t1 - t0) * TICKS_PER_MS / 1000000 < 0xF000) {
		CHECK(c > d);
		CHECK(c - d >= 2 * TICKS_PER_MS - 2);
		/* Unlatched reads alternate LSB/MSB too. */
		uint16_t e = rd16(p, 0);
		CHECK(e <= d);
	}

	/* Rate generator: the count reloads, so it stays within 1..count. */
	program(p, 0, 2, 0x1000);
	for (int i = 0; i < 50; i++) {
		uint16_t v = latched(p, 0);
		CHECK(v >= 1 && v <= 0x1000);
	}

	/* LSB-only access (mode 0): one write loads, reads give the LSB. */
	wr(p, 3, 0x50); /* channel 1, LSB, mode 0 */
	wr(p, 1, 0xC8);
	CHECK(rd(p, 1) <= 0xC8);
	/* MSB-only: the count is value << 8. */
	wr(p, 3, 0x60); /* channel 1, MSB, mode 0 */
	t0 = now_ns();
	wr(p, 1, 0x80);
	uint8_t msb = rd(p, 1);
	CHECK(msb <= 0x80);
	if (now_ns() - t0 < 5000000ULL)
		CHECK(msb >= 0x7A);

	/* The control port reads 0; offsets past it are ignored. */
	CHECK_EQ(rd(p, 3), 0);
	uint64_t v = 0x1234;
	CHECK_EQ(pit_io(p, 4, 1, true, &v), 0);
	CHECK_EQ(f.calls, 0); /* no loop: no interrupt */
	pit_free(p);
}

static void test_readback(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct pit *p = mk(&f, &chip, NULL);

	program(p, 0, 2, 0x1000);
	program(p, 2, 3, 0x2000);
	/* Status of channels 0 and 2 (bit 5 set: no count latch). */
	wr(p, 3, 0xE0 | 0x02 | 0x08);
	CHECK_EQ(rd(p, 0) & 0x7F, 0x34); /* LSB+MSB, mode 2, binary */
	CHECK_EQ(rd(p, 2) & 0x7F, 0x36); /* mode 3 */
	/* Count and status of channel 0: status first, then the count. */
	wr(p, 3, 0xC0 | 0x02);
	CHECK_EQ(rd(p, 0) & 0x7F, 0x34);
	uint16_t c = rd16(p, 0);
	CHECK(c <= 0x1000);
	/* Modes 6 and 7 are 2 and 3; the BCD bit is kept. */
	wr(p, 3, 0x7D); /* channel 1, LSB+MSB, mode 6, BCD */
	wr(p, 3, 0xE0 | 0x04);
	CHECK_EQ(rd(p, 1) & 0x7F, 0x35);
	pit_free(p);
}

static void test_port61(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct pit *p = mk(&f, &chip, NULL);

	CHECK_EQ(rd61(p) & 0x03, 0); /* gate low, speaker off at reset */
	wr61(p, 0x03);
	CHECK_EQ(rd61(p) & 0x03, 0x03);

	/* Mode 0 on channel 2: OUT (bit 5) rises when the count runs out. */
	uint64_t t0 = now_ns();
	program(p, 2, 0, 10 * TICKS_PER_MS);
	uint8_t v = rd61(p);
	if (now_ns() - t0 < 9000000ULL)
		CHECK_EQ(v & 0x20, 0);
	usleep(12000);
	CHECK_EQ(rd61(p) & 0x20, 0x20);

	/* Mode 2: a rising gate restarts the count (PC TSC calibration). */
	wr61(p, 0x00);
	program(p, 2, 2, 0xFFFF);
	usleep(5000);
	t0 = now_ns();
	wr61(p, 0x01);
	uint16_t c = latched(p, 2);
	uint64_t ticks = (now_ns() - t0) * TICKS_PER_MS / 1000000 + 2;
	if (ticks < 0x8000)
		CHECK(c >= 0xFFFF - ticks);

	/* Bit 4 toggles (about every 16 us). */
	bool seen[2] = { false, false };
	t0 = now_ns();
	while (now_ns() - t0 < 1000000000ULL && !(seen[0] && seen[1]))
		seen[(rd61(p) >> 4) & 1] = true;
	CHECK(seen[0] && seen[1]);
	CHECK_EQ(f.calls, 0); /* channel 2 has no interrupt */
	pit_free(p);
}

/* Run the loop for ms milliseconds. */
static void run_for(struct evloop *loop, unsigned ms)
{
	uint64_t t0 = now_ns();

	while (now_ns() - t0 < ms * 1000000ULL)
		evloop_run_once(loop, 2);
}

static void test_irq0(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct evloop *loop = evloop_new();
	struct pit *p = mk(&f, &chip, loop);

	CHECK(loop && p);
	/* Nothing is armed at reset. */
	run_for(loop, 20);
	CHECK_EQ(f.calls, 0);

	/* Rate generator at ~500 Hz: a pulse (raise + lower) every 2 ms;
	 * ticks the loop was too late for are dropped, never bunched up. */
	uint64_t t0 = now_ns();
	program(p, 0, 2, 2 * TICKS_PER_MS);
	run_for(loop, 100);
	int pulses = f.calls / 2;
	CHECK(pulses >= 5);
	CHECK(pulses <= (int)((now_ns() - t0) / 2000000) + 1);
	CHECK(!f.level[GSI]);

	/* Mode 0: one pulse when the count runs out, then nothing. */
	program(p, 0, 0, 5 * TICKS_PER_MS);
	f.calls = 0;
	t0 = now_ns();
	while (!f.calls && now_ns() - t0 < 2000000000ULL)
		evloop_run_once(loop, 10);
	CHECK(now_ns() - t0 >= 4000000ULL);
	run_for(loop, 30);
	CHECK_EQ(f.calls, 2);

	/* Mode 5 (gate-triggered, gate tied high) arms nothing. */
	program(p, 0, 2, TICKS_PER_MS);
	program(p, 0, 5, TICKS_PER_MS);
	run_for(loop, 5);
	f.calls = 0;
	run_for(loop, 30);
	CHECK_EQ(f.calls, 0);

	/* A tiny periodic count is limited to one pulse per 200 us. */
	program(p, 0, 2, 2);
	f.calls = 0;
	t0 = now_ns();
	run_for(loop, 50);
	CHECK(f.calls / 2 <= (int)((now_ns() - t0) / 200000) + 1);
	CHECK(f.calls / 2 >= 5);
	pit_free(p);
	evloop_free(loop);
}

int main(void)
{
	RUN(test_counting);
	RUN(test_readback);
	RUN(test_port61);
	RUN(test_irq0);
	return unit_report();
}
