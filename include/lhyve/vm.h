/*
 * The machine: one KVM VM, its vCPU threads, buses, interrupt chip, event
 * loop and platform devices. Core-only header (no <linux/kvm.h> here, but
 * only src/core and src/arch include it).
 *
 * Threads: the main thread runs the event loop (console input, timers,
 * signals, halt detection); one thread per vCPU runs KVM_RUN and dispatches
 * exits to the buses. A stop request (power event, error, signal) records
 * the exit code (first one wins), kicks every vCPU out of KVM_RUN and stops
 * the event loop; the main thread then joins and tears down.
 */
#ifndef LHYVE_VM_H
#define LHYVE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "loader.h"
#include "mem.h"
#include "pci.h"
#include "power.h"
#include "tables.h"

struct config;
struct evloop;
struct ev_timer;
struct chardev;
struct uart;
struct rtc;
struct pit;
struct pm;
struct i8042;
struct post;
struct pci_bus;
struct registry;

enum vcpu_exit_stat {
	VCPU_STAT_IO,
	VCPU_STAT_MMIO,
	VCPU_STAT_MSR,
	VCPU_STAT_INTR,
	VCPU_STAT_HLT,
	VCPU_STAT_EOI,
	VCPU_STAT_SHUTDOWN,
	VCPU_STAT_INTERNAL,
	VCPU_STAT_FIXUP,
	VCPU_STAT_OTHER,
	VCPU_STAT_MAX,
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	void *run;          /* struct kvm_run, mmap'ed */
	pthread_t thread;
	bool thread_started;
	volatile int halt_check;  /* loop asks: report halted-with-IF=0 */
	volatile int halted_noint; /* answer: 1 halted with IF=0, 0 no */
	volatile int inactive;     /* AP never started (waiting for INIT/SIPI) */
	uint64_t stats[VCPU_STAT_MAX]; /* written by the vCPU thread only */
	char name[16];
	/* vcpu_call(): a function the vCPU thread runs between KVM_RUNs */
	pthread_mutex_t call_lock;
	pthread_cond_t call_cond;
	void (*call_fn)(struct vcpu *v, void *arg);
	void *call_arg;
	bool call_done;
	bool running; /* the thread is in its run loop */
};

/* Architectural state of a vCPU as bhyvectl shows it. */
struct vcpu_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t access; /* type | s<<4 | dpl<<5 | p<<7 | avl<<12 | l<<13 | db<<14 | g<<15 */
};

struct vcpu_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
	uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
	struct vcpu_seg cs, ds, es, fs, gs, ss, tr, ldtr;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint32_t mp_state; /* KVM_MP_STATE_* */
};

extern const char *const vcpu_stat_names[VCPU_STAT_MAX];

struct ioapic;
struct pic;
struct irq_routes;

struct vm {
	struct config *cfg;
	const char *name;
	int kvm_fd, vm_fd;
	int vcpu_mmap_size;
	uint64_t ram_size;
	struct guest_mem mem;
	unsigned ncpus, sockets, cores, threads;
	struct vcpu *vcpus;
	struct bus pio, mmio;
	struct irq_chip irqchip;
	struct ioapic *ioapic;  /* userspace IOAPIC and 8259 pair (split irqchip) */
	struct pic *pic;
	struct irq_routes *routes; /* KVM GSI routes mirroring the IOAPIC (irq.c) */
	struct power_sink power;
	struct evloop *loop;
	struct ev_timer *halt_timer;
	int sigfd;

	/* policy from the configuration */
	bool strictio, strictmsr, x2apic, nested_workarounds, mptable, acpi;
	void *cpuid; /* struct kvm_cpuid2 * template */

	/* stop state */
	pthread_mutex_t stop_lock;
	bool stopping;
	int exit_code;

	/* platform */
	struct chardev *com_cd[4];
	struct uart *com[4];
	struct rtc *rtc;
	struct pit *pit;
	struct pm *pm;
	struct i8042 *kbc;
	struct post *post;
	struct pci_host pci_host;
	struct pci_bus *pci;
	struct registry *reg;
	struct e820_map e820;
	uint64_t rsdp;
	struct boot_info boot;
};

/* core/vm.c */
int vm_create(struct vm *vm, struct config *cfg, char *err, size_t errlen);
void vm_destroy(struct vm *vm);
/* Request a stop with this exit code (first request wins). Thread-safe. */
void vm_request_stop(struct vm *vm, int exit_code);

/* core/vcpu.c */
int vcpu_create_all(struct vm *vm, char *err, size_t errlen);
int vcpu_start_all(struct vm *vm, char *err, size_t errlen);
void vcpu_kick_all(struct vm *vm);
void vcpu_join_all(struct vm *vm);
void vcpu_destroy_all(struct vm *vm);
/* Arm the periodic "all vCPUs halted with interrupts off" check. */
int vcpu_halt_watch_start(struct vm *vm);
/*
 * Run fn(v, arg) on the vCPU's own thread, between two KVM_RUNs (the vCPU is
 * kicked out of the guest for it), and wait for it. -ESRCH if the vCPU
 * thread is not running (VM stopping). Call from the event-loop thread.
 */
int vcpu_call(struct vcpu *v, void (*fn)(struct vcpu *v, void *arg), void *arg);
/* Read the vCPU's registers (through vcpu_call). */
int vcpu_get_state(struct vcpu *v, struct vcpu_state *st);
/* Inject an NMI into the vCPU (through vcpu_call). */
int vcpu_inject_nmi(struct vcpu *v);
/* Maximum vCPUs KVM supports for a VM (KVM_CAP_MAX_VCPUS), or -1. */
int vcpu_max_supported(struct vm *vm);

/* core/irq.c */
int irq_setup(struct vm *vm, char *err, size_t errlen);
/* The userspace IOAPIC and 8259 pair (after the topology is known). */
int irq_chips_init(struct vm *vm, char *err, size_t errlen);
/* Free them (after the vCPUs stopped). */
void irq_fini(struct vm *vm);
/* Kick one vCPU out of KVM_RUN (any thread). */
void vcpu_kick(struct vcpu *v);
/* KVM ioeventfd (struct pci_host.ioeventfd). */
int vm_ioeventfd(void *vm, uint64_t addr, unsigned len, bool pio, int fd, bool assign);

/* arch/x86/cpuid.c */
int cpuid_build(struct vm *vm, char *err, size_t errlen);
int cpuid_apply(struct vm *vm, struct vcpu *vcpu);
bool cpuid_host_emulates_ring0(void);

/* arch/x86/boot.c: registers for the boot vCPU from vm->boot. */
int boot_setup_bsp(struct vm *vm, struct vcpu *vcpu);
/* LAPIC virtual-wire set-up (LINT0 ExtINT, LINT1 NMI) for every vCPU. */
int boot_setup_lapic(struct vm *vm, struct vcpu *vcpu);

/* core/machine.c: platform devices, tables, kernel. */
int machine_init(struct vm *vm, char *err, size_t errlen);
void machine_fini(struct vm *vm);

#endif
