/*
 * 16550A UART (see lhyve/hw.h). Register facts from the National
 * Semiconductor PC16550D datasheet.
 *
 * Transmission is instantaneous: a THR write goes straight to the chardev,
 * so THR/TSR are always empty (LSR THRE|TEMT) and the THRE interrupt is
 * re-armed right after every write. Reception pulls bytes from the chardev
 * into the RX FIFO whenever there is room (the chardev keeps the rest, so
 * the backend never overruns us); only loopback can overrun the FIFO.
 *
 * Modem inputs (not in loopback): CTS and DSR are always asserted so that
 * a guest using hardware flow control still transmits (into the backend,
 * or into nothing when there is none); DCD follows the backend: asserted
 * while a peer is connected (stdio/path: always), clear with no backend.
 *
 * Interrupt output: asserted while an enabled interrupt is pending and MCR
 * OUT2 is set (a PC gates the UART's INTR pin with OUT2).
 *
 * Locking: u->lock protects all state. Lock order: uart lock -> chardev
 * lock (chardev_read/write are called under u->lock) and uart lock -> irq
 * chip (irq_line_set). The chardev notify callback (loop thread) takes
 * u->lock; the chardev calls it without its own lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/chardev.h"
#include "lhyve/hw.h"
#include "lhyve/log.h"
#include "lhyve/util.h"

/* Register offsets */
#define UART_RBR 0 /* read, DLAB=0 (THR on write; DLL with DLAB=1) */
#define UART_IER 1 /* DLAB=0 (DLM with DLAB=1) */
#define UART_IIR 2 /* read (FCR on write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0F

#define IIR_NOPEND 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_CTO 0x0C /* character timeout */
#define IIR_FIFO 0xC0

#define FCR_ENABLE 0x01
#define FCR_RXRST 0x02
#define FCR_TXRST 0x04
#define FCR_TRIG_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1F

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0F

#define UART_FIFO_LEN 16

static const uint8_t uart_trigger[4] = { 1, 4, 8, 14 };

struct uart {
	pthread_mutex_t lock;
	struct chardev *cd;
	struct irq_line irq;

	uint8_t dll, dlm;
	uint8_t ier, lcr, mcr, lsr, msr, scr;
	uint8_t fcr; /* FIFO enable + trigger bits as last written */
	bool thre_pending; /* THRE interrupt armed (cleared by IIR read / THR write) */

	uint8_t rxf[UART_FIFO_LEN];
	unsigned rx_head, rx_count;

	struct ratelimit rl;
};

static bool uart_fifo_on(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned uart_rx_cap(const struct uart *u)
{
	return uart_fifo_on(u) ? UART_FIFO_LEN : 1;
}

static void uart_rx_reset(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->lsr &= (uint8_t)~LSR_DR;
}

/* Modem input lines as seen in MSR bits 4-7. */
static uint8_t uart_modem_inputs(struct uart *u)
{
	if (u->mcr & MCR_LOOP) {
		uint8_t m = 0;
		if (u->mcr & MCR_RTS)
			m |= MSR_CTS;
		if (u->mcr & MCR_DTR)
			m |= MSR_DSR;
		if (u->mcr & MCR_OUT1)
			m |= MSR_RI;
		if (u->mcr & MCR_OUT2)
			m |= MSR_DCD;
		return m;
	}
	if (u->cd && chardev_connected(u->cd))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	return MSR_CTS | MSR_DSR;
}

/* Recompute MSR status bits and latch delta bits for changed inputs. */
static void uart_update_msr(struct uart *u)
{
	uint8_t now = uart_modem_inputs(u);
	uint8_t old = u->msr & 0xF0, chg = (uint8_t)(now ^ old);
	uint8_t d = 0;

	if (chg & MSR_CTS)
		d |= MSR_DCTS;
	if (chg & MSR_DSR)
		d |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		d |= MSR_TERI; /* trailing edge of RI */
	if (chg & MSR_DCD)
		d |= MSR_DDCD;
	u->msr = (uint8_t)(now | ((u->msr | d) & MSR_DELTAS));
}

/* Highest-priority pending interrupt as an IIR id (IIR_NOPEND if none). */
static uint8_t uart_intr_id(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERRS))
		return IIR_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		if (!uart_fifo_on(u) ||
		    u->rx_count >= uart_trigger[u->fcr >> FCR_TRIG_SHIFT])
			return IIR_RDA;
		/*
		 * Below the trigger level: a real chip reports a character
		 * timeout after four character times without FIFO activity;
		 * we have no line timing, so report it at once.
		 */
		return IIR_CTO;
	}
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
		return IIR_MSR;
	return IIR_NOPEND;
}

static void uart_update_irq(struct uart *u)
{
	bool level = uart_intr_id(u) != IIR_NOPEND && (u->mcr & MCR_OUT2);
	irq_line_set(&u->irq, level);
}

static void uart_rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_count >= uart_rx_cap(u)) {
		u->lsr |= LSR_OE; /* the new character is lost */
		return;
	}
	u->rxf[(u->rx_head + u->rx_count) % UART_FIFO_LEN] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

/* Pull backend input into the FIFO while there is room (not in loopback). */
static void uart_rx_fill(struct uart *u)
{
	uint8_t buf[UART_FIFO_LEN];
	size_t n;

	if (!u->cd || (u->mcr & MCR_LOOP))
		return;
	n = uart_rx_cap(u) - u->rx_count;
	if (!n)
		return;
	n = chardev_read(u->cd, buf, n);
	for (size_t i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
}

/* Chardev notify (loop thread, chardev lock not held). */
static void uart_notify(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	uart_rx_fill(u);
	uart_update_msr(u);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_tx(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP)
		uart_rx_push(u, b);
	else if (u->cd)
		chardev_write(u->cd, &b, 1);
	/* THR went empty again at once. */
	u->thre_pending = true;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
	uint8_t v, id;

	switch (reg) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_count)
			return 0;
		v = u->rxf[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_LEN;
		if (--u->rx_count == 0)
			u->lsr &= (uint8_t)~LSR_DR;
		uart_rx_fill(u);
		return v;
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR:
		id = uart_intr_id(u);
		if (id == IIR_THRE)
			u->thre_pending = false; /* reading IIR clears a THRE source */
		return (uint8_t)(id | (uart_fifo_on(u) ? IIR_FIFO : 0));
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		if (!u->rx_count)
			uart_rx_fill(u); /* input that arrived before a notify */
		v = (uint8_t)(u->lsr | LSR_THRE | LSR_TEMT);
		u->lsr &= (uint8_t)~LSR_ERRS; /* errors clear on read */
		return v;
	case UART_MSR:
		uart_update_msr(u);
		v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTAS;
		return v;
	default:
		return u->scr;
	}
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			uart_tx(u, v);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling ETBEI while THR is empty raises THRE at once. */
		if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI))
			u->thre_pending = true;
		u->ier = v & IER_MASK;
		break;
	case UART_IIR: /* FCR */
		if ((v ^ u->fcr) & FCR_ENABLE)
			uart_rx_reset(u); /* FIFO mode change clears the FIFOs */
		if (v & FCR_RXRST)
			uart_rx_reset(u);
		/* FCR_TXRST: nothing is ever queued for transmission. */
		u->fcr = v & (FCR_ENABLE | (3u << FCR_TRIG_SHIFT));
		if (!(u->fcr & FCR_ENABLE))
			u->fcr = 0;
		uart_rx_fill(u);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR: {
		bool was_loop = u->mcr & MCR_LOOP;
		u->mcr = v & MCR_MASK;
		uart_update_msr(u);
		if (was_loop && !(u->mcr & MCR_LOOP))
			uart_rx_fill(u);
		break;
	}
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers: writes ignored. */
		break;
	default:
		u->scr = v;
		break;
	}
}

int uart_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct uart *u = opaque;

	if (offset > UART_SCR || size != 1) {
		log_rl(&u->rl, LOG_DEBUG, "uart: ignored %u-byte access at offset %#llx",
		       size, (unsigned long long)offset);
		if (!write)
			*data = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&u->lock);
	if (write)
		uart_write_reg(u, (unsigned)offset, (uint8_t)*data);
	else
		*data = uart_read_reg(u, (unsigned)offset);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

struct uart *uart_new(struct chardev *cd, struct irq_line irq)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	u->cd = cd;
	u->irq = irq;
	u->irq.level = false;
	u->rl = (struct ratelimit)RATELIMIT_INIT;
	u->dll = 12; /* 9600 baud, as firmware would leave it */
	u->lcr = 0x03; /* 8N1 */
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = uart_modem_inputs(u);
	if (cd) {
		chardev_set_notify(cd, uart_notify, u);
		uart_notify(u); /* pick up input buffered before we existed */
	}
	return u;
}

/* Call with the event loop stopped (or on its thread); the chardev stays open. */
void uart_free(struct uart *u)
{
	if (!u)
		return;
	if (u->cd)
		chardev_set_notify(u->cd, NULL, NULL);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
