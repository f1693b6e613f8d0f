/* Userspace I/O APIC: registers, RO bits, edge/level, Remote IRR and EOI, masks, messages, routes. */
#include <limits.h>
#include <stdbool.h>

#include "unit.h"
#include "lhyve/ioapic.h"
#include "lhyve/log.h"

#define MAXMSG 64

struct rec {
	unsigned nmsg;
	uint64_t addr[MAXMSG];
	uint32_t data[MAXMSG];
	unsigned nroute;
	unsigned route_calls[IOAPIC_PINS];
	bool valid[IOAPIC_PINS];
	uint64_t raddr[IOAPIC_PINS];
	uint32_t rdata[IOAPIC_PINS];
	unsigned last_pin;
};

static void rec_msi(void *o, uint64_t addr, uint32_t data)
{
	struct rec *r = o;
	if (r->nmsg < MAXMSG) {
		r->addr[r->nmsg] = addr;
		r->data[r->nmsg] = data;
	}
	r->nmsg++;
}

static void rec_route(void *o, unsigned pin, bool valid, uint64_t addr, uint32_t data)
{
	struct rec *r = o;
	CHECK(pin < IOAPIC_PINS);
	if (pin >= IOAPIC_PINS)
		return;
	r->nroute++;
	r->route_calls[pin]++;
	r->valid[pin] = valid;
	r->raddr[pin] = addr;
	r->rdata[pin] = data;
	r->last_pin = pin;
}

static const struct ioapic_ops rec_ops = { rec_msi, rec_route };

static struct ioapic *mk(struct rec *r, uint8_t id)
{
	memset(r, 0, sizeof(*r));
	struct ioapic *io = ioapic_new(&rec_ops, r, id);
	CHECK(io != NULL);
	return io;
}

static uint32_t rd_raw(struct ioapic *io, uint64_t off, unsigned size)
{
	uint64_t v = ~0ULL;
	CHECK_EQ(ioapic_mmio(io, off, size, false, &v), 0);
	return (uint32_t)v;
}

static void wr_raw(struct ioapic *io, uint64_t off, unsigned size, uint64_t val)
{
	uint64_t v = val;
	CHECK_EQ(ioapic_mmio(io, off, size, true, &v), 0);
}

static uint32_t rd(struct ioapic *io, unsigned reg)
{
	wr_raw(io, IOAPIC_REGSEL, 4, reg);
	uint64_t v = ~0ULL;
	CHECK_EQ(ioapic_mmio(io, IOAPIC_WINDOW, 4, false, &v), 0);
	CHECK(v <= 0xFFFFFFFFULL);
	return (uint32_t)v;
}

static void wr(struct ioapic *io, unsigned reg, uint32_t val)
{
	wr_raw(io, IOAPIC_REGSEL, 4, reg);
	wr_raw(io, IOAPIC_WINDOW, 4, val);
}

static void set_rte(struct ioapic *io, unsigned pin, uint64_t rte)
{
	wr(io, IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
	wr(io, IOAPIC_REG_REDTBL + 2 * pin, (uint32_t)rte);
}

static uint64_t get_rte(struct ioapic *io, unsigned pin)
{
	uint64_t lo = rd(io, IOAPIC_REG_REDTBL + 2 * pin);
	uint64_t hi = rd(io, IOAPIC_REG_REDTBL + 2 * pin + 1);
	return hi << 32 | lo;
}

#define DM(m) ((uint64_t)(m) << IOAPIC_RTE_DELMODE_SHIFT)
#define DEST(d) ((uint64_t)(d) << IOAPIC_RTE_DEST_SHIFT)
#define LVL IOAPIC_RTE_LEVEL
#define MASKED IOAPIC_RTE_MASK
#define RIRR IOAPIC_RTE_REMOTE_IRR

static void test_regs(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0);
	CHECK_EQ(rd(io, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ(rd(io, IOAPIC_REG_ARB), 0);
	/* Only ID bits 24-27 are writable; ARB follows the ID. */
	wr(io, IOAPIC_REG_ID, 0xFFFFFFFF);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x0F000000);
	CHECK_EQ(rd(io, IOAPIC_REG_ARB), 0x0F000000);
	wr(io, IOAPIC_REG_ID, 0x03000000);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x03000000);
	/* VER and ARB are read-only. */
	wr(io, IOAPIC_REG_VER, 0);
	wr(io, IOAPIC_REG_ARB, 0x0C000000);
	CHECK_EQ(rd(io, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ(rd(io, IOAPIC_REG_ARB), 0x03000000);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x03000000);
	/* IOREGSEL reads back its low 8 bits. */
	wr_raw(io, IOAPIC_REGSEL, 4, 0x12345611);
	CHECK_EQ(rd_raw(io, IOAPIC_REGSEL, 4), 0x11);
	/* Unimplemented indexes read 0, writes do nothing. */
	CHECK_EQ(rd(io, 0x03), 0);
	CHECK_EQ(rd(io, 0x0F), 0);
	CHECK_EQ(rd(io, 0x40), 0);
	CHECK_EQ(rd(io, 0xFF), 0);
	wr(io, 0x40, 0xFFFFFFFF);
	wr(io, 0xFF, 0xFFFFFFFF);
	CHECK_EQ(rd(io, 0x40), 0);
	/* Reset state: every entry masked, edge, everything else 0. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		CHECK_EQ(get_rte(io, pin), 0x10000);
	CHECK_EQ(r.nmsg, 0);
	ioapic_free(io);

	/* The ID given at creation (4 bits); ioapic_reset restores it. */
	io = mk(&r, 5);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x05000000);
	CHECK_EQ(rd(io, IOAPIC_REG_ARB), 0x05000000);
	wr(io, IOAPIC_REG_ID, 0x09000000);
	set_rte(io, 3, 0x31);
	ioapic_reset(io);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x05000000);
	CHECK_EQ(get_rte(io, 3), 0x10000);
	ioapic_free(io);
	io = mk(&r, 0xF7);
	CHECK_EQ(rd(io, IOAPIC_REG_ID), 0x07000000);
	ioapic_free(io);
	ioapic_free(NULL);
}

static void test_ro_bits(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	/* All ones: delivery status, Remote IRR and reserved bits stay 0. */
	wr(io, IOAPIC_REG_REDTBL + 2 * 4, 0xFFFFFFFF);
	wr(io, IOAPIC_REG_REDTBL + 2 * 4 + 1, 0xFFFFFFFF);
	CHECK_EQ(rd(io, IOAPIC_REG_REDTBL + 2 * 4), 0x1AFFF);
	CHECK_EQ(rd(io, IOAPIC_REG_REDTBL + 2 * 4 + 1), 0xFF000000);
	/* Setting Remote IRR by a write on a level pin: still clear. */
	set_rte(io, 5, 0x40 | LVL | RIRR | IOAPIC_RTE_DELIVS);
	CHECK_EQ(get_rte(io, 5), 0x40 | LVL);
	CHECK_EQ(r.nmsg, 0);
	/* Remote IRR set by a delivery: a write with bit 14 clear keeps it. */
	ioapic_set_irq(io, 5, true);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(get_rte(io, 5), 0x40 | LVL | RIRR);
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x40 | LVL);
	CHECK_EQ(get_rte(io, 5), 0x40 | LVL | RIRR);
	/* ... and the high dword write does not touch it either. */
	wr(io, IOAPIC_REG_REDTBL + 2 * 5 + 1, 0x01FFFFFF);
	CHECK_EQ(get_rte(io, 5), 0x40 | LVL | RIRR | DEST(1));
	CHECK_EQ(r.nmsg, 1);
	ioapic_free(io);
}

static void test_edge(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	set_rte(io, 1, 0x31);
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(r.data[0], 0x31 | 1U << 14);
	CHECK_EQ(r.addr[0], 0xFEE00000);
	/* No edge, no message; no Remote IRR, EOI does nothing. */
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(get_rte(io, 1), 0x31);
	ioapic_eoi(io, 0x31);
	CHECK_EQ(r.nmsg, 1);
	ioapic_set_irq(io, 1, false);
	CHECK_EQ(r.nmsg, 1);
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(r.nmsg, 2);
	/* A pulse is one message each; the EOI is not needed for the next. */
	ioapic_set_irq(io, 1, false);
	ioapic_set_irq(io, 1, true);
	ioapic_set_irq(io, 1, false);
	CHECK_EQ(r.nmsg, 3);
	/* An edge while masked is lost, unmasking does not send. */
	set_rte(io, 1, 0x31 | MASKED);
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(r.nmsg, 3);
	set_rte(io, 1, 0x31);
	CHECK_EQ(r.nmsg, 3);
	ioapic_set_irq(io, 1, false);
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(r.nmsg, 4);
	/* Other pins are independent. */
	ioapic_set_irq(io, 2, true);
	CHECK_EQ(r.nmsg, 4);
	ioapic_free(io);
}

static void test_level(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	set_rte(io, 2, 0x42 | LVL);
	CHECK_EQ(r.nmsg, 0);
	ioapic_set_irq(io, 2, true);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(r.data[0], 0x42 | 1U << 14 | 1U << 15);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL | RIRR);
	/* Remote IRR set: no more messages until the EOI. */
	ioapic_set_irq(io, 2, true);
	ioapic_set_irq(io, 2, false);
	ioapic_set_irq(io, 2, true);
	CHECK_EQ(r.nmsg, 1);
	ioapic_eoi(io, 0x43);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL | RIRR);
	/* EOI while still asserted: sent again, Remote IRR set again. */
	ioapic_eoi(io, 0x42);
	CHECK_EQ(r.nmsg, 2);
	CHECK_EQ(r.data[1], 0x42 | 1U << 14 | 1U << 15);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL | RIRR);
	/* Deasserted before the EOI: Remote IRR clears, nothing sent. */
	ioapic_set_irq(io, 2, false);
	ioapic_eoi(io, 0x42);
	CHECK_EQ(r.nmsg, 2);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL);
	ioapic_eoi(io, 0x42);
	CHECK_EQ(r.nmsg, 2);
	ioapic_set_irq(io, 2, true);
	CHECK_EQ(r.nmsg, 3);

	/* Two pins sharing a vector: one EOI clears both, the asserted one resends. */
	set_rte(io, 7, 0x42 | LVL);
	ioapic_set_irq(io, 7, true);
	CHECK_EQ(r.nmsg, 4);
	ioapic_set_irq(io, 7, false);
	ioapic_eoi(io, 0x42);
	CHECK_EQ(r.nmsg, 5);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL | RIRR);
	CHECK_EQ(get_rte(io, 7), 0x42 | LVL);

	/* Switching to edge clears Remote IRR (Linux's version 0x11 EOI trick);
	 * back to level with the pin still asserted sends. */
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x42 | MASKED);
	CHECK_EQ(get_rte(io, 2), 0x42 | MASKED);
	CHECK_EQ(r.nmsg, 5);
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x42 | MASKED | LVL);
	CHECK_EQ(r.nmsg, 5);
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x42 | LVL);
	CHECK_EQ(r.nmsg, 6);
	CHECK_EQ(get_rte(io, 2), 0x42 | LVL | RIRR);
	/* Unmasked edge -> level while asserted sends. */
	ioapic_eoi(io, 0x42);
	CHECK_EQ(r.nmsg, 7);
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x42);
	CHECK_EQ(r.nmsg, 7);
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x42 | LVL);
	CHECK_EQ(r.nmsg, 8);
	/* Changing the vector with Remote IRR set: the EOI of the new vector clears it. */
	wr(io, IOAPIC_REG_REDTBL + 2 * 2, 0x52 | LVL);
	CHECK_EQ(get_rte(io, 2), 0x52 | LVL | RIRR);
	ioapic_eoi(io, 0x42);
	CHECK_EQ(get_rte(io, 2), 0x52 | LVL | RIRR);
	ioapic_eoi(io, 0x52);
	CHECK_EQ(r.nmsg, 9);
	CHECK_EQ(r.data[8], 0x52 | 1U << 14 | 1U << 15);
	ioapic_free(io);
}

static void test_mask_unmask(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	/* Level pin asserted while masked: nothing; unmasking sends. */
	set_rte(io, 9, 0x61 | LVL | MASKED);
	ioapic_set_irq(io, 9, true);
	CHECK_EQ(r.nmsg, 0);
	CHECK_EQ(get_rte(io, 9), 0x61 | LVL | MASKED);
	set_rte(io, 9, 0x61 | LVL);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(get_rte(io, 9), 0x61 | LVL | RIRR);
	/* Masked with Remote IRR set: the EOI clears it but sends nothing. */
	set_rte(io, 9, 0x61 | LVL | MASKED);
	ioapic_eoi(io, 0x61);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(get_rte(io, 9), 0x61 | LVL | MASKED);
	/* Unmasking, still asserted: sends. */
	set_rte(io, 9, 0x61 | LVL);
	CHECK_EQ(r.nmsg, 2);
	/* Masked, deasserted, EOI, unmasked: nothing. */
	set_rte(io, 9, 0x61 | LVL | MASKED);
	ioapic_set_irq(io, 9, false);
	ioapic_eoi(io, 0x61);
	set_rte(io, 9, 0x61 | LVL);
	CHECK_EQ(r.nmsg, 2);
	CHECK_EQ(get_rte(io, 9), 0x61 | LVL);
	/* Unmasked but Remote IRR set: unmasking again does not send twice. */
	ioapic_set_irq(io, 9, true);
	CHECK_EQ(r.nmsg, 3);
	set_rte(io, 9, 0x61 | LVL | MASKED);
	set_rte(io, 9, 0x61 | LVL);
	CHECK_EQ(r.nmsg, 3);
	/* Rewriting the same unmasked entry does not send either. */
	set_rte(io, 9, 0x61 | LVL);
	CHECK_EQ(r.nmsg, 3);
	ioapic_free(io);
}

static void test_encoding(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	/* Logical, lowest priority, level, destination 0xAB. */
	set_rte(io, 3, 0x55 | DM(IOAPIC_DM_LOWPRI) | IOAPIC_RTE_DESTMODE | LVL | DEST(0xAB));
	ioapic_set_irq(io, 3, true);
	CHECK_EQ(r.nmsg, 1);
	CHECK_EQ(r.addr[0], 0xFEEAB004);
	CHECK_EQ(r.data[0], 0x55 | 1U << 8 | 1U << 14 | 1U << 15);
	/* Physical, fixed, edge, destination 3; polarity does not show. */
	set_rte(io, 4, 0x66 | DEST(3) | IOAPIC_RTE_POLARITY);
	ioapic_set_irq(io, 4, true);
	CHECK_EQ(r.nmsg, 2);
	CHECK_EQ(r.addr[1], 0xFEE03000);
	CHECK_EQ(r.data[1], 0x66 | 1U << 14);
	/* Destination 0xFF (broadcast) logical. */
	set_rte(io, 5, 0x77 | IOAPIC_RTE_DESTMODE | DEST(0xFF));
	ioapic_set_irq(io, 5, true);
	CHECK_EQ(r.addr[2], 0xFEEFF004);
	CHECK_EQ(r.data[2], 0x77 | 1U << 14);

	/* SMI, NMI, INIT: mode passed through, always edge (trigger 0, no Remote IRR). */
	static const unsigned modes[] = { IOAPIC_DM_SMI, IOAPIC_DM_NMI, IOAPIC_DM_INIT };
	for (unsigned i = 0; i < 3; i++) {
		unsigned pin = 10 + i, n = r.nmsg;
		set_rte(io, pin, DM(modes[i]) | LVL | DEST(1));
		CHECK_EQ(get_rte(io, pin), DM(modes[i]) | LVL | DEST(1));
		ioapic_set_irq(io, pin, true);
		CHECK_EQ(r.nmsg, n + 1);
		CHECK_EQ(r.addr[n], 0xFEE01000);
		CHECK_EQ(r.data[n], modes[i] << 8 | 1U << 14);
		CHECK_EQ(get_rte(io, pin), DM(modes[i]) | LVL | DEST(1));
		/* Still asserted: no resend, even after an EOI of vector 0. */
		ioapic_set_irq(io, pin, true);
		ioapic_eoi(io, 0);
		CHECK_EQ(r.nmsg, n + 1);
		ioapic_set_irq(io, pin, false);
		ioapic_set_irq(io, pin, true);
		CHECK_EQ(r.nmsg, n + 2);
		CHECK(r.valid[pin]);
		CHECK_EQ(r.rdata[pin], modes[i] << 8 | 1U << 14);
	}
	ioapic_free(io);
}

static void test_extint(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);
	enum log_level lvl = log_get_level();

	log_set_level(LOG_ERR); /* the expected warnings */
	/* ExtINT, edge, unmasked: logged, not sent; the route is not valid. */
	set_rte(io, 0, DM(IOAPIC_DM_EXTINT));
	CHECK(!r.valid[0]);
	for (unsigned i = 0; i < 50; i++) {
		ioapic_set_irq(io, 0, true);
		ioapic_set_irq(io, 0, false);
	}
	CHECK_EQ(r.nmsg, 0);
	/* ExtINT with the level bit: no Remote IRR, nothing sent. */
	set_rte(io, 0, DM(IOAPIC_DM_EXTINT) | LVL);
	ioapic_set_irq(io, 0, true);
	CHECK_EQ(r.nmsg, 0);
	CHECK_EQ(get_rte(io, 0), DM(IOAPIC_DM_EXTINT) | LVL);
	/* Reprogrammed as fixed level while asserted: now it sends. */
	set_rte(io, 0, 0x30 | LVL);
	CHECK_EQ(r.nmsg, 1);
	CHECK(r.valid[0]);
	/* Reserved modes 3 and 6: same as ExtINT. */
	set_rte(io, 6, 0x36 | DM(3));
	set_rte(io, 8, 0x38 | DM(6) | LVL);
	CHECK(!r.valid[6]);
	CHECK(!r.valid[8]);
	ioapic_set_irq(io, 6, true);
	ioapic_set_irq(io, 8, true);
	ioapic_eoi(io, 0x38);
	CHECK_EQ(r.nmsg, 1);
	log_set_level(lvl);
	ioapic_free(io);
}

static void test_routes(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);

	/* One call per pin at creation: masked, edge, vector 0. */
	CHECK_EQ(r.nroute, IOAPIC_PINS);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		CHECK_EQ(r.route_calls[pin], 1);
		CHECK(!r.valid[pin]);
		CHECK_EQ(r.raddr[pin], 0xFEE00000);
		CHECK_EQ(r.rdata[pin], 1U << 14);
	}
	/* Unmasking: valid with the message. */
	set_rte(io, 5, 0x45 | LVL | DEST(2));
	CHECK(r.valid[5]);
	CHECK_EQ(r.raddr[5], 0xFEE02000);
	CHECK_EQ(r.rdata[5], 0x45 | 1U << 14 | 1U << 15);
	unsigned n = r.nroute;
	/* Same value again, polarity, or index registers: no call. */
	set_rte(io, 5, 0x45 | LVL | DEST(2));
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x45 | LVL | IOAPIC_RTE_POLARITY);
	wr(io, IOAPIC_REG_ID, 0x01000000);
	CHECK_EQ(r.nroute, n);
	/* Remote IRR changes do not affect the message. */
	ioapic_set_irq(io, 5, true);
	ioapic_eoi(io, 0x45);
	ioapic_set_irq(io, 5, false);
	ioapic_eoi(io, 0x45);
	CHECK_EQ(r.nroute, n);
	/* Destination, vector, trigger, mode, mask: one call each. */
	wr(io, IOAPIC_REG_REDTBL + 2 * 5 + 1, 0x07000000);
	CHECK_EQ(r.nroute, n + 1);
	CHECK_EQ(r.last_pin, 5);
	CHECK_EQ(r.raddr[5], 0xFEE07000);
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x46 | LVL);
	CHECK_EQ(r.nroute, n + 2);
	CHECK_EQ(r.rdata[5], 0x46 | 1U << 14 | 1U << 15);
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x46);
	CHECK_EQ(r.nroute, n + 3);
	CHECK_EQ(r.rdata[5], 0x46 | 1U << 14);
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x46 | IOAPIC_RTE_DESTMODE);
	CHECK_EQ(r.nroute, n + 4);
	CHECK_EQ(r.raddr[5], 0xFEE07004);
	wr(io, IOAPIC_REG_REDTBL + 2 * 5, 0x46 | IOAPIC_RTE_DESTMODE | MASKED);
	CHECK_EQ(r.nroute, n + 5);
	CHECK(!r.valid[5]);
	CHECK_EQ(r.route_calls[4], 1);
	/* Reset: every pin again, masked. */
	set_rte(io, 6, 0x50);
	n = r.nroute;
	ioapic_reset(io);
	CHECK_EQ(r.nroute, n + IOAPIC_PINS);
	CHECK(!r.valid[6]);
	CHECK_EQ(r.rdata[6], 1U << 14);
	ioapic_free(io);

	/* NULL ops or callbacks are tolerated. */
	struct ioapic_ops none = { NULL, NULL };
	io = ioapic_new(&none, NULL, 0);
	CHECK(io != NULL);
	set_rte(io, 1, 0x41 | LVL);
	ioapic_set_irq(io, 1, true);
	CHECK_EQ(get_rte(io, 1), 0x41 | LVL | RIRR);
	ioapic_free(io);
	io = ioapic_new(NULL, NULL, 0);
	CHECK(io != NULL);
	set_rte(io, 1, 0x41);
	ioapic_set_irq(io, 1, true);
	ioapic_free(io);
}

static void test_bad_access(void)
{
	struct rec r;
	struct ioapic *io = mk(&r, 0);
	static const unsigned sizes[] = { 1, 2, 8, 0, 3, 16 };

	set_rte(io, 1, 0x31);
	wr_raw(io, IOAPIC_REGSEL, 4, IOAPIC_REG_REDTBL + 2);
	/* Other sizes at IOREGSEL/IOWIN: read 0, writes dropped. */
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_EQ(rd_raw(io, IOAPIC_REGSEL, sizes[i]), 0);
		CHECK_EQ(rd_raw(io, IOAPIC_WINDOW, sizes[i]), 0);
		wr_raw(io, IOAPIC_REGSEL, sizes[i], 0);
		wr_raw(io, IOAPIC_WINDOW, sizes[i], 0x10000);
	}
	CHECK_EQ(rd_raw(io, IOAPIC_REGSEL, 4), IOAPIC_REG_REDTBL + 2);
	CHECK_EQ(rd_raw(io, IOAPIC_WINDOW, 4), 0x31);
	/* Other offsets (including the 0x20 EOI register of version 0x20 parts). */
	static const uint64_t offs[] = { 0x01, 0x04, 0x08, 0x0C, 0x11, 0x14, 0x20, 0x40,
					 0xFFC, 0xFFF, 0x1000, ~0ULL, 0x8000000000000000ULL };
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (unsigned s = 1; s <= 8; s *= 2) {
			CHECK_EQ(rd_raw(io, offs[i], s), 0);
			wr_raw(io, offs[i], s, ~0ULL);
		}
	}
	CHECK_EQ(rd_raw(io, IOAPIC_REGSEL, 4), IOAPIC_REG_REDTBL + 2);
	CHECK_EQ(get_rte(io, 1), 0x31);
	/* A 64-bit value written with a 32-bit access: the low half only. */
	wr_raw(io, IOAPIC_REGSEL, 4, 0xFFFFFFFF00000000ULL | (IOAPIC_REG_REDTBL + 2));
	wr_raw(io, IOAPIC_WINDOW, 4, 0xFFFFFFFF00000032ULL);
	CHECK_EQ(get_rte(io, 1), 0x32);
	/* Out-of-range pins. */
	static const unsigned pins[] = { IOAPIC_PINS, IOAPIC_PINS + 1, 32, 64, 1000, UINT_MAX };
	for (unsigned i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		ioapic_set_irq(io, pins[i], true);
		ioapic_set_irq(io, pins[i], false);
	}
	CHECK_EQ(r.nmsg, 0);
	/* Every EOI vector with nothing pending. */
	for (unsigned v = 0; v < 256; v++)
		ioapic_eoi(io, (uint8_t)v);
	CHECK_EQ(r.nmsg, 0);
	/* NULL io on the non-MMIO entry points. */
	ioapic_set_irq(NULL, 0, true);
	ioapic_eoi(NULL, 0);
	ioapic_reset(NULL);
	ioapic_free(io);
}

int main(void)
{
	RUN(test_regs);
	RUN(test_ro_bits);
	RUN(test_edge);
	RUN(test_level);
	RUN(test_mask_unmask);
	RUN(test_encoding);
	RUN(test_extint);
	RUN(test_routes);
	RUN(test_bad_access);
	return unit_report();
}
