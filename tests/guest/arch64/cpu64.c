/*
 * 64-bit (bzImage) CPU support: self-relocation, boot_params decoding.
 * This build has no interrupt support; tests that need it report FAIL.
 */
#include "../lib/rt.h"

struct elf64_rela {
	uint64_t offset, info;
	int64_t addend;
};

extern const struct elf64_rela __rela_start[], __rela_end[];

void reloc64(uintptr_t base);
void c_start64(uintptr_t boot_params);

static struct rt rt_storage;

struct rt *rt_state(void)
{
	return &rt_storage;
}

/* Apply R_X86_64_RELATIVE relocations; runs before anything else. */
void reloc64(uintptr_t base)
{
	for (const struct elf64_rela *r = __rela_start; r < __rela_end; r++)
		if ((r->info & 0xFFFFFFFF) == 8)
			*(uint64_t *)(base + r->offset) = base + (uint64_t)r->addend;
}

bool arch_has_interrupts(void)
{
	return false;
}

void intr_init(void) {}
void intr_init_ap(void) {}
void intr_set_handler(unsigned vec, intr_handler_t h) {}

void intr_load_empty_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { 0, 0 };

	__asm__ volatile("lidt %0" : : "m"(d));
}

int smp_start_ap(uint32_t apic_id, unsigned index, void (*ap_main)(unsigned))
{
	return -1;
}

void c_start64(uintptr_t bp)
{
	struct rt *rt = rt_state();
	const uint8_t *p = (const uint8_t *)bp;
	uint32_t lo, hi;
	uint64_t rsdp;

	rt->boot_proto = "bzImage";
	memcpy(&lo, p + 0x228, 4);  /* setup header cmd_line_ptr */
	memcpy(&hi, p + 0x0C8, 4);  /* ext_cmd_line_ptr */
	rt_copy_cmdline((uintptr_t)lo | (uintptr_t)hi << 32);
	memcpy(&rsdp, p + 0x070, 8); /* acpi_rsdp_addr */
	rt->rsdp_hint = (uintptr_t)rsdp;
	uart_init(COM1);
	guest_main();
	halt_forever();
}
