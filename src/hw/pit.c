/*
 * Intel 8254 PIT (ports 0x40-0x43) and port 0x61 (NMI status and control:
 * the channel 2 gate and output, the speaker data bit), see lhyve/hw.h.
 *
 * The model follows the in-kernel KVM/QEMU i8254 it replaces, so guests see
 * what they saw before: counters count down at 1.193181 MHz from the time
 * their count was loaded (or their gate rose, modes 1, 2, 3, 5); modes 0-5,
 * with 6 and 7 aliases of 2 and 3; the counter latch and read-back commands;
 * LSB, MSB and LSB-then-MSB access; status bytes without the null-count bit;
 * BCD stored but not used for counting; reads of the control port give 0.
 *
 * Channel 0 drives ISA IRQ 0: a pulse when the count expires, once for
 * modes 0, 1 and 4 and at every period for modes 2 and 3 (at least
 * PIT_MIN_PERIOD_NS apart, as KVM's min_timer_period_us). A tick the guest
 * has not serviced yet is not queued: the next pulse merges with it in the
 * interrupt controller. This is FreeBSD bhyve's vatpit policy (KVM's
 * "reinject" mode delivered missed ticks late instead). Channels 1 and 2
 * have no interrupt; channel 2's output is bit 5 of port 0x61.
 *
 * Locking: p->lock protects everything. The timer callback runs on the event
 * loop thread and takes p->lock; ev_timer_arm() and irq_line_pulse() are
 * called with p->lock held (both are leaves). pit_free() must run with the
 * loop stopped or on its thread.
 */
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/util.h"

#define PIT_HZ 1193181ULL
#define NS 1000000000ULL
#define PIT_MIN_PERIOD_NS 200000ULL

/* Access modes (control word bits 5-4) and the read/write sequence states. */
#define RW_LSB 1
#define RW_MSB 2
#define RW_WORD0 3 /* LSB next, then MSB */
#define RW_WORD1 4 /* MSB next */

struct pit_channel {
	uint32_t count;       /* 1..0x10000 (a written 0 counts 0x10000) */
	uint64_t load_ns;     /* counting started (count loaded or gate edge) */
	uint16_t latched_count;
	uint8_t count_latched; /* 0 or the RW_* state of the latched count */
	bool status_latched;
	uint8_t status;
	uint8_t read_state, write_state, write_latch;
	uint8_t rw_mode, mode;
	bool bcd, gate;
};

struct pit {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct ev_timer *timer; /* channel 0's output; NULL without a loop */
	uint64_t first_ns;      /* first expiry since the timer was last armed */
	bool armed, periodic;
	bool speaker_data;
	struct pit_channel ch[3];
};

static uint64_t pit_ticks(const struct pit_channel *c, uint64_t now)
{
	uint64_t ns = now > c->load_ns ? now - c->load_ns : 0;

	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS);
}

static uint32_t pit_count(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);

	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		return (uint32_t)((c->count - d) & 0xFFFF);
	case 3:
		return (uint32_t)(c->count - (2 * d) % c->count);
	default:
		return (uint32_t)(c->count - d % c->count);
	}
}

static bool pit_out(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);

	switch (c->mode) {
	case 1:
		return d < c->count;
	case 2:
		return d % c->count == 0 && d != 0;
	case 3:
		return d % c->count < (c->count + 1) / 2;
	case 4: case 5:
		return d == c->count;
	default:
		return d >= c->count;
	}
}

/* Channel 0 counts `count` from `now`: arm its interrupt (mode dependent). */
static void pit_timer_start(struct pit *p, uint64_t now)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t interval = MAX((uint64_t)c->count * NS / PIT_HZ, 1);

	switch (c->mode) {
	case 0: case 1: case 4:
		p->periodic = false;
		break;
	case 2: case 3:
		p->periodic = true;
		break;
	default:
		p->armed = false;
		if (p->timer)
			ev_timer_arm(p->timer, 0, 0);
		return;
	}
	p->armed = true;
	p->first_ns = now + interval;
	if (p->timer)
		ev_timer_arm(p->timer, interval,
			     p->periodic ? MAX(interval, PIT_MIN_PERIOD_NS) : 0);
}

/*
 * An expiry: one pulse. The timerfd reports periods the loop was too late
 * for as one expiry, so missed ticks are dropped, not queued (see the top).
 */
static void pit_timer_cb(void *opaque)
{
	struct pit *p = opaque;
	uint64_t now = now_ns();

	pthread_mutex_lock(&p->lock);
	/* Skip an expiry of the timer as it was before being re-armed. */
	if (p->armed && now + 50000 >= p->first_ns) {
		irq_line_pulse(&p->irq);
		if (!p->periodic)
			p->armed = false;
	}
	pthread_mutex_unlock(&p->lock);
}

static void pit_load(struct pit *p, unsigned n, uint32_t val, uint64_t now)
{
	struct pit_channel *c = &p->ch[n];

	c->count = val ? val : 0x10000;
	c->load_ns = now;
	if (n == 0)
		pit_timer_start(p, now);
}

static void pit_latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->latched_count = (uint16_t)pit_count(c, now);
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)(pit_out(c, now) << 7 | c->rw_mode << 4 | c->mode << 1 | c->bcd);
	c->status_latched = true;
}

static void pit_control(struct pit *p, uint8_t val, uint64_t now)
{
	unsigned n = val >> 6;

	if (n == 3) {
		/* Read-back: bit 5 clear latches counts, bit 4 clear latches status. */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(&p->ch[i], now);
			if (!(val & 0x10))
				pit_latch_status(&p->ch[i], now);
		}
		return;
	}
	struct pit_channel *c = &p->ch[n];
	uint8_t access = (val >> 4) & 3;
	if (access == 0) {
		pit_latch_count(c, now);
		return;
	}
	c->rw_mode = c->read_state = c->write_state = access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = val & 1;
}

static void pit_write_data(struct pit *p, unsigned n, uint8_t val, uint64_t now)
{
	struct pit_channel *c = &p->ch[n];

	switch (c->write_state) {
	case RW_MSB:
		pit_load(p, n, (uint32_t)val << 8, now);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	case RW_WORD1:
		pit_load(p, n, c->write_latch | (uint32_t)val << 8, now);
		c->write_state = RW_WORD0;
		break;
	default:
		pit_load(p, n, val, now);
		break;
	}
}

static uint8_t pit_read_data(struct pit *p, unsigned n, uint64_t now)
{
	struct pit_channel *c = &p->ch[n];
	uint32_t count;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		case RW_MSB:
			c->count_latched = 0;
			return (uint8_t)(c->latched_count >> 8);
		case RW_WORD0:
			c->count_latched = RW_MSB;
			return (uint8_t)c->latched_count;
		default:
			c->count_latched = 0;
			return (uint8_t)c->latched_count;
		}
	}
	count = pit_count(c, now);
	switch (c->read_state) {
	case RW_MSB:
		return (uint8_t)(count >> 8);
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return (uint8_t)count;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return (uint8_t)(count >> 8);
	default:
		return (uint8_t)count;
	}
}

static void pit_set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
	/* A rising edge restarts counting in the gate-triggered modes. */
	if (!c->gate && gate && c->mode != 0 && c->mode != 4)
		c->load_ns = now;
	c->gate = gate;
}

int pit_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pit *p = opaque;
	uint64_t now = now_ns();
	uint8_t b = 0;

	if (offset > 3)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (write) {
		b = (uint8_t)*data;
		if (offset == 3)
			pit_control(p, b, now);
		else
			pit_write_data(p, (unsigned)offset, b, now);
	} else if (offset < 3) {
		b = pit_read_data(p, (unsigned)offset, now);
	}
	pthread_mutex_unlock(&p->lock);
	if (!write)
		*data = b;
	return 0;
}

int pit_port61_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pit *p = opaque;
	uint64_t now = now_ns();
	struct pit_channel *c = &p->ch[2];

	if (offset != 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (write) {
		p->speaker_data = (*data >> 1) & 1;
		pit_set_gate(c, *data & 1, now);
	} else {
		/* Bit 4 toggles every 16 us like the refresh request of a PC. */
		*data = (uint64_t)(c->gate | p->speaker_data << 1 |
				   ((now >> 14) & 1) << 4 | pit_out(c, now) << 5);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

struct pit *pit_new(struct evloop *loop, struct irq_line irq0)
{
	struct pit *p = calloc(1, sizeof(*p));
	uint64_t now = now_ns();

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->irq = irq0;
	p->irq.level = false;
	if (loop) {
		p->timer = ev_timer_new(loop, pit_timer_cb, p);
		if (!p->timer) {
			pthread_mutex_destroy(&p->lock);
			free(p);
			return NULL;
		}
	}
	/* Reset: mode 0, count 0x10000 counting, no interrupt armed; the gate
	 * of channels 0 and 1 is tied high, channel 2's follows port 0x61. */
	for (unsigned i = 0; i < 3; i++) {
		p->ch[i].count = 0x10000;
		p->ch[i].load_ns = now;
		p->ch[i].gate = i != 2;
	}
	return p;
}

void pit_free(struct pit *p)
{
	if (!p)
		return;
	ev_timer_free(p->timer);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
