/*
 * In-kernel interrupt controllers: 8259 pair + IOAPIC (KVM_CREATE_IRQCHIP),
 * and the GSI routing the ACPI/MP tables describe: ISA IRQ n -> PIC pin n
 * and IOAPIC pin n, except the PIT's IRQ 0, which reaches IOAPIC pin 2
 * (interrupt source override).
 *
 * The 8254 PIT is a userspace model (hw/pit.c), not KVM_CREATE_PIT2: KVM's
 * PIT makes destroying the VM wait for SRCU grace periods (unregistering
 * its reinjection notifiers at teardown: about 14 ms on a HZ=250 host),
 * which dominated the time from guest power-off to process exit.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lhyve/log.h"
#include "lhyve/vm.h"
#include "lhyve/x86_platform.h"

static int kvm_set_line(void *opaque, unsigned gsi, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

static int kvm_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};

	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

static const struct irq_chip_ops kvm_irq_ops = {
	.set_line = kvm_set_line,
	.msi = kvm_msi,
};

static int set_routing(struct vm *vm)
{
	unsigned n = 0, max = 16 + PLAT_NUM_IOAPIC_PINS;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	int rc = 0;

	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < 16; i++) {
		if (i == 2)
			continue; /* cascade */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				       .pin = i % 8 },
		};
	}
	for (unsigned i = 0; i < PLAT_NUM_IOAPIC_PINS; i++) {
		if (i == 2)
			continue; /* pin 2 is fed by GSI 0 (the PIT) */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = i == 0 ? 2 : i },
		};
	}
	r->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		rc = -errno;
	free(r);
	return rc;
}

int irq_setup(struct vm *vm, char *err, size_t errlen)
{
	int rc;

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if ((rc = set_routing(vm)) < 0) {
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-rc));
		return rc;
	}
	vm->irqchip = (struct irq_chip){ &kvm_irq_ops, vm };
	return 0;
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
