/* Bus dispatch, event loop timers, guest memory bounds, PCI config space. */
#include <errno.h>
#include <unistd.h>

#include "lhyve/bus.h"
#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"
#include "unit.h"
#include "fakes.h"

struct rec {
	uint64_t off;
	unsigned size;
	int writes;
	uint64_t last;
};

static int rec_fn(void *dev, uint64_t off, unsigned size, bool write, uint64_t *data)
{
	struct rec *r = dev;
	r->off = off;
	r->size = size;
	if (write) {
		r->writes++;
		r->last = *data;
	} else {
		*data = 0x1234;
	}
	return 0;
}

static void test_bus_ranges(void)
{
	struct bus b;
	struct rec r1 = { 0 }, r2 = { 0 };
	uint64_t d;

	CHECK_EQ(bus_init(&b, "t"), 0);
	CHECK_EQ(bus_register(&b, 0x100, 8, rec_fn, &r1, "a"), 0);
	CHECK_EQ(bus_register(&b, 0x104, 8, rec_fn, &r2, "b"), -EBUSY);
	CHECK_EQ(bus_register(&b, 0xF8, 9, rec_fn, &r2, "b"), -EBUSY);
	CHECK_EQ(bus_register(&b, 0x108, 8, rec_fn, &r2, "b"), 0);
	CHECK_EQ(bus_register(&b, 0x0, 0, rec_fn, &r2, "z"), -EINVAL);
	CHECK_EQ(bus_register(&b, ~0ULL, 2, rec_fn, &r2, "w"), -EINVAL);
	d = 7;
	CHECK_EQ(bus_access(&b, 0x10A, 2, true, &d), 0);
	CHECK_EQ(r2.off, 2);
	CHECK_EQ(r2.last, 7);
	CHECK_EQ(bus_access(&b, 0x103, 1, false, &d), 0);
	CHECK_EQ(d, 0x1234);
	CHECK_EQ(r1.off, 3);
	/* Straddling the end of a range, and a hole: unhandled, reads all ones. */
	CHECK_EQ(bus_access(&b, 0x106, 4, false, &d), -ENOENT);
	CHECK_EQ(d, 0xFFFFFFFF);
	CHECK_EQ(bus_access(&b, 0x200, 1, false, &d), -ENOENT);
	CHECK_EQ(d, 0xFF);
	CHECK_EQ(bus_access(&b, 0x200, 8, false, &d), -ENOENT);
	CHECK_EQ(d, ~0ULL);
	CHECK_EQ(bus_unregister(&b, 0x100, &r2), -ENOENT);
	CHECK_EQ(bus_unregister(&b, 0x100, &r1), 0);
	CHECK_EQ(bus_access(&b, 0x100, 1, false, &d), -ENOENT);
	bus_destroy(&b);
}

static void test_guest_mem(void)
{
	struct guest_mem gm;
	uint64_t lo, hi;

	CHECK_EQ(fake_gm_init(&gm, 1 << 20, 1 << 16), 0);
	CHECK(gm_ptr(&gm, 0, 1 << 20) != NULL);
	CHECK(gm_ptr(&gm, 1, 1 << 20) == NULL);
	CHECK(gm_ptr(&gm, (1 << 20) - 1, 1) != NULL);
	CHECK(gm_ptr(&gm, 1 << 20, 1) == NULL);
	CHECK(gm_ptr(&gm, ~0ULL, 2) == NULL);
	CHECK(gm_ptr(&gm, 16, ~0ULL) == NULL);
	CHECK(gm_ptr(&gm, GM_HIGHMEM_BASE + 100, 10) != NULL);
	CHECK(gm_ptr(&gm, GM_HIGHMEM_BASE - 1, 2) == NULL);
	CHECK_EQ(gm_write(&gm, GM_HIGHMEM_BASE + (1 << 16) - 4, "abcd", 4), 0);
	CHECK_EQ(gm_write(&gm, GM_HIGHMEM_BASE + (1 << 16) - 3, "abcd", 4), -EFAULT);
	fake_gm_free(&gm);
	gm_layout(256 * MiB, &lo, &hi);
	CHECK_EQ(lo, 256 * MiB);
	CHECK_EQ(hi, 0);
	gm_layout(5 * GiB, &lo, &hi);
	CHECK_EQ(lo, 3 * GiB);
	CHECK_EQ(hi, 2 * GiB);
}

static void tick(void *opaque) { (*(int *)opaque)++; }

static void test_evloop_timer(void)
{
	struct evloop *l = evloop_new();
	int n = 0;
	struct ev_timer *t;

	CHECK(l != NULL);
	t = ev_timer_new(l, tick, &n);
	CHECK(t != NULL);
	CHECK_EQ(ev_timer_arm(t, 1000000, 1000000), 0);
	for (int i = 0; i < 1000 && n < 3; i++)
		evloop_run_once(l, 100);
	CHECK(n >= 3);
	CHECK_EQ(ev_timer_arm(t, 0, 0), 0);
	ev_timer_free(t);
	evloop_stop(l);
	CHECK_EQ(evloop_run(l), 0); /* already stopped: returns at once */
	evloop_free(l);
}

static void test_pci_cfg(void)
{
	struct config *c = config_new();
	struct pci_bus *pb = pci_bus_new(NULL);
	char err[256];
	uint64_t d;

	CHECK_EQ(config_set(c, "pci.0.0.0.pcireg.device", "0xabcd"), 0);
	CHECK_EQ(pci_bus_add(pb, 0, 0, 0, pci_model_find("hostbridge"), c, "pci.0.0.0", err, sizeof(err)), 0);
	CHECK_EQ(pci_bus_add(pb, 0, 31, 0, pci_model_find("lpc"), c, "pci.0.31.0", err, sizeof(err)), 0);
	CHECK_EQ(pci_bus_add(pb, 0, 30, 0, pci_model_find("lpc"), c, "pci.0.30.0", err, sizeof(err)), -EINVAL);
	CHECK_EQ(pci_bus_add(pb, 1, 2, 0, pci_model_find("hostbridge"), c, "pci.1.2.0", err, sizeof(err)), 0);
	CHECK_EQ(pci_bus_add(pb, 1, 2, 0, pci_model_find("hostbridge"), c, "pci.1.2.0", err, sizeof(err)), -EBUSY);
	CHECK_EQ(pci_bus_add(pb, 1, 2, 3, pci_model_find("amd_hostbridge"), c, "pci.1.2.3", err, sizeof(err)), 0);
	CHECK(pci_bus_has_model(pb, "lpc"));
	/* IDs through mechanism #1 */
	d = 0x80000000u;
	pci_cfgaddr_io(pb, 0, 4, true, &d);
	pci_cfgdata_io(pb, 0, 4, false, &d);
	CHECK_EQ(d, 0xabcd1275);
	d = 0x8000F800u | 0x08; /* 0:31.0 class */
	pci_cfgaddr_io(pb, 0, 4, true, &d);
	pci_cfgdata_io(pb, 3, 1, false, &d);
	CHECK_EQ(d, 0x06);
	pci_cfgdata_io(pb, 2, 1, false, &d);
	CHECK_EQ(d, 0x01);
	/* Absent function: all ones. Enable bit clear: all ones. */
	CHECK_EQ(pci_cfg_read(pb, 0, 5, 0, 0, 4), 0xFFFFFFFF);
	CHECK_EQ(pci_cfg_read(pb, 0, 5, 0, 0, 2), 0xFFFF);
	d = 0x00000000u;
	pci_cfgaddr_io(pb, 0, 4, true, &d);
	d = 0;
	pci_cfgdata_io(pb, 0, 4, false, &d);
	CHECK_EQ(d, 0); /* handler leaves the bus's all-ones preset alone */
	/* Multi-function bit on 1:2.0 */
	CHECK_EQ(pci_cfg_read(pb, 1, 2, 0, 0x0E, 1) & 0x80, 0x80);
	CHECK_EQ(pci_cfg_read(pb, 0, 0, 0, 0x0E, 1) & 0x80, 0);
	/* Read-only IDs; writable command bits only. */
	pci_cfg_write(pb, 0, 0, 0, 0, 4, 0);
	CHECK_EQ(pci_cfg_read(pb, 0, 0, 0, 0, 2), 0x1275);
	pci_cfg_write(pb, 0, 0, 0, 4, 2, 0xFFFF);
	CHECK_EQ(pci_cfg_read(pb, 0, 0, 0, 4, 2), 0x0547);
	/* Out-of-range registers are harmless. */
	CHECK_EQ(pci_cfg_read(pb, 0, 0, 0, 254, 4), 0); /* reaches extended space: reads 0 */
	pci_cfg_write(pb, 0, 0, 0, 255, 4, 1);
	/* Bad override */
	CHECK_EQ(config_set(c, "pci.0.3.0.pcireg.vendor", "0x12345"), 0);
	CHECK_EQ(pci_bus_add(pb, 0, 3, 0, pci_model_find("hostbridge"), c, "pci.0.3.0", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "pcireg.vendor") != NULL);
	pci_bus_free(pb);
	config_free(c);
}

/* A fake model with BARs, MSI-X and INTx over a fake host. */
static int bar_fn(void *dev, uint64_t off, unsigned size, bool write, uint64_t *data)
{
	struct pci_dev *d = dev;
	if (off >= 0x1000)
		return pci_msix_io(d, off, size, write, data);
	if (!write)
		*data = 0x55;
	return 0;
}

static int fake_init(struct pci_dev *d, const struct pci_host *h, struct config *c,
		     const char *node, char *err, size_t errlen)
{
	pci_set_ids(d, 0x1af4, 0x1041, 0x02, 0x00, 0, 1);
	if (pci_add_bar(d, 0, PCI_BAR_MEM32, 0x2000, bar_fn, d) ||
	    pci_add_bar(d, 2, PCI_BAR_MEM64, 0x4000, bar_fn, d) ||
	    pci_add_bar(d, 4, PCI_BAR_IO, 0x20, bar_fn, d) ||
	    pci_add_msix(d, 3, 0, 0x1000, 0x1800) || pci_add_intx(d))
		return -EINVAL;
	CHECK_EQ(pci_add_bar(d, 5, PCI_BAR_MEM64, 0x1000, bar_fn, d), -EINVAL);
	CHECK_EQ(pci_add_bar(d, 1, PCI_BAR_MEM32, 0x1001, bar_fn, d), -EINVAL);
	return 0;
}

static const struct pci_model fake_model = { .name = "fake", .init = fake_init };

static void test_pci_bars_msix(void)
{
	struct fake_irq fi;
	struct irq_chip chip;
	struct bus pio, mmio;
	struct pci_host host = { .pio = &pio, .mmio = &mmio, .irq = &chip };
	struct pci_bus *pb;
	struct config *c = config_new();
	char err[256];
	uint64_t d;

	fake_irq_init(&fi, &chip);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pb = pci_bus_new(&host);
	CHECK_EQ(pci_bus_add(pb, 0, 4, 0, &fake_model, c, "pci.0.4.0", err, sizeof(err)), 0);
	CHECK_EQ(pci_bus_assign(pb, 4 * GiB, err, sizeof(err)), 0);
	/* Placement */
	uint32_t b0 = pci_cfg_read(pb, 0, 4, 0, 0x10, 4);
	CHECK_EQ(b0, 0xC0000000);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x18, 4), 0x4);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x1C, 4), 0x1);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x20, 4), 0x2001);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x3C, 1), pci_intx_gsi(4, 1));
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x3D, 1), 1);
	/* Not decoded until the command register enables it. */
	CHECK_EQ(bus_access(&mmio, 0xC0000000, 4, false, &d), -ENOENT);
	pci_cfg_write(pb, 0, 4, 0, 0x04, 2, 0x3);
	CHECK_EQ(bus_access(&mmio, 0xC0000000, 4, false, &d), 0);
	CHECK_EQ(d, 0x55);
	CHECK_EQ(bus_access(&mmio, 0x100000000ULL, 4, false, &d), 0);
	CHECK_EQ(bus_access(&pio, 0x2000, 1, false, &d), 0);
	/* Sizing: all ones reads back the size mask, and is not decoded. */
	pci_cfg_write(pb, 0, 4, 0, 0x10, 4, 0xFFFFFFFF);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x10, 4), 0xFFFFE000);
	CHECK_EQ(bus_access(&mmio, 0xC0000000, 4, false, &d), -ENOENT);
	CHECK_EQ(bus_access(&mmio, 0xFFFFE000, 4, false, &d), -ENOENT);
	/* Move the BAR */
	pci_cfg_write(pb, 0, 4, 0, 0x10, 4, 0xD0000000);
	CHECK_EQ(bus_access(&mmio, 0xD0000000, 4, false, &d), 0);
	/* Memory decode off unmaps. */
	pci_cfg_write(pb, 0, 4, 0, 0x04, 2, 0x1);
	CHECK_EQ(bus_access(&mmio, 0xD0000000, 4, false, &d), -ENOENT);
	CHECK_EQ(bus_access(&pio, 0x2000, 1, false, &d), 0);
	pci_cfg_write(pb, 0, 4, 0, 0x04, 2, 0x3);
	/* INTx before MSI-X is enabled. */
	struct pci_dev *dev = NULL;
	CHECK(!pci_signal(dev = (struct pci_dev *)((struct bus_range *)mmio.ranges)[0].dev, 0));
	pci_intx_set(dev, true);
	CHECK_EQ(fi.level[pci_intx_gsi(4, 1)], 1);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, 0x06, 2) & 0x8, 0x8);
	pci_cfg_write(pb, 0, 4, 0, 0x04, 2, 0x403); /* INTx disable */
	CHECK_EQ(fi.level[pci_intx_gsi(4, 1)], 0);
	pci_intx_set(dev, false);
	/* MSI-X: program vector 1, enable, masked -> pending, unmask -> delivered. */
	unsigned cap = pci_cfg_read(pb, 0, 4, 0, 0x34, 1);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, cap, 1), 0x11);
	CHECK_EQ(pci_cfg_read(pb, 0, 4, 0, cap + 2, 2) & 0x7FF, 2);
	d = 0xFEE00000;
	bus_access(&mmio, 0xD0000000 + 0x1000 + 16, 4, true, &d);
	d = 0x41;
	bus_access(&mmio, 0xD0000000 + 0x1000 + 24, 4, true, &d);
	pci_cfg_write(pb, 0, 4, 0, cap + 2, 2, 0x8000);
	CHECK(pci_msix_enabled(dev));
	CHECK(pci_signal(dev, 1));
	CHECK_EQ(fi.msis, 0);
	bus_access(&mmio, 0xD0000000 + 0x1800, 8, false, &d);
	CHECK_EQ(d, 0x2);
	d = 0;
	bus_access(&mmio, 0xD0000000 + 0x1000 + 28, 4, true, &d); /* unmask */
	CHECK_EQ(fi.msis, 1);
	CHECK_EQ(fi.addr, 0xFEE00000);
	CHECK_EQ(fi.data, 0x41);
	CHECK(pci_signal(dev, 1));
	CHECK_EQ(fi.msis, 2);
	CHECK(pci_signal(dev, 7)); /* out of range: ignored */
	CHECK_EQ(fi.msis, 2);
	/* Function mask */
	pci_cfg_write(pb, 0, 4, 0, cap + 2, 2, 0xC000);
	CHECK(pci_signal(dev, 1));
	CHECK_EQ(fi.msis, 2);
	pci_cfg_write(pb, 0, 4, 0, cap + 2, 2, 0x8000);
	CHECK_EQ(fi.msis, 3);
	/* Odd-sized MSI-X accesses are ignored. */
	d = 0xFF;
	CHECK_EQ(bus_access(&mmio, 0xD0000000 + 0x1000 + 28, 1, true, &d), 0);
	/* ECAM reaches the same config space. */
	CHECK_EQ(pci_ecam_io(pb, (4u << 15) | 0, 4, false, &d), 0);
	CHECK_EQ(d, 0x10411af4);
	CHECK_EQ(pci_ecam_io(pb, (4u << 15) | 0x100, 4, false, &d), 0);
	CHECK_EQ(d, 0);
	pci_bus_free(pb);
	CHECK_EQ(mmio.n, 0);
	CHECK_EQ(pio.n, 0);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	config_free(c);
}

int main(void)
{
	RUN(test_pci_bars_msix);
	RUN(test_bus_ranges);
	RUN(test_guest_mem);
	RUN(test_evloop_timer);
	RUN(test_pci_cfg);
	return unit_report();
}
