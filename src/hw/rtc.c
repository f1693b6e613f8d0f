/*
 * MC146818 RTC + 128 bytes of CMOS (see lhyve/hw.h). Register facts from
 * the Motorola MC146818A datasheet; memory-size bytes per the IBM PC/AT
 * CMOS layout.
 *
 * Time: guest time = host CLOCK_REALTIME + offset_ns, shown in UTC or in
 * host local time (params.localtime). Writing the time (with SET held, or
 * directly while running) changes offset_ns. While B.SET is 1 the time
 * registers are a frozen copy in cmos[] that the guest edits; clearing SET
 * loads that copy back as the new time.
 *
 * UIP: set for the last 2 ms of every second (about the real chip's 244 us
 * lead plus its update cycle), so guests that wait for a UIP edge see one
 * even when their ring-0 code is slow; the registers change when UIP falls.
 *
 * Interrupts: IRQ output = C.IRQF. The periodic interrupt runs an ev_timer
 * at the rate of A.RS while B.PIE is set (PF is only produced then). A
 * 1 Hz timer aligned to the guest's second boundary produces UF/AF while
 * UIE or AIE is set; without it UF is computed when C is read. The divider
 * bits of A are stored but a held divider chain does not stop the clock.
 *
 * Locking: r->lock protects everything. Timer callbacks run on the loop
 * thread and take r->lock; ev_timer_arm() and irq_line_set() are called
 * with r->lock held (both are leaves). rtc_free() must run with the loop
 * stopped or on its thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/log.h"
#include "lhyve/util.h"

#define RTC_SEC 0x00
#define RTC_SEC_ALARM 0x01
#define RTC_MIN 0x02
#define RTC_MIN_ALARM 0x03
#define RTC_HOUR 0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_DOW 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_A 0x0A
#define RTC_B 0x0B
#define RTC_C 0x0C
#define RTC_D 0x0D
#define RTC_CENTURY 0x32

#define A_UIP 0x80
#define A_RS_MASK 0x0F
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04 /* 1: binary, 0: BCD */
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_DONTCARE 0xC0

#define NS 1000000000LL
#define RTC_UIP_NS 2000000LL

struct rtc {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct ev_timer *periodic;
	struct ev_timer *update;
	bool localtime;

	uint8_t cmos[128];
	uint8_t index;
	int64_t offset_ns;    /* guest time - host realtime */
	uint64_t period_ns;   /* periodic timer period now armed, 0: off */
	bool update_armed;
	int64_t last_sec;     /* guest second at the last UF we produced */
	struct ratelimit rl;
};

static int64_t rtc_guest_ns(const struct rtc *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec + r->offset_ns;
}

static int64_t rtc_floor_sec(int64_t ns)
{
	return ns >= 0 ? ns / NS : -((-ns + NS - 1) / NS);
}

static uint8_t rtc_enc(const struct rtc *r, int v)
{
	if (r->cmos[RTC_B] & B_DM)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Decode one register value; -1 if it is not valid BCD. */
static int rtc_dec(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_B] & B_DM)
		return v;
	if ((v & 0x0F) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0F);
}

static uint8_t rtc_enc_hour(const struct rtc *r, int hour)
{
	int h12;

	if (r->cmos[RTC_B] & B_24H)
		return rtc_enc(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(rtc_enc(r, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static int rtc_dec_hour(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->cmos[RTC_B] & B_24H)
		return rtc_dec(r, v);
	h = rtc_dec(r, v & 0x7F);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + ((v & HOUR_PM) ? 12 : 0);
}

/* Copy the current guest time into the time registers. */
static void rtc_latch(struct rtc *r)
{
	time_t t = (time_t)rtc_floor_sec(rtc_guest_ns(r));
	struct tm tm;
	int year;

	if (r->localtime)
		localtime_r(&t, &tm);
	else
		gmtime_r(&t, &tm);
	year = tm.tm_year + 1900;
	r->cmos[RTC_SEC] = rtc_enc(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	r->cmos[RTC_MIN] = rtc_enc(r, tm.tm_min);
	r->cmos[RTC_HOUR] = rtc_enc_hour(r, tm.tm_hour);
	r->cmos[RTC_DOW] = rtc_enc(r, tm.tm_wday + 1);
	r->cmos[RTC_DAY] = rtc_enc(r, tm.tm_mday);
	r->cmos[RTC_MONTH] = rtc_enc(r, tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = rtc_enc(r, year % 100);
	r->cmos[RTC_CENTURY] = rtc_enc(r, (year / 100) % 100);
}

/* Load the time registers as the new guest time; -EINVAL if they are bad. */
static int rtc_commit(struct rtc *r)
{
	struct timespec ts;
	struct tm tm = { 0 };
	int yr = rtc_dec(r, r->cmos[RTC_YEAR]);
	int cent = rtc_dec(r, r->cmos[RTC_CENTURY]);
	time_t t;

	tm.tm_sec = rtc_dec(r, r->cmos[RTC_SEC]);
	tm.tm_min = rtc_dec(r, r->cmos[RTC_MIN]);
	tm.tm_hour = rtc_dec_hour(r, r->cmos[RTC_HOUR]);
	tm.tm_mday = rtc_dec(r, r->cmos[RTC_DAY]);
	tm.tm_mon = rtc_dec(r, r->cmos[RTC_MONTH]) - 1;
	if (tm.tm_sec < 0 || tm.tm_sec > 59 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11 || yr < 0 || yr > 99) {
		log_rl(&r->rl, LOG_WARN, "rtc: guest wrote an invalid time; ignored");
		return -EINVAL;
	}
	if (cent < 19 || cent > 99)
		cent = yr < 70 ? 20 : 19; /* century byte not (validly) set */
	tm.tm_year = cent * 100 + yr - 1900;
	tm.tm_isdst = -1;
	t = r->localtime ? mktime(&tm) : timegm(&tm);
	/*
	 * Keep t * NS (and the running clock derived from it) inside int64_t:
	 * a century byte up to 99 reaches year 9999. 7258118400 is
	 * 2200-01-01T00:00:00Z, leaving decades of headroom.
	 */
	if (t == (time_t)-1 || t >= (time_t)7258118400LL) {
		log_rl(&r->rl, LOG_WARN, "rtc: guest time not representable; ignored");
		return -EINVAL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The divider restarts: the next update is one second from now. */
	r->offset_ns = (int64_t)t * NS - ((int64_t)ts.tv_sec * NS + ts.tv_nsec);
	r->last_sec = (int64_t)t;
	return 0;
}

/* Re-encode the frozen time registers after a format change under SET. */
static void rtc_convert(struct rtc *r, uint8_t old_b, uint8_t new_b)
{
	static const uint8_t regs[] = { RTC_SEC, RTC_MIN, RTC_DOW, RTC_DAY,
					RTC_MONTH, RTC_YEAR, RTC_CENTURY };
	int vals[ARRAY_SIZE(regs)], hour;

	r->cmos[RTC_B] = old_b;
	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
		vals[i] = rtc_dec(r, r->cmos[regs[i]]);
	hour = rtc_dec_hour(r, r->cmos[RTC_HOUR]);
	r->cmos[RTC_B] = new_b;
	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++)
		if (vals[i] >= 0 && vals[i] <= 99)
			r->cmos[regs[i]] = rtc_enc(r, vals[i]);
	if (hour >= 0 && hour <= 23)
		r->cmos[RTC_HOUR] = rtc_enc_hour(r, hour);
}

static void rtc_update_irq(struct rtc *r)
{
	uint8_t c = r->cmos[RTC_C] & (C_PF | C_AF | C_UF);

	if (c & r->cmos[RTC_B] & (B_PIE | B_AIE | B_UIE))
		c |= C_IRQF;
	r->cmos[RTC_C] = c;
	irq_line_set(&r->irq, c & C_IRQF);
}

static bool rtc_alarm_match(const struct rtc *r)
{
	static const uint8_t pairs[3][2] = {
		{ RTC_SEC_ALARM, RTC_SEC }, { RTC_MIN_ALARM, RTC_MIN },
		{ RTC_HOUR_ALARM, RTC_HOUR },
	};

	for (unsigned i = 0; i < 3; i++) {
		uint8_t a = r->cmos[pairs[i][0]];
		if ((a & ALARM_DONTCARE) != ALARM_DONTCARE && a != r->cmos[pairs[i][1]])
			return false;
	}
	return true;
}

static uint64_t rtc_period_ns(uint8_t a)
{
	unsigned rs = a & A_RS_MASK;
	unsigned shift;

	if (!rs)
		return 0;
	/* 32.768 kHz time base: RS 1,2 = 256,128 Hz; RS 3..15 = 8192 Hz .. 2 Hz. */
	shift = rs <= 2 ? rs + 6 : rs - 1;
	return ((uint64_t)1 << shift) * (uint64_t)NS / 32768;
}

static void rtc_arm_update(struct rtc *r)
{
	int64_t g = rtc_guest_ns(r);
	int64_t into = g - rtc_floor_sec(g) * NS;

	if (ev_timer_arm(r->update, (uint64_t)(NS - into), 0) == 0)
		r->update_armed = true;
}

/* (Re)arm or stop the timers after A or B or the time changed. */
static void rtc_sync_timers(struct rtc *r, bool time_changed)
{
	uint8_t b = r->cmos[RTC_B];
	uint64_t p = (b & B_PIE) ? rtc_period_ns(r->cmos[RTC_A]) : 0;
	bool upd = (b & (B_UIE | B_AIE)) && !(b & B_SET);

	if (r->periodic && p != r->period_ns) {
		if (ev_timer_arm(r->periodic, p, p) == 0)
			r->period_ns = p;
	}
	if (r->update) {
		if (upd && (!r->update_armed || time_changed)) {
			rtc_arm_update(r);
		} else if (!upd && r->update_armed) {
			ev_timer_arm(r->update, 0, 0);
			r->update_armed = false;
		}
	}
}

static void rtc_periodic_cb(void *opaque)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	if (r->period_ns) {
		r->cmos[RTC_C] |= C_PF;
		rtc_update_irq(r);
	}
	pthread_mutex_unlock(&r->lock);
}

static void rtc_update_cb(void *opaque)
{
	struct rtc *r = opaque;
	int64_t sec;

	pthread_mutex_lock(&r->lock);
	r->update_armed = false;
	if ((r->cmos[RTC_B] & B_SET) || !(r->cmos[RTC_B] & (B_UIE | B_AIE)))
		goto out;
	sec = rtc_floor_sec(rtc_guest_ns(r));
	if (sec != r->last_sec) {
		r->last_sec = sec;
		rtc_latch(r);
		r->cmos[RTC_C] |= C_UF;
		if (rtc_alarm_match(r))
			r->cmos[RTC_C] |= C_AF;
		rtc_update_irq(r);
	}
	rtc_arm_update(r);
out:
	pthread_mutex_unlock(&r->lock);
}

static bool rtc_is_time_reg(unsigned idx)
{
	return idx == RTC_SEC || idx == RTC_MIN || idx == RTC_HOUR ||
	       (idx >= RTC_DOW && idx <= RTC_YEAR) || idx == RTC_CENTURY;
}

static uint8_t rtc_read_data(struct rtc *r)
{
	unsigned idx = r->index;
	uint8_t v;
	int64_t g;

	switch (idx) {
	case RTC_A:
		v = r->cmos[RTC_A] & (uint8_t)~A_UIP;
		g = rtc_guest_ns(r);
		if (!(r->cmos[RTC_B] & B_SET) && g - rtc_floor_sec(g) * NS >= NS - RTC_UIP_NS)
			v |= A_UIP;
		return v;
	case RTC_C:
		if (!(r->cmos[RTC_B] & B_SET)) {
			int64_t sec = rtc_floor_sec(rtc_guest_ns(r));
			if (sec != r->last_sec) { /* an update happened since */
				r->last_sec = sec;
				r->cmos[RTC_C] |= C_UF;
			}
		}
		rtc_update_irq(r);
		v = r->cmos[RTC_C];
		r->cmos[RTC_C] = 0;
		irq_line_set(&r->irq, false);
		return v;
	case RTC_D:
		return D_VRT;
	default:
		if (rtc_is_time_reg(idx) && !(r->cmos[RTC_B] & B_SET))
			rtc_latch(r);
		return r->cmos[idx];
	}
}

static void rtc_write_data(struct rtc *r, uint8_t v)
{
	unsigned idx = r->index;
	uint8_t old;

	switch (idx) {
	case RTC_A:
		r->cmos[RTC_A] = v & (uint8_t)~A_UIP;
		rtc_sync_timers(r, false);
		break;
	case RTC_B:
		old = r->cmos[RTC_B];
		if (v & B_SET)
			v &= (uint8_t)~B_UIE; /* SET clears UIE */
		if ((v & B_SET) && (old & B_SET) && ((v ^ old) & (B_DM | B_24H)))
			rtc_convert(r, old, v);
		r->cmos[RTC_B] = v;
		if ((v & B_SET) && !(old & B_SET))
			rtc_latch(r); /* freeze, in the format just chosen */
		if (!(v & B_SET) && (old & B_SET))
			rtc_commit(r);
		rtc_update_irq(r);
		rtc_sync_timers(r, (old & B_SET) && !(v & B_SET));
		break;
	case RTC_C:
	case RTC_D:
		break; /* read-only */
	default:
		if (rtc_is_time_reg(idx) && !(r->cmos[RTC_B] & B_SET)) {
			rtc_latch(r);
			r->cmos[idx] = v;
			if (rtc_commit(r) == 0)
				rtc_sync_timers(r, true);
		} else {
			r->cmos[idx] = v;
		}
		break;
	}
}

int rtc_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct rtc *r = opaque;
	uint64_t out = 0;

	pthread_mutex_lock(&r->lock);
	/* Byte by byte, so "outw 0x70" (index + data) works too. */
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t off = offset + i;
		uint8_t b = write ? (uint8_t)(*data >> (8 * i)) : 0xFF;

		if (off == 0) {
			if (write)
				r->index = b & 0x7F; /* bit 7: NMI mask, ignored */
			else
				b = r->index;
		} else if (off == 1) {
			if (write)
				rtc_write_data(r, b);
			else
				b = rtc_read_data(r);
		}
		out |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&r->lock);
	if (!write)
		*data = out;
	return 0;
}

static void rtc_set_mem_sizes(struct rtc *r, uint64_t lowmem, uint64_t highmem)
{
	uint64_t ext = lowmem > MiB ? (lowmem - MiB) / KiB : 0;
	uint64_t above16 = lowmem > 16 * MiB ? (lowmem - 16 * MiB) / (64 * KiB) : 0;
	uint64_t high = highmem / (64 * KiB);
	unsigned sum = 0;

	ext = MIN(ext, 0xFFFFULL);
	above16 = MIN(above16, 0xFFFFULL);
	high = MIN(high, 0xFFFFFFULL);
	r->cmos[0x15] = 0x80; /* 640 KiB base memory */
	r->cmos[0x16] = 0x02;
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext >> 8);
	r->cmos[0x34] = (uint8_t)above16;
	r->cmos[0x35] = (uint8_t)(above16 >> 8);
	r->cmos[0x5B] = (uint8_t)high;
	r->cmos[0x5C] = (uint8_t)(high >> 8);
	r->cmos[0x5D] = (uint8_t)(high >> 16);
	/* Standard checksum over 0x10-0x2D, big-endian at 0x2E. */
	for (unsigned i = 0x10; i <= 0x2D; i++)
		sum += r->cmos[i];
	r->cmos[0x2E] = (uint8_t)(sum >> 8);
	r->cmos[0x2F] = (uint8_t)sum;
}

struct rtc *rtc_new(struct evloop *loop, struct irq_line irq, const struct rtc_params *p)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->irq = irq;
	r->irq.level = false;
	r->localtime = p && p->localtime;
	r->rl = (struct ratelimit)RATELIMIT_INIT;
	if (loop) {
		r->periodic = ev_timer_new(loop, rtc_periodic_cb, r);
		r->update = ev_timer_new(loop, rtc_update_cb, r);
		if (!r->periodic || !r->update)
			goto err_timers;
	}
	r->cmos[RTC_A] = 0x26; /* 32.768 kHz divider, 1024 Hz periodic rate */
	r->cmos[RTC_B] = B_24H;
	r->cmos[RTC_D] = D_VRT;
	rtc_set_mem_sizes(r, p ? p->lowmem : 0, p ? p->highmem : 0);
	rtc_latch(r);
	r->last_sec = rtc_floor_sec(rtc_guest_ns(r));
	return r;
err_timers:
	ev_timer_free(r->update);
	ev_timer_free(r->periodic);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	ev_timer_free(r->update);
	ev_timer_free(r->periodic);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
