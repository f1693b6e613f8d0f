/*
 * RTC: read the date/time as an OS does (wait for !UIP, read twice until
 * stable) and decode BCD/binary and 12/24-hour per register B. Then switch
 * register B to binary/12-hour and read again, and restore it.
 */
#include "tests.h"

#define RTC_B_24H 0x02
#define RTC_B_BIN 0x04

struct rtc_time {
	uint8_t sec, min, hour, day, mon, year, cent;
};

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

static void rtc_raw(struct rtc_time *t, uint8_t century_idx)
{
	for (int i = 0; i < 1000 && (cmos_read(0x0A) & 0x80); i++)
		udelay(100);
	t->sec = cmos_read(0x00);
	t->min = cmos_read(0x02);
	t->hour = cmos_read(0x04);
	t->day = cmos_read(0x07);
	t->mon = cmos_read(0x08);
	t->year = cmos_read(0x09);
	t->cent = century_idx ? cmos_read(century_idx) : 0;
}

static unsigned dec(uint8_t v, bool bin)
{
	return bin ? v : (unsigned)(v >> 4) * 10 + (v & 0x0F);
}

static void rtc_print(const char *label)
{
	uint8_t cidx = rt_state()->acpi.century;
	uint8_t b = cmos_read(0x0B);
	bool bin = b & RTC_B_BIN, h24 = b & RTC_B_24H;
	struct rtc_time t1, t2;
	unsigned hour, cent;

	if (!cidx || cidx >= 0x80)
		cidx = 0x32;
	rtc_raw(&t1, cidx);
	for (int i = 0; i < 5; i++) {
		rtc_raw(&t2, cidx);
		if (!memcmp(&t1, &t2, sizeof(t1)))
			break;
		t1 = t2;
	}
	hour = dec(t1.hour & 0x7F, bin);
	if (!h24)
		hour = hour % 12 + ((t1.hour & 0x80) ? 12 : 0);
	cent = dec(t1.cent, bin);
	if (cent < 19 || cent > 21)
		cent = 20;
	printf("%s: %04u-%02u-%02u %02u:%02u:%02u (regB=0x%02x %s %s raw_hour=0x%02x)\n",
	       label, cent * 100 + dec(t1.year, bin), dec(t1.mon, bin),
	       dec(t1.day, bin), hour, dec(t1.min, bin), dec(t1.sec, bin), b,
	       bin ? "binary" : "bcd", h24 ? "24h" : "12h", t1.hour);
}

void rtc_show(const char *label)
{
	rtc_print(label);
}

void test_rtc(void)
{
	uint8_t b = cmos_read(0x0B);

	rtc_print("rtc");
	cmos_write(0x0B, (uint8_t)((b | RTC_B_BIN) & ~RTC_B_24H));
	rtc_print("rtc-bin12");
	cmos_write(0x0B, b);
	test_poweroff();
}
