/*
 * Intel 82093AA I/O APIC in userspace, for KVM's split irqchip (see
 * lhyve/ioapic.h). Written from the datasheet and the Intel SDM:
 *
 * Registers (indirect: IOREGSEL at offset 0x00 selects, IOWIN at 0x10 reads
 * and writes; 32-bit accesses only, anything else reads 0 and writes are
 * dropped): 0x00 ID (bits 24-27 writable), 0x01 version (0x11, maximum
 * redirection entry 23 in bits 16-23), 0x02 arbitration ID (reads the ID),
 * 0x10-0x3F the 24 redirection entries as low/high dwords. Reserved bits
 * read 0; delivery status (bit 12) always reads 0 (a message is sent
 * synchronously); Remote IRR (bit 14) is read-only. Other indexes read 0.
 *
 * Delivery: each entry turns into one MSI-format message (ops->msi).
 *  - Edge-triggered pins send on a rising edge of the input while unmasked;
 *    an edge that arrives while masked is lost (unmasking does not send).
 *  - Level-triggered pins send while the input is asserted, the entry is
 *    unmasked and Remote IRR is clear, and then set Remote IRR. The local
 *    APIC's EOI for the vector (ioapic_eoi) clears it and the pin sends again
 *    if still asserted. Any entry write that leaves a level pin asserted,
 *    unmasked and with Remote IRR clear (unmasking, switching to level,
 *    fixing the delivery mode) sends.
 *  - Switching a pin to edge clears Remote IRR: version 0x11 has no EOI
 *    register, and Linux clears a stuck Remote IRR on such I/O APICs by
 *    toggling the trigger mode to edge and back.
 *  - Only fixed and lowest-priority deliveries can be level-triggered. SMI,
 *    NMI and INIT are edge-triggered whatever the trigger bit says (SDM
 *    "Message Data Register Format", 82093AA delivery mode table): they send
 *    on rising edges, never set Remote IRR, and their messages carry
 *    trigger 0 (so KVM never treats their vector field as level-triggered).
 *  - ExtINT (7) would need the 8259 to supply the vector through an INTA
 *    cycle routed via the I/O APIC, which this board does not model (the PIC
 *    reaches the CPUs through LINT0 instead): such a pin logs (rate-limited)
 *    and sends nothing. The reserved delivery modes 3 and 6 are treated the
 *    same way.
 *
 * Routes: the KVM glue mirrors every entry into KVM's GSI routing (so that
 * EOIs of level-triggered vectors exit to userspace). ops->route is called
 * for every pin by ioapic_new and ioapic_reset, and afterwards whenever the
 * message a pin would send, or whether it can send at all (mask, delivery
 * mode), changes; valid=false for masked pins and for ExtINT/reserved modes.
 *
 * Locking: io->lock protects everything; ops->msi and ops->route are called
 * with it held and must not call back. Input levels are logical (the board
 * applies the polarity); the polarity bit is stored only.
 */
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/ioapic.h"
#include "lhyve/log.h"

/* Bits of the low dword the guest can write; the high dword has only the destination. */
#define RTE_LOW_RW (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE | IOAPIC_RTE_DESTMODE | \
		    IOAPIC_RTE_POLARITY | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASK)
#define RTE_HIGH_RW 0xFF000000U
#define RTE_RESET IOAPIC_RTE_MASK

#define MSI_ADDR_BASE 0xFEE00000ULL

struct ioapic_route {
	bool valid;
	uint64_t addr;
	uint32_t data;
};

struct ioapic {
	pthread_mutex_t lock;
	const struct ioapic_ops *ops;
	void *opaque;
	uint8_t reset_id; /* given to ioapic_new */
	uint8_t id;       /* 4 bits */
	uint8_t regsel;
	uint32_t levels;  /* input pin levels, bit per pin */
	uint64_t rte[IOAPIC_PINS];
	struct ioapic_route route[IOAPIC_PINS]; /* last reported by ops->route */
	struct ratelimit rl;
};

static unsigned rte_delmode(uint64_t rte)
{
	return (unsigned)((rte & IOAPIC_RTE_DELMODE) >> IOAPIC_RTE_DELMODE_SHIFT);
}

/* Delivery modes this board sends (fixed, lowest priority, SMI, NMI, INIT). */
static bool rte_sendable(uint64_t rte)
{
	switch (rte_delmode(rte)) {
	case IOAPIC_DM_FIXED: case IOAPIC_DM_LOWPRI: case IOAPIC_DM_SMI:
	case IOAPIC_DM_NMI: case IOAPIC_DM_INIT:
		return true;
	default:
		return false;
	}
}

/* Level semantics (Remote IRR) apply to fixed and lowest-priority only. */
static bool rte_is_level(uint64_t rte)
{
	unsigned dm = rte_delmode(rte);

	return (rte & IOAPIC_RTE_LEVEL) && (dm == IOAPIC_DM_FIXED || dm == IOAPIC_DM_LOWPRI);
}

static struct ioapic_route rte_message(uint64_t rte)
{
	struct ioapic_route r;

	r.addr = MSI_ADDR_BASE | (rte >> IOAPIC_RTE_DEST_SHIFT) << 12 |
		 ((rte & IOAPIC_RTE_DESTMODE) ? 1ULL << 2 : 0);
	r.data = (uint32_t)(rte & IOAPIC_RTE_VECTOR) | rte_delmode(rte) << 8 | 1U << 14 |
		 (rte_is_level(rte) ? 1U << 15 : 0);
	r.valid = !(rte & IOAPIC_RTE_MASK) && rte_sendable(rte);
	return r;
}

/* Tell ops->route about pin's entry if its message changed (or always if force). */
static void ioapic_update_route(struct ioapic *io, unsigned pin, bool force)
{
	struct ioapic_route r = rte_message(io->rte[pin]);
	struct ioapic_route *old = &io->route[pin];

	if (!force && r.valid == old->valid && r.addr == old->addr && r.data == old->data)
		return;
	*old = r;
	if (io->ops && io->ops->route)
		io->ops->route(io->opaque, pin, r.valid, r.addr, r.data);
}

/* Send pin's message now (mask and trigger already checked); false if not sendable. */
static bool ioapic_send(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];
	struct ioapic_route r = rte_message(rte);

	if (!rte_sendable(rte)) {
		unsigned dm = rte_delmode(rte);
		log_rl(&io->rl, LOG_WARN, "ioapic: pin %u: %s delivery mode %u not supported, "
		       "interrupt dropped", pin, dm == IOAPIC_DM_EXTINT ? "ExtINT" : "reserved", dm);
		return false;
	}
	if (io->ops && io->ops->msi)
		io->ops->msi(io->opaque, r.addr, r.data);
	return true;
}

/* A level pin that is asserted, unmasked and has Remote IRR clear sends. */
static void ioapic_level_check(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];

	if (!rte_is_level(rte) || (rte & (IOAPIC_RTE_MASK | IOAPIC_RTE_REMOTE_IRR)) ||
	    !(io->levels & (1U << pin)))
		return;
	if (ioapic_send(io, pin))
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	bool old;

	if (!io || pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	old = io->levels & (1U << pin);
	if (level)
		io->levels |= 1U << pin;
	else
		io->levels &= ~(1U << pin);
	if (rte_is_level(io->rte[pin]))
		ioapic_level_check(io, pin);
	else if (level && !old && !(io->rte[pin] & IOAPIC_RTE_MASK))
		ioapic_send(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = io->rte[pin];

		if (!(rte & IOAPIC_RTE_REMOTE_IRR) || (rte & IOAPIC_RTE_VECTOR) != vector)
			continue;
		io->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
		ioapic_level_check(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

static uint32_t ioapic_read_reg(struct ioapic *io, unsigned reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	default:
		break;
	}
	if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
		uint64_t rte = io->rte[(reg - IOAPIC_REG_REDTBL) / 2];
		return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
	}
	return 0;
}

static void ioapic_write_reg(struct ioapic *io, unsigned reg, uint32_t val)
{
	unsigned pin;
	uint64_t rte;

	if (reg == IOAPIC_REG_ID) {
		io->id = (val >> 24) & 0xF;
		return;
	}
	if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		return; /* version, arbitration: read-only; the rest: nothing */
	pin = (reg - IOAPIC_REG_REDTBL) / 2;
	rte = io->rte[pin];
	if (reg & 1) {
		rte = (rte & 0xFFFFFFFFULL) | (uint64_t)(val & RTE_HIGH_RW) << 32;
	} else {
		rte = (rte & ~0xFFFFFFFFULL) | (rte & IOAPIC_RTE_REMOTE_IRR) | (val & RTE_LOW_RW);
		if (!(rte & IOAPIC_RTE_LEVEL))
			rte &= ~IOAPIC_RTE_REMOTE_IRR;
	}
	io->rte[pin] = rte;
	ioapic_update_route(io, pin, false);
	ioapic_level_check(io, pin);
}

int ioapic_mmio(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct ioapic *io = opaque;
	uint32_t val = 0;

	if (size != 4 || (offset != IOAPIC_REGSEL && offset != IOAPIC_WINDOW)) {
		if (!write)
			*data = 0;
		return 0;
	}
	pthread_mutex_lock(&io->lock);
	if (offset == IOAPIC_REGSEL) {
		if (write)
			io->regsel = (uint8_t)*data;
		else
			val = io->regsel;
	} else if (write) {
		ioapic_write_reg(io, io->regsel, (uint32_t)*data);
	} else {
		val = ioapic_read_reg(io, io->regsel);
	}
	pthread_mutex_unlock(&io->lock);
	if (!write)
		*data = val;
	return 0;
}

static void ioapic_reset_locked(struct ioapic *io)
{
	io->id = io->reset_id;
	io->regsel = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		io->rte[pin] = RTE_RESET;
		ioapic_update_route(io, pin, true);
	}
}

void ioapic_reset(struct ioapic *io)
{
	if (!io)
		return;
	pthread_mutex_lock(&io->lock);
	ioapic_reset_locked(io);
	pthread_mutex_unlock(&io->lock);
}

struct ioapic *ioapic_new(const struct ioapic_ops *ops, void *opaque, uint8_t id)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	if (pthread_mutex_init(&io->lock, NULL) != 0) {
		free(io);
		return NULL;
	}
	io->ops = ops;
	io->opaque = opaque;
	io->reset_id = id & 0xF;
	io->rl = (struct ratelimit)RATELIMIT_INIT;
	pthread_mutex_lock(&io->lock);
	ioapic_reset_locked(io);
	pthread_mutex_unlock(&io->lock);
	return io;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	pthread_mutex_destroy(&io->lock);
	free(io);
}
