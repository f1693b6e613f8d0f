/*
 * 16550A UART registers (src/hw/uart16550.c): register accesses of every
 * size the bus can deliver, host input through a pipe chardev on an event
 * loop, guest output drained from another pipe.
 * Input: a stream of ops (see fz_uart_op).
 */
#include <fcntl.h>

#include "fuzz.h"
#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"

struct fz_uart_fx {
	struct evloop *loop;
	struct chardev *cd;
	struct uart *u;
	int in[2], out[2]; /* in: host -> UART, out: UART -> host */
	struct fz_irq irqs;
	struct irq_chip chip;
};

/* Harness setup failures are our own invariants: abort. */
static void fz_uart_setup(struct fz_uart_fx *f)
{
	char err[256];
	struct irq_line line;

	memset(f, 0, sizeof(*f));
	if (pipe2(f->in, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(f->out, O_CLOEXEC | O_NONBLOCK) < 0 || !(f->loop = evloop_new()))
		abort();
	f->cd = chardev_open_fds(f->in[0], f->out[1], f->loop, err, sizeof(err));
	if (!f->cd)
		abort();
	f->chip = (struct irq_chip){ &fz_irq_ops, &f->irqs };
	irq_line_init(&line, &f->chip, 4);
	f->u = uart_new(f->cd, line);
	if (!f->u)
		abort();
}

static void fz_uart_teardown(struct fz_uart_fx *f)
{
	uart_free(f->u);
	chardev_close(f->cd);
	close(f->in[1]);
	close(f->out[0]);
	evloop_free(f->loop);
}

FUZZ_TARGET(uart)
{
	struct fz_uart_fx f;
	struct fz in;
	uint8_t buf[256];

	fz_uart_setup(&f);
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		switch (op % 4) {
		case 0:
		case 1: { /* register access inside the 8-byte range */
			unsigned off = fz_u8(&in) % 8, sz = fz_size(&in);
			uint64_t v = fz_u64(&in);
			if (off + sz > 8)
				break;
			uart_io(f.u, off, sz, op & 4, &v);
			break;
		}
		case 2: { /* host types some bytes; the loop delivers them */
			size_t n = fz_bytes(&in, buf, fz_u8(&in) % 64);
			if (n && write(f.in[1], buf, n) < 0)
				break;
			evloop_run_once(f.loop, 0);
			break;
		}
		case 3: /* drain guest output, run the loop */
			while (read(f.out[0], buf, sizeof(buf)) > 0)
				;
			evloop_run_once(f.loop, 0);
			break;
		}
	}
	fz_uart_teardown(&f);
	return 0;
}
