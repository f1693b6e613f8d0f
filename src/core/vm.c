/* KVM VM creation, guest RAM, stop requests. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/vm.h"

#define KVM_TSS_ADDR 0xFFFBD000ULL
#define KVM_IDMAP_ADDR 0xFFFBC000ULL

static void vm_power_request(void *opaque, enum vm_exitcode why)
{
	vm_request_stop(opaque, (int)why);
}

void vm_request_stop(struct vm *vm, int exit_code)
{
	bool first;

	pthread_mutex_lock(&vm->stop_lock);
	first = !vm->stopping;
	if (first) {
		__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
		vm->exit_code = exit_code;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (!first)
		return;
	log_debug("stop requested, exit status %d", exit_code);
	vcpu_kick_all(vm);
	if (vm->loop)
		evloop_stop(vm->loop);
}

static int map_ram(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
		   bool in_core, bool wired, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region r;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(size >> 20), strerror(errno));
		return -ENOMEM;
	}
	if (!in_core)
		madvise(p, size, MADV_DONTDUMP);
	madvise(p, size, MADV_HUGEPAGE);
	if (wired && mlock(p, size) < 0) {
		snprintf(err, errlen, "cannot wire guest memory (-S): %s", strerror(errno));
		munmap(p, size);
		return -errno;
	}
	r = (struct kvm_userspace_memory_region){
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		munmap(p, size);
		return -errno;
	}
	vm->mem.region[vm->mem.nregions++] = (struct gm_region){ gpa, size, p };
	return 0;
}

int vm_create(struct vm *vm, struct config *cfg, char *err, size_t errlen)
{
	uint64_t v;
	bool in_core = false, wired = false;
	int rc, api;

	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->sigfd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->power = (struct power_sink){ vm_power_request, vm };

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "/dev/kvm: %s (run as root or join the group owning /dev/kvm)", strerror(e));
		else if (e == ENOENT)
			snprintf(err, errlen, "/dev/kvm: no such device (is the kvm module loaded and virtualization enabled?)");
		else
			snprintf(err, errlen, "/dev/kvm: %s", strerror(e));
		return -e;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: unsupported KVM API version %d", api);
		return -EINVAL;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		snprintf(err, errlen,
			 "/dev/kvm: the in-kernel local APIC (split irqchip) or user memory is not supported");
		return -ENOTSUP;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EINVAL;
	}
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
		snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	v = KVM_IDMAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &v) < 0) {
		snprintf(err, errlen, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -errno;
	}

	/* Unknown MSRs come to userspace: #GP (x86.strictmsr) or ignored (-w). */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN };
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		log_warn("this host's KVM cannot pass unknown MSR accesses to userspace: "
			 "they raise #GP whatever -w says");

	/* Guest RAM. */
	if ((rc = config_get_memsize(cfg, "memory.size", 256 * MiB, &vm->ram_size)) < 0) {
		snprintf(err, errlen, "invalid memory size '%s'", config_get(cfg, "memory.size"));
		return rc;
	}
	if (vm->ram_size < 2 * MiB || vm->ram_size % (4 * KiB)) {
		snprintf(err, errlen, "invalid memory size %llu bytes (at least 2 MiB, a multiple of 4 KiB)",
			 (unsigned long long)vm->ram_size);
		return -EINVAL;
	}
	config_get_bool(cfg, "memory.guest_in_core", false, &in_core);
	config_get_bool(cfg, "memory.wired", false, &wired);
	gm_layout(vm->ram_size, &vm->mem.lowmem, &vm->mem.highmem);
	if ((rc = map_ram(vm, 0, 0, vm->mem.lowmem, in_core, wired, err, errlen)) < 0)
		return rc;
	if (vm->mem.highmem &&
	    (rc = map_ram(vm, 1, GM_HIGHMEM_BASE, vm->mem.highmem, in_core, wired, err, errlen)) < 0)
		return rc;

	if ((rc = bus_init(&vm->pio, "pio")) < 0 || (rc = bus_init(&vm->mmio, "mmio")) < 0) {
		snprintf(err, errlen, "bus init: %s", strerror(-rc));
		return rc;
	}
	vm->loop = evloop_new();
	if (!vm->loop) {
		snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
		return -ENOMEM;
	}
	return irq_setup(vm, err, errlen);
}

/*
 * Delete the guest RAM slots (no vCPU runs any more). Besides the order
 * (the slots go before their memory), this makes process exit faster: KVM
 * frees the device tables it replaced at setup (KVM_CREATE_IRQCHIP, ioeventfds)
 * after a normal SRCU grace period, and closing a VM younger than that
 * (~15 ms on a HZ=250 host) waits for it; a slot deletion asks for an
 * expedited one, which ends it within a few milliseconds.
 */
/* Slot i holds region i (map_ram in vm_create). */
static void vm_delete_slots(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions && vm->vm_fd >= 0; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i, .guest_phys_addr = vm->mem.region[i].gpa, .memory_size = 0,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.region[i].hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			log_debug("deleting memory slot %u: %s", i, strerror(errno));
	}
}

void vm_destroy(struct vm *vm)
{
	vm_delete_slots(vm);
	irq_fini(vm);
	for (unsigned i = 0; i < vm->mem.nregions; i++)
		munmap(vm->mem.region[i].hva, vm->mem.region[i].size);
	vm->mem.nregions = 0;
	if (vm->loop)
		evloop_free(vm->loop);
	vm->loop = NULL;
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	if (vm->pio.ranges || vm->pio.cap)
		bus_destroy(&vm->pio);
	if (vm->mmio.ranges || vm->mmio.cap)
		bus_destroy(&vm->mmio);
}
