/*
 * Interrupt-driven tests: COM1 receive through the IOAPIC, PIT (through the
 * IOAPIC and through the 8259 pair) and LAPIC timers, and the ACPI power button (SCI). Handler state lives in one
 * static struct per test file; it is written only by the BSP's handlers
 * and read by the BSP's main loop (volatile, no other CPU involved).
 */
#include "tests.h"

#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define PWRBTN (1u << 8)

struct irq_test_state {
	char line[128];
	volatile uint32_t len;
	volatile uint32_t done;
	volatile uint32_t pwrbtn;
	volatile uint32_t sci_other;
};

static struct irq_test_state its;

int wait_count(volatile uint32_t *ctr, uint32_t n, uint32_t ms)
{
	uint64_t start = pmt_ticks(), lim = (uint64_t)ms * 3580u;

	cpu_sti();
	for (uint32_t i = 0; i < 20000000u; i++) {
		if (*ctr >= n)
			return 0;
		if (pmt_present() && pmt_ticks() - start > lim)
			break;
		cpu_pause();
	}
	cpu_cli();
	return *ctr >= n ? 0 : -1;
}

int irq_setup(void)
{
	if (!arch_has_interrupts()) {
		printf("FAIL: this build has no interrupt support\n");
		return -1;
	}
	if (!rt_state()->acpi.nioapic) {
		printf("FAIL: no IOAPIC in the MADT\n");
		return -1;
	}
	pic_init_masked();
	lapic_enable();
	return 0;
}

/* ---- serial ---- */
static void com1_rx(struct intr_frame *f, unsigned vec)
{
	int c;

	for (int i = 0; i < 64 && (c = uart_getc(COM1)) >= 0; i++) {
		if (its.done)
			continue;
		if (c == '\n' || c == '\r') {
			if (its.len)
				its.done = 1;
			continue;
		}
		if (its.len + 1 < sizeof(its.line))
			its.line[its.len++] = (char)c;
		else
			its.done = 1;
	}
	lapic_eoi();
}

int com1_rx_irq(intr_handler_t h)
{
	if (irq_setup())
		return -1;
	while (uart_getc(COM1) >= 0)
		; /* drain anything stale (bounded by the FIFO) */
	intr_set_handler(VEC_IOAPIC_BASE + 4, h);
	if (isa_irq_route(4, VEC_IOAPIC_BASE + 4, lapic_id()))
		fail_halt("cannot route IRQ 4");
	outb(COM1 + 1, 0x01); /* IER: received data available */
	return 0;
}

void test_serial(void)
{
	uart_init(COM2);
	cprintf(COM2, "com2: hello from the %s guest\n", rt_state()->boot_proto);
	if (com1_rx_irq(com1_rx))
		return;
	printf("ready\n");
	while (!its.done)
		cpu_sti_hlt(); /* the runner's timeout bounds this wait */
	cpu_cli();
	outb(COM1 + 1, 0);
	its.line[its.len] = 0;
	printf("echo: [%s] (%u rx interrupts)\n", its.line,
	       rt_state()->irq_count[VEC_IOAPIC_BASE + 4]);
	cprintf(COM2, "com2: got [%s]\n", its.line);
	test_poweroff();
}

/* ---- timers ---- */
static void eoi_handler(struct intr_frame *f, unsigned vec)
{
	lapic_eoi();
}

static void pic_eoi_handler(struct intr_frame *f, unsigned vec)
{
	outb(0x20, 0x20); /* non-specific EOI to the master 8259 */
}

void test_timers(void)
{
	struct rt *rt = rt_state();
	uint16_t flags;
	uint32_t gsi = acpi_isa_gsi(0, &flags), div = 1193182 / 100;
	int bad = 0;

	if (irq_setup())
		return;
	printf("timers: PIT IRQ0 -> GSI %u (flags 0x%x)\n", gsi, flags);
	if (ioapic_read_id(0) == (rt->acpi.ioapic_id[0] & 0xFu))
		printf("ioapic: id %u as in the MADT\n", ioapic_read_id(0));
	else
		printf("ioapic FAIL: id %u, MADT says %u\n", ioapic_read_id(0),
		       rt->acpi.ioapic_id[0]);
	intr_set_handler(VEC_IOAPIC_BASE, eoi_handler);
	if (isa_irq_route(0, VEC_IOAPIC_BASE, lapic_id()))
		fail_halt("cannot route IRQ 0");
	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator) */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
	if (wait_count(&rt->irq_count[VEC_IOAPIC_BASE], 5, 5000) == 0) {
		printf("pit ok (%u ticks)\n", rt->irq_count[VEC_IOAPIC_BASE]);
	} else {
		printf("pit FAIL (%u ticks)\n", rt->irq_count[VEC_IOAPIC_BASE]);
		bad = 1;
	}
	ioapic_mask(gsi);

	/* The same PIT through the 8259 pair: IRQ 0 -> ExtINT on the BSP's LINT0. */
	intr_set_handler(VEC_PIC_BASE, pic_eoi_handler);
	outb(0x21, 0xFE); /* unmask IRQ 0 at the master */
	if (wait_count(&rt->irq_count[VEC_PIC_BASE], 5, 5000) == 0) {
		printf("8259 ok (%u ticks)\n", rt->irq_count[VEC_PIC_BASE]);
	} else {
		printf("8259 FAIL (%u ticks)\n", rt->irq_count[VEC_PIC_BASE]);
		bad = 1;
	}
	outb(0x21, 0xFF);

	intr_set_handler(VEC_LAPIC_TIMER, eoi_handler);
	lapic_write(LAPIC_TIMER_DIV, 0x3);     /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER | (1u << 17)); /* periodic */
	lapic_write(LAPIC_TIMER_INIT, 100000);
	if (wait_count(&rt->irq_count[VEC_LAPIC_TIMER], 5, 5000) == 0) {
		printf("lapic ok (%u ticks)\n", rt->irq_count[VEC_LAPIC_TIMER]);
	} else {
		printf("lapic FAIL (%u ticks)\n", rt->irq_count[VEC_LAPIC_TIMER]);
		bad = 1;
	}
	lapic_write(LAPIC_LVT_TIMER, 1u << 16);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (bad)
		fail_halt("timers");
	test_poweroff();
}

/* ---- ACPI power button ---- */
static void sci_handler(struct intr_frame *f, unsigned vec)
{
	const struct acpi_info *a = &rt_state()->acpi;
	uint16_t sts = inw((uint16_t)a->pm1a_evt);

	if (sts & PWRBTN)
		its.pwrbtn = 1;
	else
		its.sci_other++;
	outw((uint16_t)a->pm1a_evt, sts); /* write-1-to-clear */
	lapic_eoi();
}

void test_sigterm(void)
{
	const struct acpi_info *a = &rt_state()->acpi;
	uint16_t flags;
	uint32_t gsi;
	bool level, low;

	if (irq_setup())
		return;
	if (!a->pm1a_evt || a->pm1_evt_len < 4)
		fail_halt("no PM1a event block");
	if (acpi_enable_mode())
		fail_halt("could not enable ACPI mode via SMI_CMD");
	printf("sigterm: ACPI mode on (SCI_EN set)\n");
	gsi = acpi_isa_gsi((uint8_t)a->sci_int, &flags);
	/* SCI default is level, active low; MADT flags may override. */
	level = ((flags >> 2) & 3) != 1;
	low = (flags & 3) != 1;
	printf("sigterm: SCI %u -> GSI %u %s active-%s\n", a->sci_int, gsi,
	       level ? "level" : "edge", low ? "low" : "high");
	outw((uint16_t)a->pm1a_evt, 0xFFFF); /* clear stale status */
	intr_set_handler(VEC_IOAPIC_BASE + 9, sci_handler);
	if (gsi >= 24 || ioapic_route(gsi, VEC_IOAPIC_BASE + 9, level, low,
				      lapic_id()))
		fail_halt("cannot route the SCI");
	outw((uint16_t)(a->pm1a_evt + a->pm1_evt_len / 2), PWRBTN); /* PM1_EN */
	printf("ready\n");
	while (!its.pwrbtn)
		cpu_sti_hlt();
	cpu_cli();
	printf("sigterm: power button pressed (other SCIs: %u)\n", its.sci_other);
	test_poweroff();
}

void test_sigterm_noacpi(void)
{
	printf("ready (ACPI not enabled)\n");
	for (;;)
		cpu_sti_hlt();
}
