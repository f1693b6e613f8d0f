/*
 * Interrupt controllers with KVM's split irqchip (KVM_CAP_SPLIT_IRQCHIP):
 * the local APICs are in the kernel, the 8259 pair (hw/pic.c) and the
 * IOAPIC (hw/ioapic.c) are userspace models, like the 8254 PIT (hw/pit.c).
 * Wiring as the ACPI/MP tables describe it: ISA IRQ n -> PIC pin n and
 * IOAPIC pin n, except the PIT's IRQ 0, which reaches IOAPIC pin 2
 * (interrupt source override); PCI INTx on IOAPIC pins 16-23. The IOAPIC
 * sends its interrupts as MSIs (KVM_SIGNAL_MSI); the PIC's output is
 * injected into the boot vCPU with KVM_INTERRUPT (vcpu.c).
 *
 * Why not KVM_CREATE_IRQCHIP/KVM_CREATE_PIT2: destroying a VM with KVM's
 * in-kernel PIT waits for SRCU grace periods (~14 ms on a HZ=250 host),
 * and one with the in-kernel PIC/IOAPIC younger than ~20 ms waits for the
 * grace period their I/O-bus registration left pending (several ms); with
 * the split irqchip closing the VM takes ~0.2 ms.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lhyve/ioapic.h"
#include "lhyve/log.h"
#include "lhyve/pic.h"
#include "lhyve/vm.h"
#include "lhyve/x86_platform.h"

/* Routes of the IOAPIC pins (GSI = pin) as KVM should know them. */
struct irq_routes {
	bool valid[IOAPIC_PINS];
	uint64_t addr[IOAPIC_PINS];
	uint32_t data[IOAPIC_PINS];
};

static int kvm_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};

	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

/*
 * A device line: ISA IRQs 0-15 reach the 8259 pair (IRQ 2 is its cascade)
 * and the IOAPIC, where IRQ 0 (the PIT) is pin 2 (the MADT's interrupt
 * source override); GSIs 16-23 (PCI INTx) reach the IOAPIC only.
 */
static int split_set_line(void *opaque, unsigned gsi, bool level)
{
	struct vm *vm = opaque;

	if (gsi == 2)
		return 0;
	if (gsi < 16 && vm->pic)
		pic_set_irq(vm->pic, gsi, level);
	if (vm->ioapic)
		ioapic_set_irq(vm->ioapic, gsi == 0 ? 2 : gsi, level);
	return 0;
}

static const struct irq_chip_ops split_irq_ops = {
	.set_line = split_set_line,
	.msi = kvm_msi,
};

static void ioapic_msi_cb(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	int rc = kvm_msi(vm, addr, data);

	if (rc < 0)
		log_debug("IOAPIC interrupt 0x%llx/0x%x: %s", (unsigned long long)addr, data,
			  strerror(-rc));
}

/*
 * A redirection entry changed (IOAPIC lock held, which serialises these).
 * KVM learns the unmasked entries as MSI routes: it scans the routes of the
 * first IOAPIC_PINS GSIs for level-triggered vectors, whose EOIs it then
 * reports with KVM_EXIT_IOAPIC_EOI. Delivery itself is KVM_SIGNAL_MSI.
 */
static void ioapic_route_cb(void *opaque, unsigned pin, bool valid, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct irq_routes *rt = vm->routes;
	struct kvm_irq_routing *r;
	unsigned n = 0;

	if (!rt || pin >= IOAPIC_PINS)
		return;
	if (rt->valid[pin] == valid && (!valid || (rt->addr[pin] == addr && rt->data[pin] == data)))
		return; /* nothing KVM needs to know (e.g. masked stays masked) */
	rt->valid[pin] = valid;
	rt->addr[pin] = addr;
	rt->data[pin] = data;
	r = calloc(1, sizeof(*r) + IOAPIC_PINS * sizeof(r->entries[0]));
	if (!r)
		return;
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		if (!rt->valid[i])
			continue;
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = i, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)rt->addr[i],
				   .address_hi = (uint32_t)(rt->addr[i] >> 32), .data = rt->data[i] },
		};
	}
	r->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		log_warn("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	free(r);
}

static const struct ioapic_ops vm_ioapic_ops = {
	.msi = ioapic_msi_cb,
	.route = ioapic_route_cb,
};

/* The 8259 pair's INTR rose: the boot vCPU injects it between runs. */
static void pic_intr_cb(void *opaque, bool level)
{
	struct vm *vm = opaque;

	if (level && vm->vcpus && vm->ncpus)
		vcpu_kick(&vm->vcpus[0]);
}

static const struct pic_ops vm_pic_ops = {
	.intr = pic_intr_cb,
};

int irq_setup(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS } };

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		snprintf(err, errlen, "KVM_CAP_SPLIT_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	vm->irqchip = (struct irq_chip){ &split_irq_ops, vm };
	return 0;
}

int irq_chips_init(struct vm *vm, char *err, size_t errlen)
{
	vm->routes = calloc(1, sizeof(*vm->routes));
	vm->pic = pic_new(&vm_pic_ops, vm);
	/* The ID the MADT and MP table give it (bhyve: the number of vCPUs). */
	vm->ioapic = ioapic_new(&vm_ioapic_ops, vm, (uint8_t)vm->ncpus);
	if (!vm->routes || !vm->pic || !vm->ioapic) {
		irq_fini(vm);
		snprintf(err, errlen, "cannot create the interrupt controllers: out of memory");
		return -ENOMEM;
	}
	return 0;
}

void irq_fini(struct vm *vm)
{
	ioapic_free(vm->ioapic);
	pic_free(vm->pic);
	free(vm->routes);
	vm->ioapic = NULL;
	vm->pic = NULL;
	vm->routes = NULL;
}

int vm_ioeventfd(void *opaque, uint64_t addr, unsigned len, bool pio, int fd, bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
		.addr = addr, .len = len, .fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}
