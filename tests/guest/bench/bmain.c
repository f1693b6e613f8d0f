/*
 * Entry of the benchmark guest (bench64-pvh.elf): bench=NAME picks the
 * program; every other command line falls through to the common test
 * dispatcher, so the binary also answers test=hello etc.
 *
 *   bench=exit-pio  ms=N [port=N]   OUT to an unclaimed port in a ring-3 loop
 *   bench=exit-mmio ms=N [addr=HEX] MOV to unclaimed guest-physical memory
 *   bench=doorbell  ms=N [db=HEX]   16-bit writes to a virtio queue notify
 *                                   address (ioeventfd in the VMM); db= gives
 *                                   a raw address instead (floor program)
 *   bench=blk ...                   see bblk.c
 *   bench=net ...                   see bnet.c
 *   bench=idle                      print "BENCH ready" and spin in ring 3
 *   noacpi=1                        skip the ACPI walk (floor program)
 */
#include "bench.h"

#define BN_PIO_PORT 0x6F0            /* claimed by neither VMM */
#define BN_MMIO_ADDR 0xD0000000u     /* in the PCI hole, no BAR there */
#define BN_EXIT_PORT 0xF4            /* QEMU isa-debug-exit, floor program */

static struct {
	uint64_t tsc_khz;
	uint64_t ms;
	bool acpi;
} bn;

uint64_t bn_ns(uint64_t ticks)
{
	return ticks * 1000000ull / bn.tsc_khz;
}

uint64_t bn_ticks_ms(uint64_t ms)
{
	return ms * bn.tsc_khz;
}

uint64_t bn_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void bn_report(const char *name, uint64_t ops, uint64_t ticks, uint64_t bytes)
{
	uint64_t ns = bn_ns(ticks);

	if (!ns)
		ns = 1;
	printf("BENCH name=%s ops=%lu ns=%lu rate=%lu bytes=%lu\n", name,
	       (unsigned long)ops, (unsigned long)ns,
	       (unsigned long)(ops * 1000000000ull / ns), (unsigned long)bytes);
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

static uint64_t bn_hex(const char *key, uint64_t def)
{
	char buf[24];
	uint64_t v = 0;
	const char *p = buf;

	if (cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return def;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			v = v * 16 + (uint64_t)(*p - '0');
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			v = v * 16 + (uint64_t)((*p | 0x20) - 'a' + 10);
		else
			break;
	}
	return v;
}

int bn_probe(struct vd *d, uint32_t bdf)
{
	uint32_t id = pcicfg_read32(bdf, 0);
	unsigned c = 0;

	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	if ((id & 0xFFFF) != VIRTIO_VENDOR || (id >> 16) < 0x1041) {
		printf("bench: %x is not a modern virtio device (0x%x)\n", bdf, id);
		return -1;
	}
	d->device_id = (uint16_t)((id >> 16) - 0x1040);
	while ((c = pcicfg_find_cap(bdf, 0x09, c))) {
		uint8_t type = pcicfg_read8(bdf, c + 3), bar = pcicfg_read8(bdf, c + 4);
		uint32_t off = pcicfg_read32(bdf, c + 8), lo;
		uint64_t base;

		if (bar > 5 || type < 1 || type > 4)
			continue; /* e.g. the PCI configuration access capability */
		lo = pcicfg_read32(bdf, 0x10 + 4 * bar);
		if (lo & 1)
			continue; /* I/O BAR */
		base = lo & ~0xFu;
		if (((lo >> 1) & 3) == 2 && bar < 5)
			base |= (uint64_t)pcicfg_read32(bdf, 0x14 + 4 * bar) << 32;
		if (!base || base + off >= 0x100000000ull) {
			printf("bench: BAR%u at 0x%lx is not below 4 GiB\n", bar,
			       (unsigned long)base);
			return -1;
		}
		switch (type) {
		case 1: d->common = (uintptr_t)(base + off); break;
		case 2:
			d->notify_base = (uintptr_t)(base + off);
			d->notify_mult = pcicfg_read32(bdf, c + 16);
			break;
		case 3: d->isr = (uintptr_t)(base + off); break;
		case 4: d->devcfg = (uintptr_t)(base + off); d->bar = (uintptr_t)base; break;
		}
	}
	if (!d->common || !d->notify_base || !d->isr) {
		printf("bench: missing virtio capabilities\n");
		return -1;
	}
	pcicfg_write16(bdf, 0x04, (uint16_t)(pcicfg_read16(bdf, 0x04) | 0x6));
	return 0;
}

int bn_open(struct vd *d, uint16_t devid, uint64_t features, unsigned nq,
	    unsigned qsize)
{
	int bdf = vd_find(devid, 0);

	if (bdf < 0) {
		printf("bench: no virtio device %u\n", devid);
		return -1;
	}
	if (bn_probe(d, (uint32_t)bdf) || vd_init(d, features))
		return -1;
	for (unsigned i = 0; i < nq; i++) {
		if (vd_queue_setup(d, i, qsize))
			return -1;
		d->q[i].avail[0] = 1; /* VRING_AVAIL_F_NO_INTERRUPT: we poll */
	}
	vd_driver_ok(d);
	return 0;
}

static long bn_exit_pio(void *arg)
{
	uint16_t port = (uint16_t)vt_opt("port", BN_PIO_PORT);
	uint64_t end, t0 = bn_rdtsc(), t1, n = 0;

	end = t0 + bn_ticks_ms(bn.ms);
	do {
		for (unsigned i = 0; i < 64; i++)
			outb(port, (uint8_t)i);
		n += 64;
	} while ((t1 = bn_rdtsc()) < end);
	bn_report("exit-pio", n, t1 - t0, 0);
	return 0;
}

static long bn_exit_mmio(void *arg)
{
	uintptr_t a = (uintptr_t)bn_hex("addr", BN_MMIO_ADDR);
	uint64_t end, t0 = bn_rdtsc(), t1, n = 0;

	end = t0 + bn_ticks_ms(bn.ms);
	do {
		for (unsigned i = 0; i < 64; i++)
			mmio_write32(a, i);
		n += 64;
	} while ((t1 = bn_rdtsc()) < end);
	bn_report("exit-mmio", n, t1 - t0, 0);
	return 0;
}

static long bn_doorbell(void *arg)
{
	struct vd *d = vd_alloc(sizeof(*d), 64);
	uintptr_t a = (uintptr_t)bn_hex("db", 0);
	uint64_t end, t0, t1, n = 0;
	uint16_t v = 0;

	if (!a) {
		if (bn_open(d, VIRTIO_DEV_RNG, 0, 1, 16))
			return -1;
		a = d->q[0].notify;
		v = d->q[0].index;
	}
	t0 = bn_rdtsc();
	end = t0 + bn_ticks_ms(bn.ms);
	do {
		for (unsigned i = 0; i < 64; i++)
			*(volatile uint16_t *)a = v;
		n += 64;
	} while ((t1 = bn_rdtsc()) < end);
	bn_report("doorbell", n, t1 - t0, 0);
	return 0;
}

static long bn_idle(void *arg)
{
	printf("BENCH ready\n");
	for (;;)
		cpu_pause();
	return 0;
}

static const struct {
	const char *name;
	long (*fn)(void *);
} bn_progs[] = {
	{ "exit-pio", bn_exit_pio },
	{ "exit-mmio", bn_exit_mmio },
	{ "doorbell", bn_doorbell },
	{ "blk", bn_blk },
	{ "net", bn_net },
	{ "idle", bn_idle },
};

static __attribute__((noreturn)) void bn_poweroff(void)
{
	outb(BN_EXIT_PORT, 0); /* QEMU isa-debug-exit, floor program */
	if (bn.acpi)
		power_s5();
	halt_forever();
}

void guest64_main(void)
{
	char name[32];

	if (cmdline_get("bench", name, sizeof(name)) || !name[0])
		guest_main();
	bn.tsc_khz = vt_opt("tsc_khz", 0);
	bn.ms = vt_opt("ms", 1000);
	if (!bn.tsc_khz) {
		printf("FAIL: bench needs tsc_khz=N\n");
		bn_poweroff();
	}
	bn.acpi = !vt_opt("noacpi", 0) && acpi_init() == 0;
	/* Firmware (QEMU's SeaBIOS) may leave the PIT ticking into a PIC at
	 * vectors 8..15: remap and mask it; ring 3 runs with interrupts on. */
	pic_init_masked();
	for (size_t i = 0; i < sizeof(bn_progs) / sizeof(bn_progs[0]); i++)
		if (!strcmp(name, bn_progs[i].name)) {
			long r = user_call(bn_progs[i].fn, NULL);

			printf(r ? "FAIL: bench %s (%ld)\n" : "BENCH done %s (%ld)\n", name, r);
			bn_poweroff();
		}
	printf("FAIL: unknown bench %s\n", name);
	bn_poweroff();
}
