/*
 * 64-bit PVH guest: ring-3 execution. The whole low 4 GiB is identity
 * mapped and user-accessible, and ring 3 runs with IOPL 3, so code called
 * through user_call() can use the runtime (printf, port and MMIO access,
 * cli/sti) unchanged; HLT from ring 3 is emulated by the #GP handler (sti;
 * hlt when the caller had interrupts on, otherwise halt for good).
 * Interrupt handlers still run in ring 0 (keep them tiny).
 */
#ifndef GUEST_CPU64P_H
#define GUEST_CPU64P_H

#include "../lib/rt.h"

#pragma GCC visibility push(hidden)

/* Run fn(arg) in ring 3 on the user stack and return its result. BSP only,
 * not nested. */
long user_call(long (*fn)(void *), void *arg);
/* True when the current code runs at CPL 3. */
bool in_user_mode(void);
/* The program (virtio/vmain.c), called by c_start64p after setup. */
void guest64_main(void);

#endif
