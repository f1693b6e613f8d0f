/*
 * 32-bit protected-mode CPU support: boot-protocol decoding, IDT and
 * interrupt dispatch, AP start-up through the real-mode trampoline.
 */
#include "../lib/rt.h"

#define TRAMP_BASE 0x10000u
#define AP_STACK_SIZE 4096u

struct intr_frame {
	uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax;
	uint32_t vec, err;
	uint32_t eip, cs, eflags;
};

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

extern char isr_stubs[];
extern char tramp_start[], tramp_end[], tramp_gdtr[], tramp_stack[];
extern char tramp_arg[], tramp_entry[];
extern char ap_stacks[];
extern uint8_t gdt_desc[];

void c_start32(uint32_t proto, uint32_t info, uint32_t magic);
void isr_dispatch(struct intr_frame *f);

static struct rt rt_storage;
static struct idt_gate idt[256];

struct rt *rt_state(void)
{
	return &rt_storage;
}

bool arch_has_interrupts(void)
{
	return true;
}

static void lidt(const void *base, uint16_t limit)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) d = { limit, (uint32_t)(uintptr_t)base };

	__asm__ volatile("lidt %0" : : "m"(d));
}

void intr_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint32_t a = (uint32_t)(uintptr_t)isr_stubs + 16 * v;

		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = 0x08;
		idt[v].zero = 0;
		idt[v].type = 0x8E; /* present, DPL0, 32-bit interrupt gate */
		idt[v].off_hi = (uint16_t)(a >> 16);
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

void isr_dispatch(struct intr_frame *f)
{
	struct rt *rt = rt_state();
	unsigned v = f->vec & 0xFF;

	rt->irq_count[v]++;
	if (rt->handlers[v]) {
		rt->handlers[v](f, v);
		return;
	}
	if (v < 32) {
		printf("EXCEPTION %u err=0x%x eip=0x%x cs=0x%x eflags=0x%x\n", v,
		       f->err, f->eip, f->cs, f->eflags);
		halt_forever();
	}
	if (v == VEC_SPURIOUS || (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16))
		return; /* spurious LAPIC / masked-PIC interrupts: no EOI */
	printf("unexpected interrupt vector %u\n", v);
	lapic_eoi();
}

int smp_start_ap(uint32_t apic_id, unsigned index, void (*ap_main)(unsigned))
{
	uint8_t *t = phys_ptr(TRAMP_BASE);
	uint32_t stack = (uint32_t)(uintptr_t)ap_stacks + (index + 1) * AP_STACK_SIZE;
	uint32_t v;

	if (index >= RT_MAX_CPUS)
		return -1;
	memcpy(t, tramp_start, (size_t)(tramp_end - tramp_start));
	memcpy(t + (tramp_gdtr - tramp_start), gdt_desc, 6);
	memcpy(t + (tramp_stack - tramp_start), &stack, 4);
	v = index;
	memcpy(t + (tramp_arg - tramp_start), &v, 4);
	v = (uint32_t)(uintptr_t)ap_main;
	memcpy(t + (tramp_entry - tramp_start), &v, 4);

	/* INIT, 10 ms, STARTUP, 200 us, STARTUP (if it has not arrived). */
	if (lapic_ipi(apic_id, 0x00004500))
		return -1;
	udelay(10000);
	if (lapic_ipi(apic_id, 0x00004600 | (TRAMP_BASE >> 12)))
		return -1;
	udelay(200);
	if (!rt_state()->cpus[index].arrived &&
	    lapic_ipi(apic_id, 0x00004600 | (TRAMP_BASE >> 12)))
		return -1;
	return 0;
}

void c_start32(uint32_t proto, uint32_t info, uint32_t magic)
{
	struct rt *rt = rt_state();
	const uint8_t *p = (const uint8_t *)(uintptr_t)info;

	if (proto == 1) {
		rt->boot_proto = "pvh";
		if (p && magic == 0x336ec578) {
			uint64_t cmd, rsdp;

			memcpy(&cmd, p + 24, 8);
			memcpy(&rsdp, p + 32, 8);
			if (cmd < 0xFFFFFFFFull)
				rt_copy_cmdline((uintptr_t)cmd);
			if (rsdp < 0xFFFFFFFFull)
				rt->rsdp_hint = (uintptr_t)rsdp;
		}
	} else {
		rt->boot_proto = "multiboot";
		if (p && magic == 0x2BADB002) {
			uint32_t flags, cmd;

			memcpy(&flags, p, 4);
			memcpy(&cmd, p + 16, 4);
			if (flags & (1u << 2))
				rt_copy_cmdline(cmd);
		}
	}
	uart_init(COM1);
	if ((proto == 1 && magic != 0x336ec578) ||
	    (proto == 2 && magic != 0x2BADB002))
		printf("warning: bad boot magic 0x%x\n", magic);
	intr_init();
	guest_main();
	halt_forever();
}
