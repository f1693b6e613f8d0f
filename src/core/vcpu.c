/*
 * vCPU threads: KVM_RUN and exit dispatch. Each thread touches only its own
 * struct vcpu, the (thread-safe) buses and vm_request_stop(). The kick
 * signal (SIGUSR1, empty handler) interrupts KVM_RUN; run->immediate_exit
 * closes the race with a kick that lands just before KVM_RUN.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/fixup.h"
#include "lhyve/ioapic.h"
#include "lhyve/log.h"
#include "lhyve/pic.h"
#include "lhyve/vm.h"

#define SIG_VCPU_KICK SIGUSR1
#define HALT_CHECK_NS 100000000ULL

static void kick_handler(int sig) { (void)sig; }

const char *const vcpu_stat_names[VCPU_STAT_MAX] = {
	[VCPU_STAT_IO] = "exits: port I/O",
	[VCPU_STAT_MMIO] = "exits: MMIO",
	[VCPU_STAT_MSR] = "exits: unknown MSR",
	[VCPU_STAT_INTR] = "exits: interrupted (kicks, signals)",
	[VCPU_STAT_HLT] = "exits: HLT",
	[VCPU_STAT_EOI] = "exits: EOI of a level-triggered IOAPIC interrupt",
	[VCPU_STAT_SHUTDOWN] = "exits: shutdown (triple fault)",
	[VCPU_STAT_INTERNAL] = "exits: internal error",
	[VCPU_STAT_FIXUP] = "instructions completed for the host emulator (INT3, CLAC/STAC, FWAIT, POPCNT, LDMXCSR/STMXCSR)",
	[VCPU_STAT_OTHER] = "exits: other",
};

static struct kvm_run *vrun(struct vcpu *v) { return v->run; }

int vcpu_create_all(struct vm *vm, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		v->fd = -1;
		pthread_mutex_init(&v->call_lock, NULL);
		pthread_cond_init(&v->call_cond, NULL);
		snprintf(v->name, sizeof(v->name), "vcpu %u", i);
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			return -errno;
		}
		v->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			snprintf(err, errlen, "mmap vcpu %u: %s", i, strerror(errno));
			return -errno;
		}
		int rc = cpuid_apply(vm, v);
		if (rc < 0) {
			snprintf(err, errlen, "KVM_SET_CPUID2 vcpu %u: %s", i, strerror(-rc));
			return rc;
		}
		if ((rc = boot_setup_lapic(vm, v)) < 0) {
			snprintf(err, errlen, "LAPIC setup vcpu %u: %s", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static bool stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = vrun(v);
	struct vm *vm = v->vm;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;

	v->stats[VCPU_STAT_IO]++;
	for (uint32_t i = 0; i < run->io.count; i++, p += size) {
		uint64_t data = 0;
		if (write)
			memcpy(&data, p, size);
		int rc = bus_access(&vm->pio, run->io.port, size, write, &data);
		if (rc == -ENOENT && vm->strictio) {
			log_err("vcpu %u: unhandled I/O port 0x%x %s (size %u) with strict I/O (-e)",
				v->id, run->io.port, write ? "write" : "read", size);
			vm_request_stop(vm, VM_EXIT_ERROR);
			return;
		}
		if (!write)
			memcpy(p, &data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = vrun(v);
	uint64_t data = 0;
	unsigned len = run->mmio.len;

	v->stats[VCPU_STAT_MMIO]++;
	if (len == 0 || len > 8)
		return;
	if (run->mmio.is_write)
		memcpy(&data, run->mmio.data, len);
	int rc = bus_access(&v->vm->mmio, run->mmio.phys_addr, len, run->mmio.is_write, &data);
	if (rc == -ENOENT)
		log_debug("vcpu %u: unhandled MMIO %s at 0x%llx", v->id,
			  run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr);
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &data, len);
}

static void handle_msr(struct vcpu *v, bool write)
{
	struct kvm_run *run = vrun(v);

	v->stats[VCPU_STAT_MSR]++;
	if (v->vm->strictmsr) {
		log_debug("vcpu %u: %s of unknown MSR 0x%x: #GP", v->id,
			  write ? "write" : "read", run->msr.index);
		run->msr.error = 1;
	} else {
		run->msr.error = 0;
		if (!write)
			run->msr.data = 0;
	}
}

static void report_internal_error(struct vcpu *v)
{
	struct kvm_run *run = vrun(v);
	uint8_t insn[16];
	char hex[16 * 3 + 1] = "";
	uint64_t rip = 0;
	int n = x86_read_insn(v->fd, &v->vm->mem, &rip, insn, sizeof(insn));

	for (int i = 0; i < n; i++)
		snprintf(hex + i * 3, sizeof(hex) - (size_t)i * 3, "%02x ", insn[i]);
	if (n > 0)
		hex[n * 3 - 1] = '\0';
	log_err("vcpu %u: KVM internal error (suberror %u%s) at rip 0x%llx, instruction bytes: %s",
		v->id, run->internal.suberror,
		run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			", the host could not emulate a guest instruction" : "",
		(unsigned long long)rip, n > 0 ? hex : "(unreadable)");
}

static void halt_check(struct vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	int halted = 0, inactive = 0;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_HALTED &&
		    ioctl(v->fd, KVM_GET_REGS, &regs) == 0 && !(regs.rflags & (1u << 9)))
			halted = 1;
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			inactive = 1;
	}
	v->halted_noint = halted;
	v->inactive = inactive;
	__atomic_store_n(&v->halt_check, 0, __ATOMIC_RELEASE);
}

static void serve_call(struct vcpu *v)
{
	pthread_mutex_lock(&v->call_lock);
	if (v->call_fn) {
		v->call_fn(v, v->call_arg);
		v->call_fn = NULL;
		v->call_done = true;
		pthread_cond_broadcast(&v->call_cond);
	}
	pthread_mutex_unlock(&v->call_lock);
}

int vcpu_call(struct vcpu *v, void (*fn)(struct vcpu *v, void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&v->call_lock);
	if (!v->running || stopping(v->vm)) {
		pthread_mutex_unlock(&v->call_lock);
		return -ESRCH;
	}
	while (v->call_fn) /* one call at a time */
		pthread_cond_wait(&v->call_cond, &v->call_lock);
	v->call_done = false;
	__atomic_store_n(&v->call_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&v->call_fn, fn, __ATOMIC_RELEASE);
	vrun(v)->immediate_exit = 1;
	pthread_kill(v->thread, SIG_VCPU_KICK);
	while (!v->call_done)
		pthread_cond_wait(&v->call_cond, &v->call_lock);
	if (!v->running && v->call_fn == NULL && stopping(v->vm))
		rc = -ESRCH;
	pthread_mutex_unlock(&v->call_lock);
	return rc;
}

static struct vcpu_seg seg_out(const struct kvm_segment *s)
{
	return (struct vcpu_seg){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.access = (uint16_t)(s->type | s->s << 4 | s->dpl << 5 | s->present << 7 |
				     s->avl << 12 | s->l << 13 | s->db << 14 | s->g << 15),
	};
}

struct state_call {
	struct vcpu_state *st;
	int rc;
};

static void get_state_fn(struct vcpu *v, void *arg)
{
	struct state_call *c = arg;
	struct vcpu_state *st = c->st;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_debugregs dr;
	struct kvm_mp_state mp;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		c->rc = -errno;
		return;
	}
	memset(st, 0, sizeof(*st));
	st->rax = r.rax; st->rbx = r.rbx; st->rcx = r.rcx; st->rdx = r.rdx;
	st->rsi = r.rsi; st->rdi = r.rdi; st->rbp = r.rbp; st->rsp = r.rsp;
	st->r8 = r.r8; st->r9 = r.r9; st->r10 = r.r10; st->r11 = r.r11;
	st->r12 = r.r12; st->r13 = r.r13; st->r14 = r.r14; st->r15 = r.r15;
	st->rip = r.rip; st->rflags = r.rflags;
	st->cr0 = s.cr0; st->cr2 = s.cr2; st->cr3 = s.cr3; st->cr4 = s.cr4; st->cr8 = s.cr8;
	st->efer = s.efer; st->apic_base = s.apic_base;
	st->cs = seg_out(&s.cs); st->ds = seg_out(&s.ds); st->es = seg_out(&s.es);
	st->fs = seg_out(&s.fs); st->gs = seg_out(&s.gs); st->ss = seg_out(&s.ss);
	st->tr = seg_out(&s.tr); st->ldtr = seg_out(&s.ldt);
	st->gdt_base = s.gdt.base; st->gdt_limit = s.gdt.limit;
	st->idt_base = s.idt.base; st->idt_limit = s.idt.limit;
	if (ioctl(v->fd, KVM_GET_DEBUGREGS, &dr) == 0) {
		st->dr0 = dr.db[0]; st->dr1 = dr.db[1]; st->dr2 = dr.db[2]; st->dr3 = dr.db[3];
		st->dr6 = dr.dr6; st->dr7 = dr.dr7;
	}
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0)
		st->mp_state = mp.mp_state;
	c->rc = 0;
}

int vcpu_get_state(struct vcpu *v, struct vcpu_state *st)
{
	struct state_call c = { st, -EIO };
	int rc = vcpu_call(v, get_state_fn, &c);
	return rc ? rc : c.rc;
}

static void nmi_fn(struct vcpu *v, void *arg)
{
	int *rc = arg;
	*rc = ioctl(v->fd, KVM_NMI) < 0 ? -errno : 0;
}

int vcpu_inject_nmi(struct vcpu *v)
{
	int nrc = -EIO;
	int rc = vcpu_call(v, nmi_fn, &nrc);
	return rc ? rc : nrc;
}

/*
 * The 8259 pair's output goes to the boot vCPU's LINT0 (ExtINT): when the
 * PIC has an interrupt and the vCPU can take one, acknowledge it at the PIC
 * (INTA) and hand the vector to KVM; otherwise ask KVM to exit as soon as
 * it can (KVM_EXIT_IRQ_WINDOW_OPEN).
 */
static void pic_inject(struct vcpu *v, struct kvm_run *run)
{
	struct pic *pic = v->vm->pic;

	if (!pic || v->id != 0 || !pic_intr(pic)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection) {
		int vec = pic_intack(pic);

		if (vec >= 0) {
			struct kvm_interrupt irq = { .irq = (uint32_t)vec };
			if (ioctl(v->fd, KVM_INTERRUPT, &irq) < 0)
				log_debug("vcpu %u: KVM_INTERRUPT %d: %s", v->id, vec,
					  strerror(errno));
		}
		run->request_interrupt_window = pic_intr(pic);
	} else {
		run->request_interrupt_window = 1;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = vrun(v);
	sigset_t set;

	/* Named from the thread itself (prctl): the sandbox forbids opening
	 * /proc/self/task/TID/comm, which naming another thread needs. */
	pthread_setname_np(pthread_self(), v->name);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_mutex_lock(&v->call_lock);
	v->running = true;
	pthread_mutex_unlock(&v->call_lock);

	while (!stopping(vm)) {
		if (__atomic_load_n(&v->halt_check, __ATOMIC_ACQUIRE))
			halt_check(v);
		if (__atomic_load_n(&v->call_fn, __ATOMIC_ACQUIRE))
			serve_call(v);
		pic_inject(v, run);
		int rc = ioctl(v->fd, KVM_RUN, 0);
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				v->stats[VCPU_STAT_INTR]++;
				continue;
			}
			log_err("vcpu %u: KVM_RUN: %s", v->id, strerror(errno));
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_X86_RDMSR:
			handle_msr(v, false);
			break;
		case KVM_EXIT_X86_WRMSR:
			handle_msr(v, true);
			break;
		case KVM_EXIT_INTR:
			v->stats[VCPU_STAT_INTR]++;
			break;
		case KVM_EXIT_HLT:
			v->stats[VCPU_STAT_HLT]++;
			break;
		case KVM_EXIT_IOAPIC_EOI:
			/* The LAPIC took an EOI for a level-triggered IOAPIC vector. */
			v->stats[VCPU_STAT_EOI]++;
			ioapic_eoi(v->vm->ioapic, run->eoi.vector);
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			break; /* pic_inject() runs before the next entry */
		case KVM_EXIT_SHUTDOWN:
			v->stats[VCPU_STAT_SHUTDOWN]++;
			log_info("vcpu %u: triple fault", v->id);
			vm_request_stop(vm, VM_EXIT_TRIPLEFAULT);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_request_stop(vm, VM_EXIT_RESET);
			else if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				vm_request_stop(vm, VM_EXIT_POWEROFF);
			else
				vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			v->stats[VCPU_STAT_INTERNAL]++;
			if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
			    x86_emulation_fixup(v->fd, &v->vm->mem)) {
				v->stats[VCPU_STAT_FIXUP]++;
				break;
			}
			report_internal_error(v);
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			log_err("vcpu %u: VM entry failed (hardware reason 0x%llx)", v->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		default:
			v->stats[VCPU_STAT_OTHER]++;
			log_err("vcpu %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
			vm_request_stop(vm, VM_EXIT_ERROR);
			break;
		}
	}
	pthread_mutex_lock(&v->call_lock);
	v->running = false;
	if (v->call_fn) { /* fail a pending call rather than leave it waiting */
		v->call_fn = NULL;
		v->call_done = true;
		pthread_cond_broadcast(&v->call_cond);
	}
	pthread_mutex_unlock(&v->call_lock);
	return NULL;
}

static void cpuset_add(void *opaque, unsigned cpu)
{
	if (cpu < CPU_SETSIZE)
		CPU_SET(cpu, (cpu_set_t *)opaque);
}

static void pin_thread(struct vm *vm, struct vcpu *v)
{
	char key[48];
	const char *s;
	cpu_set_t set;

	snprintf(key, sizeof(key), "vcpu.%u.cpuset", v->id);
	s = config_get(vm->cfg, key);
	if (!s)
		return;
	CPU_ZERO(&set);
	if (config_parse_cpuset(s, cpuset_add, &set) < 0) {
		log_warn("vcpu %u: invalid cpuset '%s'", v->id, s);
		return;
	}
	int rc = pthread_setaffinity_np(v->thread, sizeof(set), &set);
	if (rc)
		log_warn("vcpu %u: cannot pin to host CPUs %s: %s", v->id, s, strerror(rc));
}

int vcpu_start_all(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (rc) {
			snprintf(err, errlen, "cannot start vcpu %u thread: %s", i, strerror(rc));
			return -rc;
		}
		v->thread_started = true;
		pin_thread(vm, v);
	}
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->run)
		vrun(v)->immediate_exit = 1;
	if (__atomic_load_n(&v->thread_started, __ATOMIC_ACQUIRE))
		pthread_kill(v->thread, SIG_VCPU_KICK);
}

void vcpu_kick_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			vrun(v)->immediate_exit = 1;
		if (v->thread_started)
			pthread_kill(v->thread, SIG_VCPU_KICK);
	}
}

void vcpu_join_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}

void vcpu_destroy_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, (size_t)vm->vcpu_mmap_size);
		if (v->fd >= 0)
			close(v->fd);
		pthread_mutex_destroy(&v->call_lock);
		pthread_cond_destroy(&v->call_cond);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}

/*
 * "All vCPUs halted with interrupts disabled" (bhyve exit status 2). With
 * the in-kernel LAPIC, HLT never leaves KVM_RUN, so the loop asks each vCPU
 * thread periodically (a kick makes it look at its own state) and stops the
 * VM when every started vCPU reports HLT with IF=0.
 */
static void halt_timer_cb(void *opaque)
{
	struct vm *vm = opaque;
	unsigned halted = 0, inactive = 0, pending = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (__atomic_load_n(&v->halt_check, __ATOMIC_ACQUIRE)) {
			pending++;
			continue;
		}
		if (v->halted_noint)
			halted++;
		else if (v->inactive)
			inactive++;
	}
	if (!pending && halted > 0 && halted + inactive == vm->ncpus) {
		log_info("all vCPUs halted with interrupts disabled");
		vm_request_stop(vm, VM_EXIT_HALT);
		return;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (__atomic_load_n(&v->halt_check, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&v->halt_check, 1, __ATOMIC_RELEASE);
		vrun(v)->immediate_exit = 1;
		pthread_kill(v->thread, SIG_VCPU_KICK);
	}
}

int vcpu_halt_watch_start(struct vm *vm)
{
	vm->halt_timer = ev_timer_new(vm->loop, halt_timer_cb, vm);
	if (!vm->halt_timer)
		return -ENOMEM;
	return ev_timer_arm(vm->halt_timer, HALT_CHECK_NS, HALT_CHECK_NS);
}

int vcpu_max_supported(struct vm *vm)
{
	int n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return n > 0 ? n : -1;
}
