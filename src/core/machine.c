/*
 * The explicit init sequence of the platform: chips on the PIO bus, PCI
 * functions from the pci.B.S.F nodes, COM ports behind the LPC bridge,
 * firmware tables, then the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lhyve/chardev.h"
#include "lhyve/config.h"
#include "lhyve/hw.h"
#include "lhyve/ioapic.h"
#include "lhyve/log.h"
#include "lhyve/pci.h"
#include "lhyve/pic.h"
#include "lhyve/vm.h"
#include "lhyve/x86_platform.h"

static int reg_pio(struct vm *vm, uint64_t base, uint64_t len, bus_fn fn, void *dev,
		   const char *name, char *err, size_t errlen)
{
	int rc = bus_register(&vm->pio, base, len, fn, dev, name);
	if (rc < 0)
		snprintf(err, errlen, "cannot register %s at port 0x%llx: %s", name,
			 (unsigned long long)base, strerror(-rc));
	return rc;
}

struct pci_walk {
	struct vm *vm;
	char *err;
	size_t errlen;
	char node[64];
	unsigned depth, bdf[3];
};

static int parse_num(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int pci_walk_cb(void *opaque, const char *name)
{
	static const unsigned max[3] = { 255, 31, 7 };
	struct pci_walk *w = opaque;
	char saved[64];
	int rc;

	if (parse_num(name, max[w->depth], &w->bdf[w->depth]) < 0) {
		snprintf(w->err, w->errlen, "invalid PCI address component '%s' in %s.%s",
			 name, w->node, name);
		return -EINVAL;
	}
	memcpy(saved, w->node, sizeof(saved));
	snprintf(w->node + strlen(w->node), sizeof(w->node) - strlen(w->node), ".%s", name);
	if (w->depth < 2) {
		w->depth++;
		rc = config_foreach_child(w->vm->cfg, w->node, pci_walk_cb, w);
		w->depth--;
	} else {
		char key[80];
		const char *dev;
		const struct pci_model *m;
		snprintf(key, sizeof(key), "%s.device", w->node);
		dev = config_get(w->vm->cfg, key);
		if (!dev) {
			rc = 0; /* node without device: nothing there */
		} else if (!(m = pci_model_find(dev))) {
			snprintf(w->err, w->errlen, "pci slot %u:%u:%u: unknown device \"%s\"",
				 w->bdf[0], w->bdf[1], w->bdf[2], dev);
			rc = -EINVAL;
		} else {
			rc = pci_bus_add(w->vm->pci, w->bdf[0], w->bdf[1], w->bdf[2], m,
					 w->vm->cfg, w->node, w->err, w->errlen);
		}
	}
	memcpy(w->node, saved, sizeof(saved));
	return rc;
}

/*
 * Ports 0xCF8-0xCFB: a dword access is the PCI configuration address
 * register; a byte access to 0xCF9 is the reset control register.
 */
static int cf8_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct vm *vm = opaque;

	if (offset == PLAT_RESET_PORT - 0xCF8 && size == 1)
		return pm_reset_io(vm->pm, 0, size, write, data);
	return pci_cfgaddr_io(vm->pci, offset, size, write, data);
}

static int setup_pci(struct vm *vm, char *err, size_t errlen)
{
	struct pci_walk w = { .vm = vm, .err = err, .errlen = errlen, .node = "pci" };
	int rc;

	bool msix = true;

	config_get_bool(vm->cfg, "virtio_msix", true, &msix);
	vm->pci_host = (struct pci_host){
		.pio = &vm->pio, .mmio = &vm->mmio, .irq = &vm->irqchip, .gm = &vm->mem,
		.loop = vm->loop, .vm_name = vm->name, .msix = msix,
		.ioeventfd = vm_ioeventfd, .opaque = vm,
	};
	vm->pci = pci_bus_new(&vm->pci_host);
	if (!vm->pci)
		return -ENOMEM;
	if (config_has(vm->cfg, "pci") &&
	    (rc = config_foreach_child(vm->cfg, "pci", pci_walk_cb, &w)) < 0)
		return rc;
	if ((rc = pci_bus_assign(vm->pci, GM_HIGHMEM_BASE + vm->mem.highmem, err, errlen)) < 0)
		return rc;
	if ((rc = bus_register(&vm->mmio, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, pci_ecam_io, vm->pci,
			       "pci-ecam")) < 0) {
		snprintf(err, errlen, "cannot register the ECAM window: %s", strerror(-rc));
		return rc;
	}
	if ((rc = reg_pio(vm, 0xCF8, 4, cf8_io, vm, "pci-cfgaddr", err, errlen)) < 0)
		return rc;
	return reg_pio(vm, 0xCFC, 4, pci_cfgdata_io, vm->pci, "pci-cfgdata", err, errlen);
}

static int setup_com(struct vm *vm, char *err, size_t errlen)
{
	bool lpc = pci_bus_has_model(vm->pci, "lpc");

	for (unsigned i = 0; i < 4; i++) {
		char key[32], cerr[256];
		static const char *const names[4] = { "com1", "com2", "com3", "com4" };
		const char *path;
		struct irq_line irq;

		snprintf(key, sizeof(key), "lpc.com%u.path", i + 1);
		path = config_get(vm->cfg, key);
		if (!path)
			continue;
		if (!lpc) {
			snprintf(err, errlen, "-l com%u needs an LPC bridge (add -s 31,lpc)", i + 1);
			return -EINVAL;
		}
		vm->com_cd[i] = chardev_open(path, vm->loop, cerr, sizeof(cerr));
		if (!vm->com_cd[i]) {
			snprintf(err, errlen, "com%u: %s", i + 1, cerr);
			return -EINVAL;
		}
		irq_line_init(&irq, &vm->irqchip, plat_com_irq[i]);
		vm->com[i] = uart_new(vm->com_cd[i], irq);
		if (!vm->com[i]) {
			snprintf(err, errlen, "com%u: out of memory", i + 1);
			return -ENOMEM;
		}
		int rc = reg_pio(vm, plat_com_port[i], 8, uart_io, vm->com[i], names[i],
				 err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The i8042 model takes offsets from 0x60; port 0x61 belongs to the PIT model. */
static int kbd_data_io(void *k, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	return i8042_io(k, offset, size, write, data);
}

static int kbd_cmd_io(void *k, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	return i8042_io(k, offset + (PLAT_I8042_CMD - PLAT_I8042_DATA), size, write, data);
}

static int setup_chips(struct vm *vm, char *err, size_t errlen)
{
	struct irq_line irq;
	struct rtc_params rp = { .lowmem = vm->mem.lowmem, .highmem = vm->mem.highmem };
	int rc;

	if ((rc = irq_chips_init(vm, err, errlen)) < 0)
		return rc;
	config_get_bool(vm->cfg, "rtc.use_localtime", true, &rp.localtime);
	irq_line_init(&irq, &vm->irqchip, PLAT_IRQ_RTC);
	vm->rtc = rtc_new(vm->loop, irq, &rp);
	irq_line_init(&irq, &vm->irqchip, PLAT_IRQ_PIT);
	vm->pit = pit_new(vm->loop, irq);
	irq_line_init(&irq, &vm->irqchip, PLAT_IRQ_SCI);
	vm->pm = pm_new(irq, &vm->power);
	vm->kbc = i8042_new(&vm->power);
	vm->post = post_new();
	if (!vm->rtc || !vm->pit || !vm->pm || !vm->kbc || !vm->post) {
		snprintf(err, errlen, "cannot create platform devices: out of memory");
		return -ENOMEM;
	}
	if ((rc = reg_pio(vm, PLAT_RTC, 2, rtc_io, vm->rtc, "rtc", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PIT, PLAT_PIT_LEN, pit_io, vm->pit, "pit", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_NMI_SC, 1, pit_port61_io, vm->pit, "nmi-sc", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_I8042_DATA, 1, kbd_data_io, vm->kbc, "i8042-data", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_I8042_CMD, 1, kbd_cmd_io, vm->kbc, "i8042-cmd", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_POST, 1, post_io, vm->post, "post", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_SMI_CMD, 1, pm_smi_io, vm->pm, "smi-cmd", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PM1A_EVT, PLAT_PM1A_EVT_LEN, pm_evt_io, vm->pm, "pm1a-evt", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PM1A_CNT, PLAT_PM1A_CNT_LEN, pm_cnt_io, vm->pm, "pm1a-cnt", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PM_TMR, PLAT_PM_TMR_LEN, pm_tmr_io, vm->pm, "pm-tmr", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_GPE0, PLAT_GPE0_LEN, pm_gpe_io, vm->pm, "gpe0", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PIC_MASTER, 2, pic_master_io, vm->pic, "pic-master", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_PIC_SLAVE, 2, pic_slave_io, vm->pic, "pic-slave", err, errlen)) < 0 ||
	    (rc = reg_pio(vm, PLAT_ELCR, 2, pic_elcr_io, vm->pic, "elcr", err, errlen)) < 0)
		return rc;
	rc = bus_register(&vm->mmio, PLAT_IOAPIC_BASE, PLAT_IOAPIC_LEN, ioapic_mmio, vm->ioapic,
			  "ioapic");
	if (rc < 0)
		snprintf(err, errlen, "cannot register the IOAPIC at 0x%llx: %s",
			 (unsigned long long)PLAT_IOAPIC_BASE, strerror(-rc));
	return rc;
}

/* Hash for the default UUID (stable per host name + VM name). */
static uint64_t fnv1a(const char *s, uint64_t h)
{
	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001B3ULL;
	}
	return h;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4122 text -> SMBIOS byte order (first three fields little-endian). */
static int parse_uuid(const char *s, uint8_t out[16])
{
	uint8_t b[16];
	unsigned n = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '-')
			continue;
		int hi = hexval(p[0]), lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || n >= 16)
			return -EINVAL;
		b[n++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	if (n != 16)
		return -EINVAL;
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (unsigned i = 0; i < 16; i++)
		out[i] = b[order[i]];
	return 0;
}

struct intx_list {
	struct mp_pci_irq irq[256];
	unsigned n;
};

static void collect_intx(void *opaque, struct pci_dev *d)
{
	struct intx_list *l = opaque;

	if (d->intx_pin && d->bus == 0 && l->n < ARRAY_SIZE(l->irq))
		l->irq[l->n++] = (struct mp_pci_irq){ (uint8_t)d->slot, (uint8_t)d->intx_pin };
}

static int setup_tables(struct vm *vm, char *err, size_t errlen)
{
	struct intx_list intx = { .n = 0 };
	struct smbios_params sp = { .ncpus = vm->ncpus, .ram_size = vm->ram_size };
	const char *uuid = config_get(vm->cfg, "uuid");
	int rc;

	e820_build(&vm->e820, vm->mem.lowmem, vm->mem.highmem);
	if ((rc = e820_add(&vm->e820, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, E820_RESERVED)) < 0) {
		snprintf(err, errlen, "cannot reserve the ECAM window in e820: %s", strerror(-rc));
		return rc;
	}
	pci_bus_foreach(vm->pci, collect_intx, &intx);
	if (vm->acpi) {
		struct acpi_params ap = {
			.ncpus = vm->ncpus, .x2apic = vm->x2apic,
			.lowmem = vm->mem.lowmem, .highmem = vm->mem.highmem,
			.pci = true,
		};
		pci_bus_mmio64_window(vm->pci, &ap.mmio64_base, &ap.mmio64_size);
		for (unsigned i = 0; i < 4; i++)
			if (vm->com[i])
				ap.com_mask |= 1u << i;
		if ((rc = acpi_build(&vm->mem, &ap, &vm->rsdp)) < 0) {
			snprintf(err, errlen, "cannot build ACPI tables: %s", strerror(-rc));
			return rc;
		}
	}
	if (vm->mptable && (rc = mptable_build(&vm->mem, vm->ncpus, intx.irq, intx.n)) < 0) {
		if (rc != -ENOSPC) {
			snprintf(err, errlen, "cannot build the MP table: %s", strerror(-rc));
			return rc;
		}
		log_warn("no MP table: %u vCPUs do not fit in it (ACPI describes them)", vm->ncpus);
	}
	if (uuid) {
		if (parse_uuid(uuid, sp.uuid) < 0) {
			snprintf(err, errlen, "invalid UUID '%s'", uuid);
			return -EINVAL;
		}
	} else {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		uint64_t a = fnv1a(vm->name, fnv1a(host, 0xCBF29CE484222325ULL));
		uint64_t b = fnv1a(host, fnv1a(vm->name, 0x84222325CBF29CE4ULL));
		memcpy(sp.uuid, &a, 8);
		memcpy(sp.uuid + 8, &b, 8);
		sp.uuid[7] = (uint8_t)((sp.uuid[7] & 0x0F) | 0x40); /* version 4 (LE field) */
		sp.uuid[8] = (uint8_t)((sp.uuid[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	}
#define S(field, key) sp.field = config_get(vm->cfg, key)
	S(bios_vendor, "bios.vendor");
	S(bios_version, "bios.version");
	S(bios_release_date, "bios.release_date");
	S(system_manufacturer, "system.manufacturer");
	S(system_product_name, "system.product_name");
	S(system_version, "system.version");
	S(system_serial_number, "system.serial_number");
	S(system_sku, "system.sku");
	S(system_family_name, "system.family_name");
	S(board_manufacturer, "board.manufacturer");
	S(board_product_name, "board.product_name");
	S(board_version, "board.version");
	S(board_serial_number, "board.serial_number");
	S(board_asset_tag, "board.asset_tag");
	S(board_location, "board.location");
	S(chassis_manufacturer, "chassis.manufacturer");
	S(chassis_version, "chassis.version");
	S(chassis_serial_number, "chassis.serial_number");
	S(chassis_asset_tag, "chassis.asset_tag");
	S(chassis_sku, "chassis.sku");
#undef S
	if ((rc = smbios_build(&vm->mem, &sp)) < 0) {
		snprintf(err, errlen, "cannot build SMBIOS tables: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static int setup_kernel(struct vm *vm, char *err, size_t errlen)
{
	struct boot_spec spec = {
		.kernel = config_get(vm->cfg, "boot.kernel"),
		.initrd = config_get(vm->cfg, "boot.initrd"),
		.cmdline = config_get(vm->cfg, "boot.cmdline"),
	};
	char lerr[512];
	int rc;

	if (!spec.kernel) {
		snprintf(err, errlen, "no kernel to boot: set boot.kernel (-o boot.kernel=PATH)");
		return -EINVAL;
	}
	rc = loader_load(&spec, &vm->mem, &vm->e820, vm->rsdp, &vm->boot, lerr, sizeof(lerr));
	if (rc < 0) {
		snprintf(err, errlen, "%s", lerr);
		return rc;
	}
	log_info("loaded %s %s, entry 0x%llx", vm->boot.format, spec.kernel,
		 (unsigned long long)vm->boot.entry);
	return 0;
}

int machine_init(struct vm *vm, char *err, size_t errlen)
{
	int rc;

	if ((rc = setup_chips(vm, err, errlen)) < 0 || (rc = setup_pci(vm, err, errlen)) < 0 ||
	    (rc = setup_com(vm, err, errlen)) < 0 || (rc = setup_tables(vm, err, errlen)) < 0 ||
	    (rc = setup_kernel(vm, err, errlen)) < 0)
		return rc;
	return 0;
}

void machine_fini(struct vm *vm)
{
	for (unsigned i = 0; i < 4; i++) {
		uart_free(vm->com[i]);
		vm->com[i] = NULL;
		if (vm->com_cd[i])
			chardev_close(vm->com_cd[i]);
		vm->com_cd[i] = NULL;
	}
	rtc_free(vm->rtc);
	pit_free(vm->pit);
	pm_free(vm->pm);
	i8042_free(vm->kbc);
	post_free(vm->post);
	pci_bus_free(vm->pci);
	vm->rtc = NULL;
	vm->pit = NULL;
	vm->pm = NULL;
	vm->kbc = NULL;
	vm->post = NULL;
	vm->pci = NULL;
}
