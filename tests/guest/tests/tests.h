/* The individual guest tests (selected by test=NAME). */
#ifndef GUEST_TESTS_H
#define GUEST_TESTS_H

#include "../lib/rt.h"

void test_poweroff(void);          /* S5, never returns */
void test_serial(void);            /* COM1 IRQ-driven RX echo, COM2 output */
void test_smp(void);               /* INIT-SIPI-SIPI every MADT CPU, CPUID topology */
void test_rtc(void);               /* print RTC date/time */
void test_timers(void);            /* PIT via IOAPIC and 8259, LAPIC timer */
void test_sigterm(void);           /* ACPI mode, power button SCI -> S5 */
void test_sigterm_noacpi(void);    /* wait forever without ACPI */
void test_nmi(void);               /* print each NMI (bhyvectl --inject-nmi) */
void test_monitor(void);           /* interactive monitor on COM1 (make demo) */
void test_insn(void);              /* POPCNT, LDMXCSR/STMXCSR, FWAIT, INT3 (64-bit) */
void rtc_show(const char *label);  /* print the RTC date and time */

/* Wait (interrupts on) until *ctr >= n or ms elapse; 0 or -1. */
int wait_count(volatile uint32_t *ctr, uint32_t n, uint32_t ms);
/* Common interrupt setup: PIC masked, LAPIC on, IDT loaded. 0 or -1. */
int irq_setup(void);
/* irq_setup, then COM1 receive interrupts (IRQ 4 via the IOAPIC) to h. 0 or -1. */
int com1_rx_irq(intr_handler_t h);

#endif
