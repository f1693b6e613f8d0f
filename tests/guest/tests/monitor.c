/*
 * test=monitor: a small interactive monitor on COM1, for `make demo` on
 * hosts whose KVM cannot run Linux user space. Line input comes from the
 * COM1 receive interrupt; commands show what the machine looks like from
 * inside and exercise its power paths. Handler state is one static struct
 * written by the BSP's COM1 handler and read by the BSP's main loop.
 */
#include "tests.h"

struct mon_state {
	char line[80];
	volatile uint32_t len;
	volatile uint32_t ready; /* a complete line is in `line` */
};

static struct mon_state mon;

static void mon_rx(struct intr_frame *f, unsigned vec)
{
	int c;

	for (int i = 0; i < 64 && (c = uart_getc(COM1)) >= 0; i++) {
		if (mon.ready)
			continue; /* the main loop has not taken the last line yet */
		if (c == '\r' || c == '\n') {
			uart_putc(COM1, '\r');
			uart_putc(COM1, '\n');
			mon.line[mon.len] = 0;
			mon.ready = 1;
		} else if ((c == 0x7F || c == 0x08) && mon.len) {
			mon.len--;
			con_puts(COM1, "\b \b");
		} else if (c >= 0x20 && c < 0x7F && mon.len + 1 < sizeof(mon.line)) {
			mon.line[mon.len++] = (char)c;
			uart_putc(COM1, (char)c);
		}
	}
	lapic_eoi();
}

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static uint32_t pci_read32(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	outl(0xCF8, 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xFC));
	return inl(0xCFC);
}

static void cmd_pci(void)
{
	for (unsigned slot = 0; slot < 32; slot++)
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = pci_read32(0, slot, fn, 0);
			if ((id & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			uint32_t cls = pci_read32(0, slot, fn, 8);
			printf("  00:%02x.%u %04x:%04x class %02x%02x\n", slot, fn, id & 0xFFFF,
			       id >> 16, cls >> 24, (cls >> 16) & 0xFF);
			if (fn == 0 && !(pci_read32(0, slot, 0, 0x0C) & 0x800000))
				break;
		}
}

static void cmd_info(void)
{
	const struct acpi_info *a = &rt_state()->acpi;
	uint64_t low = ((uint64_t)cmos(0x35) << 8 | cmos(0x34)) * 65536 + 16 * 1024 * 1024;
	uint64_t high = ((uint64_t)cmos(0x5D) << 16 | (uint64_t)cmos(0x5C) << 8 | cmos(0x5B)) * 65536;

	printf("  boot: %s, %u-bit guest code\n", rt_state()->boot_proto,
	       (unsigned)sizeof(void *) * 8);
	printf("  cpus (MADT): %u, memory (CMOS): %lu MiB\n", a->ncpus,
	       (unsigned long)((low + high) >> 20));
	printf("  command line: %s\n", rt_state()->cmdline);
	printf("  ACPI PM1a_CNT 0x%x, PM timer 0x%x, SCI %u, S5 SLP_TYP %u\n", a->pm1a_cnt,
	       a->pm_tmr, a->sci_int, a->s5_typa);
}

static void cmd_help(void)
{
	static const char *const help[] = {
		"help      this list",
		"info      CPUs, memory, boot protocol, ACPI facts",
		"date      the RTC's date and time",
		"pci       PCI functions on bus 0",
		"uptime    seconds since boot (ACPI PM timer)",
		"poweroff  ACPI S5: bhyve exits with status 1",
		"reboot    reset through 0xCF9: bhyve exits with status 0",
		"halt      cli; hlt: bhyve exits with status 2",
	};
	/* one line per printf: the guest's printf buffer is small */
	for (unsigned i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		printf("  %s\n", help[i]);
}

void test_monitor(void)
{
	uint64_t t0 = pmt_present() ? pmt_ticks() : 0;

	if (com1_rx_irq(mon_rx))
		return;
	printf("\nlhyve monitor: a test guest running under bhyve. Type 'help'.\n");
	for (;;) {
		printf("lhyve> ");
		while (!mon.ready)
			cpu_sti_hlt();
		cpu_cli();
		char *l = mon.line;
		while (*l == ' ')
			l++;
		if (!*l)
			;
		else if (!strcmp(l, "help"))
			cmd_help();
		else if (!strcmp(l, "info"))
			cmd_info();
		else if (!strcmp(l, "date"))
			rtc_show("  rtc");
		else if (!strcmp(l, "pci"))
			cmd_pci();
		else if (!strcmp(l, "uptime"))
			printf("  %lu s\n", pmt_present() ?
			       (unsigned long)((pmt_ticks() - t0) / 3579545u) : 0UL);
		else if (!strcmp(l, "poweroff"))
			test_poweroff();
		else if (!strcmp(l, "reboot"))
			power_reset_cf9();
		else if (!strcmp(l, "halt"))
			halt_forever();
		else
			printf("  unknown command '%s' (try 'help')\n", l);
		mon.len = 0;
		mon.ready = 0;
	}
}
