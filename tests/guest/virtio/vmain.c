/*
 * Entry of the 64-bit PVH guest: the tests that need ring 3 (the virtio
 * drivers) are dispatched here; every other test=NAME goes to the common
 * dispatcher in tests/main.c.
 */
#include "vt.h"

/* Written by the ring-0 timer handler, read by ring-3 code. */
struct ring3_probe {
	volatile uint32_t ticks;
};

static struct ring3_probe r3p;

static void r3_timer(struct intr_frame *f, unsigned vec)
{
	r3p.ticks++;
	lapic_eoi();
}

/* test=ring3: CPL 3 really is in effect, runs fast, takes interrupts
 * (and HLT emulation) and returns a value to ring 0. */
static long ring3_body(void *arg)
{
	uint64_t t0, fl;
	uint32_t n = 0;

	__asm__ volatile("pushfq; popq %0" : "=r"(fl));
	printf("ring3: cpl3=%s rflags=0x%lx\n", in_user_mode() ? "yes" : "no",
	       (unsigned long)fl);
	t0 = pmt_now_us();
	for (volatile uint32_t i = 0; i < 10000000u; i++)
		n++;
	printf("ring3: 10M loop in %lu us\n", (unsigned long)(pmt_now_us() - t0));
	/* LAPIC timer interrupts while in ring 3, waiting with (emulated) hlt */
	intr_set_handler(VEC_LAPIC_TIMER, r3_timer);
	lapic_write(0x3E0, 0x3);
	lapic_write(0x320, VEC_LAPIC_TIMER | (1u << 17));
	lapic_write(0x380, 100000);
	while (r3p.ticks < 5)
		cpu_sti_hlt();
	cpu_cli();
	lapic_write(0x320, 1u << 16);
	printf("ring3: %u timer interrupts\n", r3p.ticks);
	return 42;
}

static void test_ring3(void)
{
	long r;

	if (irq_setup())
		return;
	r = user_call(ring3_body, NULL);
	printf("ring3: back in ring 0, cpl3=%s result=%ld\n",
	       in_user_mode() ? "yes" : "no", r);
	if (r == 42)
		printf("ring3 ok\n");
	test_poweroff();
}

unsigned long vt_opt(const char *key, unsigned long def)
{
	char buf[24];
	unsigned long v = 0;

	if (cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return def;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	return v;
}

static const struct {
	const char *name;
	long (*fn)(void *);
	const char *ok; /* printed on success */
} vt_tests[] = {
	{ "pci", vt_pci, "pci ok" },
	{ "blk", vt_blk, "virtio-blk ok" },
	{ "rnd", vt_rnd, "virtio-rnd ok" },
	{ "console", vt_console, "virtio-console ok" },
	{ "intr", vt_intr, "intr ok" },
	{ "net", vt_net, "virtio-net ok" },
	{ "malicious", vt_bad, "malicious ok" },
	{ "hostile", vt_hostile, "hostile ok" },
	{ "hostio", vt_hostio, "hostio ok" },
	{ "durable", vt_durable, "durable ok" },
	{ "load", vt_load, "load ok" },
	{ "fdwatch", vt_fdwatch, "fdwatch ok" },
};

/* Run one driver test in ring 3; S5 on success, FAIL + halt otherwise. */
static void vt_run(long (*fn)(void *), const char *name, const char *ok)
{
	long r;

	if (irq_setup())
		halt_forever();
	r = user_call(fn, NULL);
	if (r != 0) {
		printf("FAIL: %s (%ld)\n", name, r);
		halt_forever();
	}
	printf("%s\n", ok);
	test_poweroff();
}

void guest64_main(void)
{
	char name[32];

	cmdline_get("test", name, sizeof(name));
	for (size_t i = 0; i < sizeof(vt_tests) / sizeof(vt_tests[0]); i++)
		if (!strcmp(name, vt_tests[i].name)) {
			if (acpi_init())
				printf("acpi: init failed\n");
			printf("test: %s (64-bit, drivers in ring 3)\n", name);
			vt_run(vt_tests[i].fn, name, vt_tests[i].ok);
		}
	if (!strcmp(name, "ring3")) {
		if (acpi_init())
			printf("acpi: init failed\n");
		printf("test: %s\n", name);
		test_ring3();
		halt_forever();
	}
	guest_main();
}
