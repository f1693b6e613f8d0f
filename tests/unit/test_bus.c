/* Bus dispatch, event loop timers, guest memory bounds, PCI config space. */
#include <errno.h>
#include <unistd.h>

#include "lhyve/bus.h"
#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"
#include "unit.h"

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
	struct pci_bus *pb = pci_bus_new();
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
	CHECK_EQ(pci_cfg_read(pb, 0, 0, 0, 254, 4), 0xFFFFFFFF);
	pci_cfg_write(pb, 0, 0, 0, 255, 4, 1);
	/* Bad override */
	CHECK_EQ(config_set(c, "pci.0.3.0.pcireg.vendor", "0x12345"), 0);
	CHECK_EQ(pci_bus_add(pb, 0, 3, 0, pci_model_find("hostbridge"), c, "pci.0.3.0", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "pcireg.vendor") != NULL);
	pci_bus_free(pb);
	config_free(c);
}

int main(void)
{
	RUN(test_bus_ranges);
	RUN(test_guest_mem);
	RUN(test_evloop_timer);
	RUN(test_pci_cfg);
	return unit_report();
}
