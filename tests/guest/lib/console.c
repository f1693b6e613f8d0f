/* Polled 16550 console output, interrupt-free input, tiny printf. */
#include "rt.h"

#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

void uart_init(uint16_t port)
{
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x80);   /* DLAB */
	outb(port + UART_RBR, 1);      /* 115200 */
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x03);   /* 8N1 */
	outb(port + UART_FCR, 0x07);   /* enable + clear FIFOs */
	outb(port + UART_MCR, 0x0B);   /* DTR RTS OUT2 */
}

void uart_putc(uint16_t port, char c)
{
	/* Bounded wait for THR empty; drop the byte rather than hang. */
	for (int i = 0; i < 100000; i++)
		if (inb(port + UART_LSR) & LSR_THRE)
			break;
	outb(port + UART_THR, (uint8_t)c);
}

int uart_getc(uint16_t port)
{
	if (!(inb(port + UART_LSR) & LSR_DR))
		return -1;
	return inb(port + UART_RBR);
}

void con_puts(uint16_t port, const char *s)
{
	while (*s)
		uart_putc(port, *s++);
}

struct fmtbuf {
	char *buf;
	size_t size, pos;
};

static void fmt_put(struct fmtbuf *fb, char c)
{
	if (fb->pos + 1 < fb->size)
		fb->buf[fb->pos] = c;
	fb->pos++;
}

static void fmt_num(struct fmtbuf *fb, uint64_t v, unsigned base, bool neg,
		    int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		unsigned d = (unsigned)(v % base);

		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int i = n; i < width; i++)
		fmt_put(fb, pad);
	while (n)
		fmt_put(fb, tmp[--n]);
}

/* Supports %% %c %s %d %u %x %p with optional '0', width and l/ll/z. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmtbuf fb = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			fmt_put(&fb, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng++, fmt++;
		switch (*fmt) {
		case 'c':
			fmt_put(&fb, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len;

			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			for (int i = len; i < width; i++)
				fmt_put(&fb, ' ');
			while (*s)
				fmt_put(&fb, *s++);
			break;
		}
		case 'd': {
			int64_t v = lng >= 2 ? va_arg(ap, long long)
				  : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);

			fmt_num(&fb, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0,
				width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
				   : lng == 1 ? va_arg(ap, unsigned long)
					      : va_arg(ap, unsigned);

			fmt_num(&fb, v, *fmt == 'x' ? 16 : 10, false, width, pad);
			break;
		}
		case 'p':
			fmt_put(&fb, '0');
			fmt_put(&fb, 'x');
			fmt_num(&fb, (uintptr_t)va_arg(ap, void *), 16, false, 0, ' ');
			break;
		case 0:
			fmt--;
			break;
		default:
			fmt_put(&fb, '%');
			fmt_put(&fb, *fmt);
		}
	}
	if (size)
		buf[fb.pos < size ? fb.pos : size - 1] = 0;
	return (int)fb.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void vcprintf(uint16_t port, const char *fmt, va_list ap)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	con_puts(port, buf);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcprintf(COM1, fmt, ap);
	va_end(ap);
}

void cprintf(uint16_t port, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcprintf(port, fmt, ap);
	va_end(ap);
}
