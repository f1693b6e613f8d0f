/*
 * Platform chip models (no bus knowledge: the LPC glue registers their
 * handlers on the PIO bus at the ports of x86_platform.h). Each handler is a
 * bus_fn: (softc, offset within the chip's range, size, write, data).
 * Every model has its own mutex; handlers may run on any vCPU thread and on
 * the event loop thread concurrently.
 */
#ifndef LHYVE_HW_H
#define LHYVE_HW_H

#include <stdbool.h>
#include <stdint.h>
#include "irq.h"
#include "power.h"

struct chardev;
struct evloop;

/* ---- 16550A UART: 8 registers, offset 0..7 from the COM base ---- */
struct uart;
/* cd may be NULL (no backend: output dropped, no input). The uart installs
 * itself as cd's notify callback; cd stays owned by the caller. */
struct uart *uart_new(struct chardev *cd, struct irq_line irq);
/* With the event loop stopped (or on its thread); close cd afterwards. */
void uart_free(struct uart *u);
int uart_io(void *uart, uint64_t offset, unsigned size, bool write, uint64_t *data);

/* ---- MC146818 RTC + CMOS: offset 0 = index port (0x70), 1 = data (0x71) ---- */
struct rtc;
struct rtc_params {
	bool localtime;   /* RTC shows host local time (bhyve default) vs UTC (-u) */
	uint64_t lowmem;  /* bytes of RAM below 4 GiB, for CMOS 0x34/0x35 */
	uint64_t highmem; /* bytes of RAM above 4 GiB, for CMOS 0x5B-0x5D */
};
struct rtc *rtc_new(struct evloop *loop, struct irq_line irq,
		    const struct rtc_params *p);
/* With the event loop stopped (or on its thread): frees its timers. */
void rtc_free(struct rtc *r);
int rtc_io(void *rtc, uint64_t offset, unsigned size, bool write, uint64_t *data);

/* ---- i8254 PIT: offset 0..3 = ports 0x40-0x43; port 0x61 (NMI status and
 *      control: channel 2 gate and output, speaker data) is its own range.
 *      Channel 0 pulses irq0; loop may be NULL (no interrupt timer). ---- */
struct pit;
struct pit *pit_new(struct evloop *loop, struct irq_line irq0);
/* With the event loop stopped (or on its thread): frees its timer. */
void pit_free(struct pit *p);
int pit_io(void *pit, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pit_port61_io(void *pit, uint64_t offset, unsigned size, bool write, uint64_t *data);

/* ---- ACPI power management: PM1a event/control, PM timer, GPE0, SMI_CMD, 0xCF9 ---- */
struct pm;
struct pm *pm_new(struct irq_line sci, const struct power_sink *ps);
void pm_free(struct pm *pm);
/* Range handlers (offset is relative to each range's base). */
int pm_evt_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data);   /* PLAT_PM1A_EVT */
int pm_cnt_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data);   /* PLAT_PM1A_CNT */
int pm_tmr_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data);   /* PLAT_PM_TMR */
int pm_gpe_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data);   /* PLAT_GPE0 */
int pm_smi_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data);   /* PLAT_SMI_CMD, 1 byte */
int pm_reset_io(void *pm, uint64_t offset, unsigned size, bool write, uint64_t *data); /* PLAT_RESET_PORT, 1 byte */
/* True once the guest enabled ACPI mode (SCI_EN set via SMI_CMD). */
bool pm_acpi_enabled(struct pm *pm);
/* Power button press: PWRBTN_STS, SCI if enabled. Returns pm_acpi_enabled(). */
bool pm_power_button(struct pm *pm);

/* ---- i8042 keyboard controller, only what is needed: status reads and the
 *      0xFE reset pulse on the command port. offset 0 = 0x60, 4 = 0x64 ---- */
struct i8042;
struct i8042 *i8042_new(const struct power_sink *ps);
void i8042_free(struct i8042 *k);
int i8042_io(void *k, uint64_t offset, unsigned size, bool write, uint64_t *data);

/* ---- POST code port 0x80: remembers the last value (shown in stats) ---- */
struct post;
struct post *post_new(void);
void post_free(struct post *p);
int post_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data);
uint8_t post_last(struct post *p);

#endif
