/*
 * Benchmark programs for the 64-bit PVH guest (bench64-pvh.elf, built by
 * bench/bench.mk). Same runtime as guest64-pvh.elf; the measured loops run
 * in ring 3 (user_call) and time themselves with RDTSC, which ring 3
 * executes natively; the host passes the TSC rate as tsc_khz=N.
 *
 * Results are printed as one line per measurement:
 *   BENCH name=<metric> ops=<N> ns=<elapsed> rate=<ops/s> [bytes=<N>]
 * and the guest powers off (isa-debug-exit port 0xF4 for QEMU and the
 * floor program, then ACPI S5 for lhyve).
 *
 * Concurrency: one CPU, ring-3 code only; no interrupts are used (queues
 * run with VRING_AVAIL_F_NO_INTERRUPT and are polled).
 */
#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H

#include "../virtio/vt.h"

#pragma GCC visibility push(hidden)

static inline uint64_t bn_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* Nanoseconds from TSC ticks (tsc_khz from the command line). */
uint64_t bn_ns(uint64_t ticks);
/* TSC ticks for a duration in milliseconds. */
uint64_t bn_ticks_ms(uint64_t ms);
/* Print one BENCH line. */
void bn_report(const char *name, uint64_t ops, uint64_t ticks, uint64_t bytes);
/* Probe a modern virtio-pci function whose capabilities may sit in any
 * memory BAR (QEMU uses BAR 4, lhyve BAR 0); fills d like vd_probe. */
int bn_probe(struct vd *d, uint32_t bdf);
/* Find, probe, initialise a virtio device and set up nq queues of qsize
 * entries with interrupts suppressed. 0 or -1. */
int bn_open(struct vd *d, uint16_t devid, uint64_t features, unsigned nq,
	    unsigned qsize);
/* Small xorshift PRNG. */
uint64_t bn_rand(uint64_t *state);

/* The programs (ring 3); 0 on success. */
long bn_blk(void *arg);
long bn_net(void *arg);

#endif
