/* 16550A UART model: register semantics, interrupts, FIFO, loopback, chardev. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "fakes.h"
#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/util.h"

#define GSI 4
enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define THR RBR
#define FCR IIR
#define DLL RBR
#define DLM IER

static uint8_t rd(struct uart *u, unsigned reg)
{
	uint64_t v = ~0ULL;
	CHECK_EQ(uart_io(u, reg, 1, false, &v), 0);
	CHECK(v <= 0xFF);
	return (uint8_t)v;
}

static void wr(struct uart *u, unsigned reg, uint8_t val)
{
	uint64_t v = val;
	CHECK_EQ(uart_io(u, reg, 1, true, &v), 0);
}

static struct uart *mk(struct fake_irq *f, struct irq_chip *chip, struct chardev *cd)
{
	struct irq_line line;

	fake_irq_init(f, chip);
	irq_line_init(&line, chip, GSI);
	return uart_new(cd, line);
}

static void test_dlab(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct uart *u = mk(&f, &chip, NULL);

	wr(u, LCR, 0x83);
	wr(u, DLL, 0x01);
	wr(u, DLM, 0x02);
	CHECK_EQ(rd(u, DLL), 0x01);
	CHECK_EQ(rd(u, DLM), 0x02);
	wr(u, LCR, 0x03);
	CHECK_EQ(rd(u, LCR), 0x03);
	CHECK_EQ(rd(u, IER), 0x00);
	wr(u, IER, 0xFF);
	CHECK_EQ(rd(u, IER), 0x0F);
	wr(u, IER, 0);
	wr(u, LCR, 0x83);
	CHECK_EQ(rd(u, DLL), 0x01); /* not clobbered by the IER write */
	CHECK_EQ(rd(u, DLM), 0x02);
	wr(u, LCR, 0x03);
	wr(u, SCR, 0x5A);
	CHECK_EQ(rd(u, SCR), 0x5A);
	CHECK_EQ(rd(u, LSR) & 0x61, 0x60); /* THRE|TEMT, no data */
	CHECK_EQ(rd(u, IIR), 0x01);
	/* Bad sizes and offsets are ignored without harm. */
	uint64_t v = 0;
	CHECK_EQ(uart_io(u, 9, 1, false, &v), 0);
	CHECK_EQ(v, ~0ULL);
	v = 0x1234;
	CHECK_EQ(uart_io(u, 0, 2, true, &v), 0);
	/* No backend: CTS|DSR, no carrier. */
	CHECK_EQ(rd(u, MSR) & 0xF0, 0x30);
	uart_free(u);
}

static void test_thre_irq(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct uart *u = mk(&f, &chip, NULL);

	/* OUT2 clear: interrupt pending but the PC's gate keeps the line low. */
	wr(u, IER, 0x02);
	CHECK(!f.level[GSI]);
	wr(u, MCR, 0x08);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(u, IIR), 0x02);
	CHECK(!f.level[GSI]); /* reading IIR cleared the THRE source */
	CHECK_EQ(rd(u, IIR), 0x01);
	wr(u, THR, 'x'); /* no backend: dropped, THR empty again */
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(u, IIR), 0x02);
	CHECK(!f.level[GSI]);
	/* Re-enabling ETBEI raises THRE again. */
	wr(u, IER, 0x00);
	wr(u, IER, 0x02);
	CHECK(f.level[GSI]);
	wr(u, MCR, 0x00);
	CHECK(!f.level[GSI]); /* OUT2 gating */
	wr(u, MCR, 0x08);
	CHECK(f.level[GSI]);
	wr(u, IER, 0x00);
	CHECK(!f.level[GSI]);
	uart_free(u);
}

static void test_loopback_fifo(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct uart *u = mk(&f, &chip, NULL);

	wr(u, MCR, 0x18); /* LOOP | OUT2 */
	wr(u, FCR, 0x07); /* enable + reset, trigger 1 */
	CHECK_EQ(rd(u, IIR), 0xC1);
	wr(u, IER, 0x01);
	CHECK(!f.level[GSI]);
	for (int i = 0; i < 16; i++)
		wr(u, THR, (uint8_t)('a' + i));
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(u, IIR), 0xC4);
	CHECK_EQ(rd(u, LSR) & 0x03, 0x01);
	wr(u, THR, 'Z'); /* 17th: overrun, lost */
	wr(u, IER, 0x07); /* + line status + THRE */
	CHECK_EQ(rd(u, IIR), 0xC6); /* line status first */
	CHECK_EQ(rd(u, LSR) & 0x03, 0x03);
	CHECK_EQ(rd(u, LSR) & 0x03, 0x01); /* OE cleared by the read */
	CHECK_EQ(rd(u, IIR), 0xC4); /* then data */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(rd(u, RBR), 'a' + i);
	CHECK_EQ(rd(u, LSR) & 0x01, 0);
	CHECK_EQ(rd(u, IIR), 0xC2); /* then THRE */
	CHECK_EQ(rd(u, IIR), 0xC1);
	CHECK(!f.level[GSI]);

	/* Trigger level 8: below it a character timeout is reported. */
	wr(u, FCR, 0x83);
	wr(u, IER, 0x01);
	for (int i = 0; i < 3; i++)
		wr(u, THR, 'x');
	CHECK_EQ(rd(u, IIR), 0xCC);
	for (int i = 0; i < 5; i++)
		wr(u, THR, 'y');
	CHECK_EQ(rd(u, IIR), 0xC4);
	wr(u, FCR, 0x83); /* RX reset */
	CHECK_EQ(rd(u, LSR) & 0x01, 0);
	CHECK_EQ(rd(u, IIR), 0xC1);

	/* FIFO off: a one-byte holding register. */
	wr(u, FCR, 0x00);
	CHECK_EQ(rd(u, IIR), 0x01);
	wr(u, THR, '1');
	wr(u, THR, '2');
	CHECK_EQ(rd(u, LSR) & 0x03, 0x03);
	CHECK_EQ(rd(u, RBR), '1');
	CHECK_EQ(rd(u, LSR) & 0x01, 0);

	/* Modem status loopback with deltas. */
	rd(u, MSR);
	wr(u, IER, 0x08);
	wr(u, MCR, 0x1B); /* LOOP|OUT2|RTS|DTR */
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(u, IIR), 0x00);
	CHECK_EQ(rd(u, MSR), 0x10 | 0x20 | 0x80 | 0x01 | 0x02);
	CHECK_EQ(rd(u, MSR), 0xB0);
	CHECK(!f.level[GSI]);
	wr(u, MCR, 0x1F); /* + OUT1 -> RI */
	CHECK_EQ(rd(u, MSR), 0xF0); /* leading edge of RI: no TERI */
	wr(u, MCR, 0x1B);
	CHECK_EQ(rd(u, MSR), 0xB4); /* trailing edge: TERI */
	wr(u, MCR, 0x10); /* loop, everything off */
	CHECK_EQ(rd(u, MSR), 0x0B);
	uart_free(u);
}

static void run_loop(struct evloop *loop, int times)
{
	for (int i = 0; i < times; i++)
		evloop_run_once(loop, 20);
}

static void test_chardev_io(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct evloop *loop = evloop_new();
	char err[256] = "";
	int sp[2];
	uint8_t buf[64];
	struct chardev *cd;
	struct uart *u;

	CHECK(loop != NULL);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cd = chardev_open_fds(sp[0], sp[0], loop, err, sizeof(err));
	CHECK(cd != NULL);
	u = mk(&f, &chip, cd);
	CHECK_EQ(rd(u, MSR) & 0xF0, 0xB0); /* connected: DCD too */

	/* TX goes to the backend at once. */
	wr(u, THR, 'h');
	wr(u, THR, 'i');
	CHECK_EQ(read(sp[1], buf, sizeof(buf)), 2);
	CHECK(!memcmp(buf, "hi", 2));
	/* Loopback output stays inside. */
	wr(u, MCR, 0x10);
	wr(u, THR, 'L');
	struct pollfd pfd = { .fd = sp[1], .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, 10), 0);
	CHECK_EQ(rd(u, RBR), 'L');
	wr(u, MCR, 0x08);

	/* RX: 40 bytes arrive; the FIFO takes 16, the rest waits in the chardev. */
	wr(u, FCR, 0xC1); /* FIFO, trigger 14 */
	wr(u, IER, 0x01);
	for (int i = 0; i < 40; i++)
		buf[i] = (uint8_t)(0x20 + i);
	CHECK_EQ(write(sp[1], buf, 40), 40);
	run_loop(loop, 3);
	CHECK(f.level[GSI]);
	CHECK_EQ(rd(u, IIR), 0xC4);
	for (int i = 0; i < 40; i++) {
		CHECK_EQ(rd(u, LSR) & 1, 1);
		CHECK_EQ(rd(u, RBR), 0x20 + i);
	}
	CHECK_EQ(rd(u, LSR) & 1, 0);
	CHECK(!f.level[GSI]);
	CHECK_EQ(chardev_pending(cd), 0);

	/* Input that arrives while in loopback waits for loopback to end. */
	wr(u, MCR, 0x18);
	CHECK_EQ(write(sp[1], "Q", 1), 1);
	run_loop(loop, 2);
	CHECK_EQ(rd(u, LSR) & 1, 0);
	wr(u, MCR, 0x08);
	CHECK_EQ(rd(u, LSR) & 1, 1);
	CHECK_EQ(rd(u, RBR), 'Q');

	uart_free(u);
	chardev_close(cd);
	close(sp[1]);
	evloop_free(loop);
}

/*
 * The console-nmdm scenario through a real pty: a client writes a line of
 * exactly the FIFO's size (and one byte more, and two FIFOs' worth, and a
 * line in pieces, one arriving while the guest is still draining) to a
 * UART set up as the serial test guest does (FIFO with trigger 1, ERBFI,
 * OUT2). Every line must raise the line from low (an edge for the
 * edge-triggered IOAPIC pin) and a handler that reads until LSR.DR is clear
 * must get every byte and leave the line low again.
 */
static bool wait_level(struct evloop *loop, struct fake_irq *f)
{
	for (int i = 0; i < 100 && !f->level[GSI]; i++)
		evloop_run_once(loop, 10);
	return f->level[GSI];
}

static size_t drain_like_guest(struct uart *u, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap && (rd(u, LSR) & 1))
		buf[n++] = rd(u, RBR);
	return n;
}

static void test_pty_rx_lines(void)
{
	static const size_t sizes[] = { 16, 17, 32, 1, 16 };
	struct fake_irq f;
	struct irq_chip chip;
	struct evloop *loop = evloop_new();
	char err[256] = "";
	uint8_t line[64], got[64];
	struct chardev *cd = chardev_open("pty", loop, err, sizeof(err));
	struct uart *u;
	int s;

	CHECK(cd != NULL);
	if (!cd)
		return;
	u = mk(&f, &chip, cd);
	wr(u, FCR, 0x07); /* uart_init in the test guest */
	wr(u, MCR, 0x0B);
	wr(u, IER, 0x01);
	CHECK(!f.level[GSI]);
	s = open(chardev_pty_path(cd), O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];

		for (size_t i = 0; i < n; i++)
			line[i] = (uint8_t)('A' + (k * 7 + i) % 26);
		line[n - 1] = '\r';
		size_t m = 0;

		CHECK_EQ(write(s, line, n), n);
		/* One interrupt per piece the pty hands over (normally one). */
		for (int tries = 0; m < n && tries < 4; tries++) {
			CHECK(wait_level(loop, &f));
			CHECK_EQ(rd(u, IIR), 0xC4); /* received data, FIFO on */
			m += drain_like_guest(u, got + m, sizeof(got) - m);
			CHECK(!f.level[GSI]);
		}
		CHECK_EQ(m, n);
		CHECK(!memcmp(got, line, n));
	}
	/* A line in two pieces, the second arriving while the first is read. */
	memcpy(line, "hello over nmdm\r", 16);
	CHECK_EQ(write(s, line, 10), 10);
	CHECK(wait_level(loop, &f));
	size_t n = 0;
	for (; n < 4; n++)
		got[n] = rd(u, RBR);
	CHECK_EQ(write(s, line + 10, 6), 6);
	for (int i = 0; i < 20; i++)
		evloop_run_once(loop, 5);
	CHECK(f.level[GSI]); /* still pending: no new edge needed, the handler goes on */
	n += drain_like_guest(u, got + n, sizeof(got) - n);
	CHECK_EQ(n, 16);
	CHECK(!memcmp(got, line, 16));
	CHECK(!f.level[GSI]);
	close(s);
	uart_free(u);
	chardev_close(cd);
	evloop_free(loop);
}

static void *loop_thread(void *opaque)
{
	evloop_run(opaque);
	return NULL;
}

struct feeder {
	int fd;
	size_t n;
};

static void *feed_thread(void *opaque)
{
	struct feeder *fe = opaque;
	uint8_t b[100];

	for (size_t sent = 0; sent < fe->n;) {
		size_t k = MIN(sizeof(b), fe->n - sent);
		for (size_t i = 0; i < k; i++)
			b[i] = (uint8_t)(sent + i);
		ssize_t w = write(fe->fd, b, k);
		if (w > 0)
			sent += (size_t)w;
	}
	return NULL;
}

/* vCPU-like polling on this thread while the loop thread delivers input. */
static void test_concurrent(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct evloop *loop = evloop_new();
	char err[256];
	int sp[2];
	pthread_t lt, ft;
	struct feeder fe = { .n = 20000 };
	size_t got = 0;
	bool in_order = true;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	struct chardev *cd = chardev_open_fds(sp[0], sp[0], loop, err, sizeof(err));
	CHECK(cd != NULL);
	struct uart *u = mk(&f, &chip, cd);
	wr(u, FCR, 0x01);
	wr(u, IER, 0x03);
	wr(u, MCR, 0x0B);
	fe.fd = sp[1];
	pthread_create(&lt, NULL, loop_thread, loop);
	pthread_create(&ft, NULL, feed_thread, &fe);
	uint64_t t0 = now_ns();
	while (got < fe.n && now_ns() - t0 < 10000000000ULL) {
		rd(u, IIR);
		if (rd(u, LSR) & 1) {
			if (rd(u, RBR) != (uint8_t)got)
				in_order = false;
			got++;
			if (!(got % 64))
				wr(u, THR, '.');
		}
	}
	CHECK_EQ(got, fe.n);
	CHECK(in_order);
	pthread_join(ft, NULL);
	evloop_stop(loop);
	pthread_join(lt, NULL);
	uart_free(u);
	chardev_close(cd);
	close(sp[1]);
	evloop_free(loop);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_dlab);
	RUN(test_thre_irq);
	RUN(test_loopback_fifo);
	RUN(test_chardev_io);
	RUN(test_pty_rx_lines);
	RUN(test_concurrent);
	return unit_report();
}
