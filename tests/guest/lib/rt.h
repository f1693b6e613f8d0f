/*
 * lhyve test-guest runtime: console, formatting, ACPI walk, power control,
 * LAPIC/IOAPIC/PIC, PM-timer delays, interrupts (32-bit build).
 *
 * The guests are freestanding and single-address-space; all runtime state
 * lives in one struct rt (see rt_state()). Concurrency: only the BSP
 * touches rt after boot, except the per-CPU slots of the SMP test, which
 * each AP writes once and then publishes with a volatile flag.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#pragma GCC visibility push(hidden)

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define RT_CMDLINE_MAX 1024
#define RT_MAX_CPUS 64
#define RT_MAX_ISO 16
#define RT_MAX_IOAPIC 4

/* Interrupt vectors used by the runtime and the tests. */
#define VEC_PIC_BASE 0x20  /* 8259s remapped here, all lines masked */
#define VEC_IOAPIC_BASE 0x30 /* GSI n -> 0x30 + n (n < 24) */
#define VEC_LAPIC_TIMER 0x50
#define VEC_SPURIOUS 0xFF

/* ---- ACPI facts the tests need ---- */
struct acpi_gas { /* Generic Address Structure */
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t addr;
};

struct acpi_iso { /* MADT interrupt source override */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* polarity [1:0], trigger [3:2] */
};

struct acpi_info {
	bool found;
	uint8_t rsdp_rev;
	uintptr_t rsdp, xsdt, rsdt, fadt, madt, dsdt;
	/* FADT */
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm_tmr;
	uint8_t pm1_evt_len, pm1_cnt_len, pm_tmr_len;
	uint8_t century;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	bool has_reset_reg;
	/* DSDT \_S5 */
	bool has_s5;
	uint8_t s5_typa, s5_typb;
	/* MADT */
	uint32_t lapic_addr;
	unsigned ncpus;
	uint8_t apic_ids[RT_MAX_CPUS];
	unsigned nioapic;
	uint32_t ioapic_addr[RT_MAX_IOAPIC], ioapic_gsi_base[RT_MAX_IOAPIC];
	uint8_t ioapic_id[RT_MAX_IOAPIC];
	unsigned niso;
	struct acpi_iso iso[RT_MAX_ISO];
};

/* One entry of the SMP test's per-CPU results. */
struct cpu_report {
	volatile uint32_t arrived;
	uint32_t apic_id;       /* from the LAPIC ID register */
	uint32_t cpuid1_ebx, cpuid1_edx;
	uint32_t x2apic_id;     /* leaf 0xB EDX */
	uint32_t b0_eax, b0_ebx, b0_ecx; /* leaf 0xB subleaf 0 */
	uint32_t b1_eax, b1_ebx, b1_ecx; /* leaf 0xB subleaf 1 */
	uint32_t max_leaf;
};

struct intr_frame; /* arch-specific register frame */
typedef void (*intr_handler_t)(struct intr_frame *f, unsigned vec);

struct rt {
	char cmdline[RT_CMDLINE_MAX];
	const char *boot_proto;
	uintptr_t rsdp_hint;       /* from the boot protocol, 0 = scan */
	uint16_t console2;         /* second console port, 0 = none */
	struct acpi_info acpi;
	uint32_t pm_last;          /* PM timer bookkeeping */
	uint64_t pm_ticks;
	intr_handler_t handlers[256];
	volatile uint32_t irq_count[256];
	struct cpu_report cpus[RT_MAX_CPUS];
};

struct rt *rt_state(void);

/* ---- string.c ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Copy the NUL-terminated string at physical address pa (bounded). */
void rt_copy_cmdline(uintptr_t pa);
/* Value of key=value in the command line into buf; 0 or -1 if absent. */
int cmdline_get(const char *key, char *buf, size_t len);

/* ---- console.c ---- */
void uart_init(uint16_t port);
void uart_putc(uint16_t port, char c);
/* Read one byte if available: returns 0..255, or -1. */
int uart_getc(uint16_t port);
void con_puts(uint16_t port, const char *s);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* printf to COM1; cprintf to a given port. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cprintf(uint16_t port, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define COM1 0x3F8
#define COM2 0x2F8

/* ---- acpi.c ---- */
/* Find and parse RSDP/XSDT/FADT/MADT/DSDT into rt->acpi. 0 or -1. */
int acpi_init(void);
/* ISA IRQ -> GSI and MADT flags (identity, flags 0 when not overridden). */
uint32_t acpi_isa_gsi(uint8_t irq, uint16_t *flags);
/* PM timer: raw 24/32-bit value; elapsed microseconds since first call. */
bool pmt_present(void);
uint64_t pmt_ticks(void);  /* 3.579545 MHz ticks, 64-bit extended */
uint64_t pmt_now_us(void);
void udelay(uint32_t us);

/* ---- power.c ---- */
void power_s5(void);           /* ACPI S5 via PM1a/b_CNT */
void power_reset_cf9(void);
void power_reset_kbd(void);
void power_reset_fadt(void);
int acpi_enable_mode(void);    /* SMI_CMD <- ACPI_ENABLE, wait SCI_EN */
__attribute__((noreturn)) void halt_forever(void); /* cli; hlt */
__attribute__((noreturn)) void fail_halt(const char *why);

/* ---- apic.c ---- */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_enable(void);
void lapic_eoi(void);
/* Send INIT or STARTUP to an APIC ID; 0 or -1 on delivery timeout. */
int lapic_ipi(uint32_t apic_id, uint32_t icr_low);
/* Program the redirection entry for gsi. level/active_low per MADT flags. */
int ioapic_route(uint32_t gsi, uint8_t vector, bool level, bool active_low,
		 uint32_t dest_apic);
void ioapic_mask(uint32_t gsi);
/* The ID register of IOAPIC i (bits 24-27 of index 0). */
uint32_t ioapic_read_id(unsigned i);
/* Route an ISA IRQ through the IOAPIC honouring MADT overrides. */
int isa_irq_route(uint8_t irq, uint8_t vector, uint32_t dest_apic);
void pic_init_masked(void);

/* ---- arch (cpu32.c / cpu64.c) ---- */
bool arch_has_interrupts(void);
void intr_init(void);     /* IDT, handlers; BSP */
void intr_init_ap(void);  /* load the same IDT on an AP */
void intr_set_handler(unsigned vec, intr_handler_t h);
/* Load an empty IDT (limit 0) so the next exception triple-faults. */
void intr_load_empty_idt(void);
/* Start an AP at the real-mode trampoline; ap_main runs on it. */
int smp_start_ap(uint32_t apic_id, unsigned index, void (*ap_main)(unsigned));

/* ---- tests ---- */
void guest_main(void);

#endif
