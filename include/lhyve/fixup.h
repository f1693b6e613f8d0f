/*
 * Completing instructions a host KVM emulator rejects (arch/x86/fixup.c).
 * Only for src/core and src/arch (takes a vCPU fd).
 */
#ifndef LHYVE_FIXUP_H
#define LHYVE_FIXUP_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem;

/* 1 if the instruction at RIP was completed (the vCPU may run on), else 0. */
int x86_emulation_fixup(int vcpu_fd, const struct guest_mem *gm);
/* Up to n instruction bytes at CS:RIP; returns how many could be read, or -errno. */
int x86_read_insn(int vcpu_fd, const struct guest_mem *gm, uint64_t *rip, uint8_t *buf, size_t n);

#endif
