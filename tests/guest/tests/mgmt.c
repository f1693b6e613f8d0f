/*
 * Tests for the management tools (tests/mgmt/run.sh): an NMI sent with
 * bhyvectl --inject-nmi is seen by the guest. The handler state is written
 * only by the BSP's NMI handler and read by its main loop.
 */
#include "tests.h"

#define VEC_NMI 2

static volatile uint32_t nmi_count;

static void nmi_handler(struct intr_frame *f, unsigned vec)
{
	nmi_count++;
}

void test_nmi(void)
{
	uint32_t seen = 0;

	if (!arch_has_interrupts()) {
		printf("FAIL: this build has no interrupt support\n");
		return;
	}
	intr_set_handler(VEC_NMI, nmi_handler);
	printf("ready (waiting for NMIs)\n");
	for (;;) {
		cpu_sti_hlt();
		while (seen != nmi_count) {
			seen++;
			printf("nmi: received %u\n", (unsigned)seen);
		}
	}
}
