/*
 * Completing instructions that this host's KVM instruction emulator rejects
 * (hosts whose KVM emulates guest ring-0 code, e.g. kvm_pvm; see
 * docs/design.md). Called on the vCPU thread after a KVM internal error of
 * the emulation kind; each instruction is completed exactly as the processor
 * would, or not at all:
 *   INT3 (CC)                 RIP past it, deliver #BP (a trap)
 *   CLAC / STAC (0F 01 CA/CB) RFLAGS.AC = 0 / 1
 *   FWAIT (9B)                no x87 exception can be pending: no-op
 *   POPCNT r, r               F3 [66] [REX] 0F B8 /r, register source (64-bit mode)
 *   LDMXCSR / STMXCSR m32     [REX] 0F AE /2 and /3, memory operand (64-bit mode);
 *                             LDMXCSR only when it loads the current value
 * Memory operands are translated with KVM_TRANSLATE and must be RAM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lhyve/fixup.h"
#include "lhyve/mem.h"

struct insn {
	const uint8_t *b;
	unsigned n;    /* bytes available */
	unsigned pos;  /* next byte */
	unsigned rex;
	bool opsize16;
	bool rep;      /* F3 */
	int seg;       /* -1, or 4 = FS, 5 = GS override */
};

static __u64 *gpr(struct kvm_regs *r, unsigned i)
{
	__u64 *t[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			 &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	return t[i & 15];
}

static void prefixes(struct insn *in, bool long_mode)
{
	in->seg = -1;
	for (; in->pos < in->n; in->pos++) {
		uint8_t c = in->b[in->pos];
		if (c == 0xF3)
			in->rep = true;
		else if (c == 0x66)
			in->opsize16 = true;
		else if (c == 0x64)
			in->seg = 4;
		else if (c == 0x65)
			in->seg = 5;
		else if (c == 0x2E || c == 0x3E || c == 0x26 || c == 0x36)
			continue; /* null segments in 64-bit mode */
		else
			break;
	}
	if (long_mode && in->pos < in->n && (in->b[in->pos] & 0xF0) == 0x40)
		in->rex = in->b[in->pos++];
}

/* A signed 32-bit displacement at in->pos; false if the bytes are not there. */
static bool disp32(struct insn *in, int64_t *disp)
{
	int32_t d32;

	if (in->pos + 4 > in->n)
		return false;
	memcpy(&d32, &in->b[in->pos], 4);
	in->pos += 4;
	*disp = d32;
	return true;
}

/*
 * Decode the ModRM memory operand at in->pos (64-bit addressing). Sets *ea
 * (before adding RIP for RIP-relative: *riprel) and advances in->pos past
 * ModRM/SIB/displacement. Returns the ModRM byte, or -1.
 */
static int modrm_mem(struct insn *in, struct kvm_regs *r, uint64_t *ea, bool *riprel)
{
	if (in->pos >= in->n)
		return -1;
	unsigned modrm = in->b[in->pos++];
	unsigned mod = modrm >> 6, rm = modrm & 7;
	uint64_t addr = 0;
	int64_t disp = 0;

	*riprel = false;
	if (mod == 3)
		return -1;
	if (rm == 4) { /* SIB */
		if (in->pos >= in->n)
			return -1;
		unsigned sib = in->b[in->pos++];
		unsigned scale = sib >> 6, idx = ((in->rex >> 1) & 1) << 3 | ((sib >> 3) & 7);
		unsigned base = (in->rex & 1) << 3 | (sib & 7);
		if (idx != 4)
			addr += *gpr(r, idx) << scale;
		if ((sib & 7) == 5 && mod == 0) {
			if (!disp32(in, &disp))
				return -1;
		} else {
			addr += *gpr(r, base);
		}
	} else if (rm == 5 && mod == 0) {
		if (!disp32(in, &disp))
			return -1;
		*riprel = true;
	} else {
		addr += *gpr(r, (in->rex & 1) << 3 | rm);
	}
	if (mod == 1) {
		if (in->pos + 1 > in->n)
			return -1;
		disp = (int8_t)in->b[in->pos++];
	} else if (mod == 2 && !disp32(in, &disp)) {
		return -1;
	}
	*ea = addr + (uint64_t)disp;
	return (int)modrm;
}

/* Copy between guest linear memory and buf, page by page through KVM_TRANSLATE. */
static int linear_rw(int fd, const struct guest_mem *gm, uint64_t la, void *buf, size_t len,
		     bool write)
{
	uint8_t *p = buf;

	while (len) {
		struct kvm_translation tr = { .linear_address = la };
		size_t chunk = 4096 - (la & 4095);
		if (chunk > len)
			chunk = len;
		if (ioctl(fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid || (write && !tr.writeable))
			return -EFAULT;
		void *h = gm_ptr(gm, tr.physical_address, chunk);
		if (!h)
			return -EFAULT;
		if (write)
			memcpy(h, p, chunk);
		else
			memcpy(p, h, chunk);
		la += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

int x86_read_insn(int fd, const struct guest_mem *gm, uint64_t *rip, uint8_t *buf, size_t n)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	size_t got = 0;

	if (ioctl(fd, KVM_GET_REGS, &regs) < 0 || ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	*rip = regs.rip;
	/* Byte by byte up to the first unreadable one (the insn may end a page early). */
	for (; got < n; got++)
		if (linear_rw(fd, gm, sregs.cs.base + regs.rip + got, &buf[got], 1, false) < 0)
			break;
	return (int)got;
}

static unsigned popcnt(struct insn *in, struct kvm_regs *regs)
{
	unsigned i = in->pos, opsize = in->rex & 8 ? 64 : in->opsize16 ? 16 : 32;

	if (!in->rep || i + 3 > in->n || in->b[i] != 0x0F || in->b[i + 1] != 0xB8 ||
	    (in->b[i + 2] >> 6) != 3)
		return 0;
	unsigned modrm = in->b[i + 2];
	unsigned reg = ((in->rex >> 2) & 1) << 3 | ((modrm >> 3) & 7);
	uint64_t src = *gpr(regs, (in->rex & 1) << 3 | (modrm & 7));
	if (opsize == 16)
		src &= 0xFFFF;
	else if (opsize == 32)
		src &= 0xFFFFFFFF;
	uint64_t cnt = (uint64_t)__builtin_popcountll(src);
	__u64 *dst = gpr(regs, reg);
	*dst = opsize == 16 ? (*dst & ~0xFFFFULL) | cnt : cnt; /* 32-bit results zero-extend */
	/* ZF = (src == 0); CF, OF, SF, AF, PF cleared */
	regs->rflags &= ~(uint64_t)(0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800);
	if (src == 0)
		regs->rflags |= 0x40;
	return i + 3;
}

/* LDMXCSR / STMXCSR m32: returns the length, 0 if not this, -1 on a fault. */
static int mxcsr(int fd, const struct guest_mem *gm, struct insn *in, struct kvm_regs *regs,
		 const struct kvm_sregs *sregs)
{
	unsigned i = in->pos;
	uint64_t ea;
	bool riprel;
	struct kvm_xsave xs;
	uint32_t v;

	if (in->rep || in->opsize16 || i + 3 > in->n || in->b[i] != 0x0F || in->b[i + 1] != 0xAE)
		return 0;
	unsigned op = (in->b[i + 2] >> 3) & 7;
	if ((op != 2 && op != 3) || (in->b[i + 2] >> 6) == 3)
		return 0;
	in->pos = i + 2;
	if (modrm_mem(in, regs, &ea, &riprel) < 0)
		return 0;
	if (riprel)
		ea += regs->rip + in->pos;
	if (in->seg == 4)
		ea += sregs->fs.base;
	else if (in->seg == 5)
		ea += sregs->gs.base;
	/*
	 * MXCSR as the XSAVE image shows it (legacy region, byte 24). On the
	 * host this exists for, neither KVM_SET_FPU nor KVM_SET_XSAVE changes
	 * the live MXCSR, so LDMXCSR is completed only when it loads the value
	 * MXCSR already has (kernel_fpu_begin() loading the default): then it
	 * is exactly a no-op. Any other value is left to fail (status 4).
	 */
	if (ioctl(fd, KVM_GET_XSAVE, &xs) < 0)
		return -1;
	if (op == 2) {
		uint32_t cur;
		if (linear_rw(fd, gm, ea, &v, 4, false) < 0)
			return -1;
		memcpy(&cur, (uint8_t *)xs.region + 24, 4);
		if (v != cur)
			return -1;
	} else {
		memcpy(&v, (uint8_t *)xs.region + 24, 4);
		if (linear_rw(fd, gm, ea, &v, 4, true) < 0)
			return -1;
	}
	return (int)in->pos;
}

int x86_emulation_fixup(int fd, const struct guest_mem *gm)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	uint8_t b[15];
	uint64_t rip;
	int n = x86_read_insn(fd, gm, &rip, b, sizeof(b));
	struct insn in = { .b = b, .n = n > 0 ? (unsigned)n : 0 };
	bool lm;
	int len;

	if (n < 1 || ioctl(fd, KVM_GET_REGS, &regs) < 0 || ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return 0;
	lm = sregs.cs.l && (sregs.efer & (1u << 10));
	if (b[0] == 0xCC) {
		if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return 0;
		regs.rip += 1;
		ev.exception.injected = 1;
		ev.exception.nr = 3;
		ev.exception.has_error_code = 0;
		ev.exception.error_code = 0;
		ev.flags = 0;
		if (ioctl(fd, KVM_SET_REGS, &regs) < 0 || ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return 0;
		return 1;
	}
	if (b[0] == 0x9B) {
		len = 1;
	} else if (n >= 3 && b[0] == 0x0F && b[1] == 0x01 && (b[2] == 0xCA || b[2] == 0xCB)) {
		if (b[2] == 0xCA)
			regs.rflags &= ~(1ULL << 18);
		else
			regs.rflags |= 1ULL << 18;
		len = 3;
	} else if (lm) {
		prefixes(&in, true);
		unsigned start = in.pos;
		if ((len = (int)popcnt(&in, &regs)) == 0) {
			in.pos = start;
			len = mxcsr(fd, gm, &in, &regs, &sregs);
			if (len <= 0)
				return 0;
		}
	} else {
		return 0;
	}
	regs.rip += (unsigned)len;
	return ioctl(fd, KVM_SET_REGS, &regs) < 0 ? 0 : 1;
}
