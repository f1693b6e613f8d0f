/*
 * 64-bit PVH guest CPU support: IDT with 64-bit gates (IRETQ returns,
 * which this host emulates in long mode), a TSS for ring-3 -> ring-0 stack
 * switches with an all-open I/O permission bitmap, interrupt dispatch, the
 * ring-3 exit syscall (int $0x81) and CLI/STI/HLT emulation for ring 3.
 * All state here is written by the BSP only.
 */
#include "cpu64p.h"

#define KCODE 0x08
#define TSSSEL 0x28
#define TSS_LIMIT (104 + 8192 + 1 - 1) /* TSS + I/O bitmap + terminator */
#define VEC_UD 6
#define VEC_GP 13
#define VEC_SYSCALL 0x81

struct intr_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vec, err;
	uint64_t rip, cs, rflags, rsp, ss;
};

struct idt_gate64 {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

extern char isr_stubs[];
extern uint8_t gdt[], tss64[];
extern char irq_stack_top[], user_stack_top[];

void c_start64p(uint32_t info, uint32_t magic);
void isr_dispatch(struct intr_frame *f);
long user_enter(long (*fn)(void *), void *arg, void *stack_top);
__attribute__((noreturn)) void user_exit_to_kernel(long result);

static struct rt rt_storage;
static struct idt_gate64 idt[256] __attribute__((aligned(16)));
/* Ring-3 virtual interrupt flag (see emulate_user_priv). */
static struct {
	bool user_vif;
} cpu;

struct rt *rt_state(void)
{
	return &rt_storage;
}

bool arch_has_interrupts(void)
{
	return true;
}

bool in_user_mode(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 3;
}

static void lidt(const void *base, uint16_t limit)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { limit, (uint64_t)(uintptr_t)base };

	__asm__ volatile("lidt %0" : : "m"(d));
}

static void tss_init(void)
{
	uint64_t base = (uintptr_t)tss64, rsp0 = (uintptr_t)irq_stack_top;
	uint64_t lo = TSS_LIMIT;
	uint32_t hi = (uint32_t)(base >> 32);

	memcpy(tss64 + 4, &rsp0, 8);      /* RSP0 */
	tss64[102] = 104;                 /* I/O permission bitmap right after */
	lo |= (base & 0xFFFFFF) << 16;
	lo |= 0x89ull << 40;              /* present, 64-bit TSS (available) */
	lo |= ((base >> 24) & 0xFF) << 56;
	memcpy(gdt + TSSSEL, &lo, 8);
	memcpy(gdt + TSSSEL + 8, &hi, 4);
	__asm__ volatile("ltr %w0" : : "r"(TSSSEL));
}

void intr_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uintptr_t)isr_stubs + 16 * v;

		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = KCODE;
		idt[v].ist = 0;
		/* present, 64-bit interrupt gate; DPL 3 only for the syscall */
		idt[v].type = v == VEC_SYSCALL ? 0xEE : 0x8E;
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
		idt[v].zero = 0;
	}
	lidt(idt, sizeof(idt) - 1);
}

void intr_init_ap(void)
{
	lidt(idt, sizeof(idt) - 1);
}

void intr_load_empty_idt(void)
{
	lidt(0, 0);
}

void intr_set_handler(unsigned vec, intr_handler_t h)
{
	if (vec < 256)
		rt_state()->handlers[vec] = h;
}

/*
 * Ring 3 runs with IOPL 0 (this host's IRETQ does not keep IOPL 3; ports
 * are opened by the TSS I/O bitmap instead), so CLI, STI and HLT fault
 * there. They are emulated with a virtual interrupt flag: ring 3 really
 * always runs with interrupts on; CLI/STI only change the virtual flag;
 * HLT (or STI; HLT) waits for one interrupt in ring 0 when the virtual
 * flag is on and halts for good when it is off (halt_forever, exit 2).
 * A wake-up that arrives just before the HLT is only seen at the next
 * interrupt: ring-3 code should poll with timeouts instead of halting.
 * True if the fault was handled.
 */
static bool emulate_user_priv(struct intr_frame *f)
{
	const volatile uint8_t *ip = (const volatile uint8_t *)(uintptr_t)f->rip;

	if ((f->cs & 3) != 3)
		return false;
	switch (ip[0]) {
	case 0xFA: /* cli */
		cpu.user_vif = false;
		f->rip++;
		return true;
	case 0xFB: /* sti (and sti; hlt as one) */
		cpu.user_vif = true;
		f->rip++;
		if (ip[1] != 0xF4)
			return true;
		f->rip++;
		break;
	case 0xF4: /* hlt */
		f->rip++;
		break;
	default:
		return false;
	}
	if (!cpu.user_vif)
		halt_forever();
	cpu_sti_hlt();
	cpu_cli();
	return true;
}

/*
 * This host raises #UD for INT n in ring 3 instead of using the DPL-3 gate,
 * so the #UD handler also recognises the syscall instruction (cd 81).
 */
static bool is_syscall_insn(uint64_t rip)
{
	const volatile uint8_t *ip = (const volatile uint8_t *)(uintptr_t)rip;

	return ip[0] == 0xCD && ip[1] == VEC_SYSCALL;
}

void isr_dispatch(struct intr_frame *f)
{
	struct rt *rt = rt_state();
	unsigned v = f->vec & 0xFF;

	rt->irq_count[v]++;
	if ((f->cs & 3) == 3 && f->rax == 0 &&
	    (v == VEC_SYSCALL || (v == VEC_UD && is_syscall_insn(f->rip))))
		user_exit_to_kernel((long)f->rdi);
	if (v == VEC_GP && emulate_user_priv(f))
		return;
	if (rt->handlers[v]) {
		rt->handlers[v](f, v);
		return;
	}
	if (v < 32) {
		uint64_t cr2;

		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		printf("EXCEPTION %u err=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx "
		       "rsp=0x%lx cr2=0x%lx\n", v, (unsigned long)f->err,
		       (unsigned long)f->rip, (unsigned long)f->cs,
		       (unsigned long)f->rflags, (unsigned long)f->rsp,
		       (unsigned long)cr2);
		halt_forever();
	}
	if (v == VEC_SPURIOUS || (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16))
		return;
	printf("unexpected interrupt vector %u\n", v);
	lapic_eoi();
}

long user_call(long (*fn)(void *), void *arg)
{
	cpu.user_vif = true;
	return user_enter(fn, arg, user_stack_top);
}

int smp_start_ap(uint32_t apic_id, unsigned index, void (*ap_main)(unsigned))
{
	return -1; /* this build runs on the BSP only */
}

void c_start64p(uint32_t info, uint32_t magic)
{
	struct rt *rt = rt_state();
	const uint8_t *p = (const uint8_t *)(uintptr_t)info;

	rt->boot_proto = "pvh64";
	if (p && magic == 0x336ec578) {
		uint64_t cmd, rsdp;

		memcpy(&cmd, p + 24, 8);
		memcpy(&rsdp, p + 32, 8);
		if (cmd && cmd < 0xFFFFFFFFull)
			rt_copy_cmdline((uintptr_t)cmd);
		if (rsdp < 0xFFFFFFFFull)
			rt->rsdp_hint = (uintptr_t)rsdp;
	}
	uart_init(COM1);
	if (magic != 0x336ec578)
		printf("warning: bad boot magic 0x%x\n", magic);
	tss_init();
	intr_init();
	guest64_main();
	halt_forever();
}
