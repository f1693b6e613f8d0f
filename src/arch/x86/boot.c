/*
 * Initial register state of the boot vCPU for direct kernel boot, from the
 * loader's boot_info: a flat GDT at PLAT_GDT_ADDR (0x10 code, 0x18 data,
 * 0x20 TSS, as the Linux and PVH boot protocols expect) and, for 64-bit
 * entry, identity page tables for the low 4 GiB at PLAT_PML4.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lhyve/log.h"
#include "lhyve/vm.h"
#include "lhyve/x86_platform.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10)
#define APIC_BASE_EN (1ULL << 11)

static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint16_t flags)
{
	/* flags: bits 0-7 access byte, bits 12-15 G/DB/L/AVL nibble */
	return ((uint64_t)(base & 0xFF000000) << 32) | ((uint64_t)(flags & 0xF0FF) << 40) |
	       ((uint64_t)(limit & 0x000F0000) << 32) | ((uint64_t)(base & 0x00FFFFFF) << 16) |
	       (uint64_t)(limit & 0x0000FFFF);
}

static struct kvm_segment seg_from(uint64_t desc, uint16_t sel)
{
	struct kvm_segment s = {
		.base = (uint32_t)(((desc >> 16) & 0xFFFFFF) | ((desc >> 32) & 0xFF000000)),
		.limit = (uint32_t)((desc & 0xFFFF) | ((desc >> 32) & 0xF0000)),
		.selector = sel,
		.type = (uint8_t)((desc >> 40) & 0xF),
		.present = (uint8_t)((desc >> 47) & 1),
		.dpl = (uint8_t)((desc >> 45) & 3),
		.db = (uint8_t)((desc >> 54) & 1),
		.s = (uint8_t)((desc >> 44) & 1),
		.l = (uint8_t)((desc >> 53) & 1),
		.g = (uint8_t)((desc >> 55) & 1),
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xFFF;
	return s;
}

static int write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gm_ptr(&vm->mem, PLAT_PML4, 4096);
	uint64_t *pdpt = gm_ptr(&vm->mem, PLAT_PDPT, 4096);
	uint64_t *pd = gm_ptr(&vm->mem, PLAT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PLAT_PDPT | 0x3; /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (PLAT_PD + i * 4096ULL) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* 2 MiB page, present, writable */
	return 0;
}

int boot_setup_bsp(struct vm *vm, struct vcpu *v)
{
	const struct boot_info *bi = &vm->boot;
	bool lm = bi->mode == BOOT_LONG64;
	uint64_t gdt[5] = {
		0, 0,
		lm ? gdt_entry(0, 0xFFFFF, 0xA09B) : gdt_entry(0, 0xFFFFF, 0xC09B),
		gdt_entry(0, 0xFFFFF, 0xC093),
		gdt_entry(0, 0x67, 0x008B), /* 32-bit TSS, busy */
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (gm_write(&vm->mem, PLAT_GDT_ADDR, gdt, sizeof(gdt)) < 0)
		return -EFAULT;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = seg_from(gdt[2], 0x10);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg_from(gdt[3], 0x18);
	sregs.tr = seg_from(gdt[4], 0x20);
	sregs.gdt.base = PLAT_GDT_ADDR;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (lm) {
		int rc = write_page_tables(vm);
		if (rc)
			return rc;
		sregs.cr3 = PLAT_PML4;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = bi->entry;
	regs.rsp = bi->rsp ? bi->rsp : PLAT_BOOT_STACK;
	regs.rax = bi->rax;
	regs.rbx = bi->rbx;
	regs.rsi = bi->rsi;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* LAPIC register offsets (Intel SDM vol. 3, table 11-1). */
#define APIC_SPIV 0xF0
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI (4u << 8)
#define APIC_MODE_EXTINT (7u << 8)

int boot_setup_lapic(struct vm *vm, struct vcpu *v)
{
	struct kvm_lapic_state la;
	union {
		struct kvm_msrs hdr;
		uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} msrs;
	struct kvm_msr_entry *e = (struct kvm_msr_entry *)(msrs.buf + sizeof(struct kvm_msrs));
	uint32_t x;

	if (vm->x2apic) {
		memset(&msrs, 0, sizeof(msrs));
		msrs.hdr.nmsrs = 1;
		e->index = MSR_IA32_APIC_BASE;
		e->data = PLAT_LAPIC_BASE | APIC_BASE_EN | APIC_BASE_EXTD |
			      (v->id == 0 ? APIC_BASE_BSP : 0);
		if (ioctl(v->fd, KVM_SET_MSRS, &msrs) != 1)
			return -EINVAL;
	}
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	/* Virtual wire mode as firmware leaves it: LINT0 ExtINT, LINT1 NMI. */
	memcpy(&x, &la.regs[APIC_LVT_LINT0], 4);
	x = (x & ~0x1F700u & ~(1u << 16)) | APIC_MODE_EXTINT;
	memcpy(&la.regs[APIC_LVT_LINT0], &x, 4);
	memcpy(&x, &la.regs[APIC_LVT_LINT1], 4);
	x = (x & ~0x1F700u & ~(1u << 16)) | APIC_MODE_NMI;
	memcpy(&la.regs[APIC_LVT_LINT1], &x, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) < 0)
		return -errno;
	return 0;
}
