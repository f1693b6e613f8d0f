/*
 * test=insn: instructions some host KVM emulators cannot execute in guest
 * kernel mode and that bhyve completes itself there (docs/design.md):
 * POPCNT (register form), LDMXCSR of the default value and STMXCSR, FWAIT,
 * INT3 (#BP delivered).
 * Each result is checked, so a wrong completion is seen, not only a crash.
 * 64-bit guests only (the completions need long mode); the state below is
 * written by the BSP's #BP handler and read by the BSP.
 */
#include "tests.h"

#if defined(__x86_64__)
struct insn_state {
	volatile uint32_t bp;
};

static struct insn_state ins;

static void bp_handler(struct intr_frame *f, unsigned vec)
{
	ins.bp++;
}

void test_insn(void)
{
	uint64_t x = 0xF0F0F0F00000000FULL, c64 = 0, cr4;
	uint32_t y = 0x80000001u, c32 = 0, m_in = 0x1F80, m_out = 0;
	uint64_t rflags;
	int bad = 0;

	__asm__ volatile("popcnt %1, %0" : "=r"(c64) : "r"(x) : "cc");
	__asm__ volatile("popcntl %1, %0" : "=r"(c32) : "r"(y) : "cc");
	__asm__ volatile("xor %%eax, %%eax; popcnt %%rax, %%rax; pushfq; popq %0"
			 : "=r"(rflags) : : "rax", "cc");
	printf("insn: popcnt64=%lu popcnt32=%u zf=%lu\n", (unsigned long)c64, c32,
	       (unsigned long)((rflags >> 6) & 1));
	if (c64 != 20 || c32 != 2 || !((rflags >> 6) & 1))
		bad = 1;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 9) | (1u << 10))); /* OSFXSR */
	__asm__ volatile("ldmxcsr %0" : : "m"(m_in));
	__asm__ volatile("stmxcsr %0" : "=m"(m_out));
	printf("insn: mxcsr=0x%x\n", m_out);
	if (m_out != m_in)
		bad = 1;

	__asm__ volatile("fwait");
	printf("insn: fwait ok\n");

	intr_set_handler(3, bp_handler);
	__asm__ volatile("int3");
	printf("insn: int3 -> #BP handler ran %u time(s)\n", ins.bp);
	if (ins.bp != 1)
		bad = 1;

	if (bad)
		fail_halt("an instruction gave a wrong result");
	printf("insn ok\n");
	test_poweroff();
}
#else
void test_insn(void)
{
	printf("insn: needs the 64-bit guest\n");
	fail_halt("test=insn is for 64-bit guests");
}
#endif
