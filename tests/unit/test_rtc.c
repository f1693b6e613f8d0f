/* MC146818 RTC + CMOS: formats, SET, write-back, interrupts, memory sizes. */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "fakes.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/util.h"

#define GSI 8

static uint8_t rd(struct rtc *r, uint8_t idx)
{
	uint64_t v = idx;
	rtc_io(r, 0, 1, true, &v);
	v = ~0ULL;
	rtc_io(r, 1, 1, false, &v);
	CHECK(v <= 0xFF);
	return (uint8_t)v;
}

static void wr(struct rtc *r, uint8_t idx, uint8_t val)
{
	uint64_t v = idx;
	rtc_io(r, 0, 1, true, &v);
	v = val;
	rtc_io(r, 1, 1, true, &v);
}

static struct rtc *mk(struct fake_irq *f, struct irq_chip *chip, struct evloop *loop,
		      bool localtime, uint64_t lowmem, uint64_t highmem)
{
	struct irq_line line;
	struct rtc_params p = { .localtime = localtime, .lowmem = lowmem, .highmem = highmem };

	fake_irq_init(f, chip);
	irq_line_init(&line, chip, GSI);
	return rtc_new(loop, line, &p);
}

/* Sleep until we are at least 50 ms away from a second boundary of host time. */
static void avoid_boundary(void)
{
	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_nsec > 50000000 && ts.tv_nsec < 900000000)
			return;
		usleep(20000);
	}
}

/* Set 2024-06-15 13:30:45 in BCD 24h with SET held. */
static void set_known_time(struct rtc *r)
{
	wr(r, 0x0B, 0x82);
	wr(r, 0x00, 0x45);
	wr(r, 0x02, 0x30);
	wr(r, 0x04, 0x13);
	wr(r, 0x07, 0x15);
	wr(r, 0x08, 0x06);
	wr(r, 0x09, 0x24);
	wr(r, 0x32, 0x20);
	wr(r, 0x0B, 0x02);
}

static void test_cmos_memory(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct rtc *r = mk(&f, &chip, NULL, false, 3 * GiB, 1 * GiB);

	CHECK_EQ(rd(r, 0x15), 0x80);
	CHECK_EQ(rd(r, 0x16), 0x02);
	CHECK_EQ(rd(r, 0x17), 0xFF);
	CHECK_EQ(rd(r, 0x18), 0xFF);
	CHECK_EQ(rd(r, 0x30), 0xFF);
	CHECK_EQ(rd(r, 0x31), 0xFF);
	CHECK_EQ(rd(r, 0x34), 0x00); /* (3 GiB - 16 MiB) / 64 KiB = 0xBF00 */
	CHECK_EQ(rd(r, 0x35), 0xBF);
	CHECK_EQ(rd(r, 0x5B), 0x00); /* 1 GiB / 64 KiB = 0x4000 */
	CHECK_EQ(rd(r, 0x5C), 0x40);
	CHECK_EQ(rd(r, 0x5D), 0x00);
	CHECK_EQ(rd(r, 0x0D), 0x80);
	/* NVRAM is plain memory; index bit 7 (NMI mask) is ignored. */
	wr(r, 0x40, 0xA5);
	CHECK_EQ(rd(r, 0xC0), 0xA5);
	rtc_free(r);

	r = mk(&f, &chip, NULL, false, 8 * MiB, 0);
	CHECK_EQ(rd(r, 0x17), 0x00); /* 7168 KiB = 0x1C00 */
	CHECK_EQ(rd(r, 0x18), 0x1C);
	CHECK_EQ(rd(r, 0x34), 0);
	CHECK_EQ(rd(r, 0x35), 0);
	CHECK_EQ(rd(r, 0x5B), 0);
	rtc_free(r);
}

static void test_formats(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct rtc *r = mk(&f, &chip, NULL, false, 0, 0);

	avoid_boundary();
	set_known_time(r);
	CHECK_EQ(rd(r, 0x04), 0x13);
	CHECK_EQ(rd(r, 0x02), 0x30);
	CHECK(rd(r, 0x00) == 0x45 || rd(r, 0x00) == 0x46);
	CHECK_EQ(rd(r, 0x07), 0x15);
	CHECK_EQ(rd(r, 0x08), 0x06);
	CHECK_EQ(rd(r, 0x09), 0x24);
	CHECK_EQ(rd(r, 0x32), 0x20);
	CHECK_EQ(rd(r, 0x06), 7); /* Saturday */
	wr(r, 0x0B, 0x06); /* binary, 24h */
	CHECK_EQ(rd(r, 0x04), 13);
	CHECK_EQ(rd(r, 0x09), 24);
	CHECK_EQ(rd(r, 0x32), 20);
	wr(r, 0x0B, 0x00); /* BCD, 12h */
	CHECK_EQ(rd(r, 0x04), 0x81); /* 1 PM */
	wr(r, 0x0B, 0x04); /* binary, 12h */
	CHECK_EQ(rd(r, 0x04), 0x81);
	/* Set 12 AM (midnight) in 12h BCD: hour 0. */
	wr(r, 0x0B, 0x80);
	wr(r, 0x04, 0x12);
	wr(r, 0x0B, 0x00);
	wr(r, 0x0B, 0x02);
	CHECK_EQ(rd(r, 0x04), 0x00);
	/* 12h PM 11 -> 23h. */
	wr(r, 0x0B, 0x80);
	wr(r, 0x04, 0x91);
	wr(r, 0x0B, 0x00);
	wr(r, 0x0B, 0x02);
	CHECK_EQ(rd(r, 0x04), 0x23);
	/* A format change while SET is held converts the frozen registers. */
	wr(r, 0x0B, 0x82);
	CHECK_EQ(rd(r, 0x04), 0x23);
	wr(r, 0x0B, 0x84); /* binary 12h */
	CHECK_EQ(rd(r, 0x04), 0x8B); /* 11 PM */
	CHECK_EQ(rd(r, 0x02), 30);
	wr(r, 0x0B, 0x04);
	CHECK_EQ(rd(r, 0x04), 0x8B);
	CHECK_EQ(rd(r, 0x02), 30);
	wr(r, 0x0B, 0x02);
	/* Invalid BCD is ignored: the time stays. */
	wr(r, 0x0B, 0x82);
	wr(r, 0x02, 0x7A);
	wr(r, 0x0B, 0x02);
	CHECK_EQ(rd(r, 0x02), 0x30);
	rtc_free(r);
}

static void test_set_freeze_and_writeback(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct rtc *r = mk(&f, &chip, NULL, false, 0, 0);
	uint8_t s1, s2;

	wr(r, 0x0B, 0x82);
	s1 = rd(r, 0x00);
	CHECK_EQ(rd(r, 0x0A) & 0x80, 0); /* no UIP while SET */
	usleep(1100000);
	s2 = rd(r, 0x00);
	CHECK_EQ(s1, s2); /* frozen */
	wr(r, 0x09, 0x99); /* year 1999 with century 19 */
	wr(r, 0x32, 0x19);
	CHECK_EQ(rd(r, 0x09), 0x99);
	wr(r, 0x0B, 0x02);
	CHECK_EQ(rd(r, 0x09), 0x99);
	CHECK_EQ(rd(r, 0x32), 0x19);

	/* The offset really moves time: compare against host UTC. */
	avoid_boundary();
	set_known_time(r);
	CHECK_EQ(rd(r, 0x02), 0x30);
	usleep(1000000);
	uint8_t sec = rd(r, 0x00);
	CHECK(sec == 0x46 || sec == 0x47); /* the clock runs after SET clears */

	/* Writing a register while running takes effect at once. */
	avoid_boundary();
	wr(r, 0x02, 0x05);
	CHECK_EQ(rd(r, 0x02), 0x05);
	CHECK_EQ(rd(r, 0x04), 0x13);
	rtc_free(r);
}

static void test_localtime(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	setenv("TZ", "XXX-3", 1); /* UTC+3, no DST */
	tzset();
	struct rtc *l = mk(&f, &chip, NULL, true, 0, 0);
	struct rtc *u = mk(&f, &chip, NULL, false, 0, 0);

	avoid_boundary();
	int hl = rd(l, 0x04), hu = rd(u, 0x04);
	hl = (hl >> 4) * 10 + (hl & 15);
	hu = (hu >> 4) * 10 + (hu & 15);
	CHECK_EQ((hu + 3) % 24, hl);
	/* Writing local time back keeps UTC consistent. */
	wr(l, 0x0B, 0x86);
	wr(l, 0x04, 10);
	wr(l, 0x0B, 0x06);
	CHECK_EQ(rd(l, 0x04), 10);
	rtc_free(l);
	rtc_free(u);
	unsetenv("TZ");
	tzset();
}

static void test_regc_and_interrupts(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct evloop *loop = evloop_new();
	struct rtc *r = mk(&f, &chip, loop, false, 0, 0);
	int fired = 0;

	CHECK_EQ(rd(r, 0x0A), 0x26);
	rd(r, 0x0C);
	CHECK(!f.level[GSI]);

	/* Update-ended interrupt via the 1 Hz timer. */
	wr(r, 0x0B, 0x12);
	for (int i = 0; i < 150 && !f.level[GSI]; i++)
		evloop_run_once(loop, 10);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(r, 0x0C) & 0x90, 0x90);
	CHECK(!f.level[GSI]);
	CHECK_EQ(rd(r, 0x0C), 0); /* read clears */
	wr(r, 0x0B, 0x02);

	/* Alarm with all don't-care bytes: fires every second. */
	wr(r, 0x01, 0xC0);
	wr(r, 0x03, 0xC0);
	wr(r, 0x05, 0xC0);
	wr(r, 0x0B, 0x22);
	for (int i = 0; i < 150 && !f.level[GSI]; i++)
		evloop_run_once(loop, 10);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(r, 0x0C) & 0xA0, 0xA0);
	wr(r, 0x0B, 0x02);
	rd(r, 0x0C);

	/* SET clears UIE. */
	wr(r, 0x0B, 0x92);
	CHECK_EQ(rd(r, 0x0B), 0x82);
	wr(r, 0x0B, 0x02);

	/* Periodic interrupt at 64 Hz (RS = 10) for ~300 ms. */
	wr(r, 0x0A, 0x2A);
	wr(r, 0x0B, 0x42);
	uint64_t t0 = now_ns();
	while (now_ns() - t0 < 300000000ULL) {
		evloop_run_once(loop, 5);
		if (f.level[GSI]) {
			uint8_t c = rd(r, 0x0C);
			CHECK_EQ(c & 0xC0, 0xC0);
			CHECK(!f.level[GSI]);
			fired++;
		}
	}
	CHECK(fired >= 10 && fired <= 25);
	wr(r, 0x0B, 0x02);
	rd(r, 0x0C);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 10);
	CHECK(!f.level[GSI]);

	/* PIE with flags already pending raises IRQF at once. */
	wr(r, 0x0A, 0x20); /* RS 0: no periodic */
	CHECK_EQ(rd(r, 0x0D), 0x80);
	rtc_free(r);
	evloop_free(loop);
}

static void test_uip(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct rtc *r = mk(&f, &chip, NULL, false, 0, 0);
	bool seen1 = false, seen0_after = false;
	uint64_t t0 = now_ns();

	/* A guest waiting for the UIP edge sees 1 then 0 within a second. */
	while (now_ns() - t0 < 1200000000ULL && !seen0_after) {
		uint64_t a = 0x0A;
		rtc_io(r, 0, 1, true, &a);
		rtc_io(r, 1, 1, false, &a);
		if (a & 0x80)
			seen1 = true;
		else if (seen1)
			seen0_after = true;
	}
	CHECK(seen1);
	CHECK(seen0_after);
	/* Lazy UF: a second later, C shows an update without any timer. */
	rd(r, 0x0C);
	usleep(1050000);
	CHECK_EQ(rd(r, 0x0C) & 0x10, 0x10);
	rtc_free(r);
}

int main(void)
{
	RUN(test_cmos_memory);
	RUN(test_formats);
	RUN(test_set_freeze_and_writeback);
	RUN(test_localtime);
	RUN(test_regc_and_interrupts);
	RUN(test_uip);
	return unit_report();
}
