/*
 * The guest's CPUID: KVM's supported set, with the topology of -c (leaf 1,
 * leaf 4, leaf 0xB/0x1F, AMD 0x80000008) and, on hosts whose KVM emulates
 * guest ring-0 code (nested "kvm_pvm"), without the features that host's
 * instruction emulator cannot execute (x86.nested_workarounds).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/log.h"
#include "lhyve/vm.h"

#define MAX_CPUID_ENTRIES 256

bool cpuid_host_emulates_ring0(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;
	while ((1u << b) < n)
		b++;
	return b;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == idx))
			return &c->entries[i];
	return NULL;
}

static void del_leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function != fn)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

static struct kvm_cpuid_entry2 *add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, bool sig)
{
	if (c->nent >= MAX_CPUID_ENTRIES)
		return NULL;
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = sig ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	return e;
}

static void hide_unemulated(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e;

	if ((e = find(c, 1, 0))) {
		/* FMA, CX16, PCID, MOVBE, XSAVE, OSXSAVE, AVX, F16C */
		e->ecx &= ~((1u << 12) | (1u << 13) | (1u << 17) | (1u << 22) | (1u << 26) |
			    (1u << 27) | (1u << 28) | (1u << 29));
	}
	if ((e = find(c, 7, 0))) {
		/* AVX2, INVPCID, AVX-512*, SMAP (stac/clac), CLFLUSHOPT, CLWB, SHA */
		e->ebx &= ~((1u << 5) | (1u << 10) | (1u << 16) | (1u << 17) | (1u << 20) |
			    (1u << 21) | (1u << 23) | (1u << 24) | (1u << 26) | (1u << 27) |
			    (1u << 28) | (1u << 29) | (1u << 30) | (1u << 31));
		/* AVX-512 VBMI etc., UMIP-free set: VAES, VPCLMULQDQ, GFNI, PKU */
		e->ecx &= ~((1u << 1) | (1u << 3) | (1u << 6) | (1u << 8) | (1u << 9) |
			    (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14));
		e->edx &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
	}
	if ((e = find(c, 7, 1)))
		e->eax &= ~((1u << 4) | (1u << 5)); /* AVX-VNNI, AVX512_BF16 */
	del_leaf(c, 0xD); /* XSAVE state enumeration */
	if ((e = find(c, 0x80000008, 0)))
		e->ebx &= ~(1u << 4); /* RDPRU */
	if ((e = find(c, 0x80000001, 0)))
		e->ecx &= ~((1u << 16) | (1u << 11)); /* FMA4, XOP */
}

int cpuid_build(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_CPUID_ENTRIES * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 *e;
	unsigned tbits = bits_for(vm->threads), cbits = bits_for(vm->cores);
	unsigned per_pkg = vm->cores * vm->threads;

	if (!c)
		return -ENOMEM;
	c->nent = MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -errno;
	}
	if (vm->nested_workarounds)
		hide_unemulated(c);

	if ((e = find(c, 1, 0))) {
		e->ebx = (e->ebx & 0x0000FFFF) | ((per_pkg > 255 ? 255 : per_pkg) << 16);
		if (per_pkg > 1)
			e->edx |= 1u << 28; /* HTT: multi-threading/multi-core package */
		e->ecx |= 1u << 31;         /* running under a hypervisor */
	}
	/* Deterministic cache parameters (Intel leaf 4): cores per package. */
	for (uint32_t i = 0; (e = find(c, 4, i)) && (e->eax & 0x1F); i++) {
		unsigned level = (e->eax >> 5) & 7;
		unsigned sharing = level >= 3 ? per_pkg : vm->threads;
		e->eax = (e->eax & 0x3FFF) | ((sharing - 1) << 14) | ((vm->cores - 1) << 26);
	}
	/* Extended topology (leaf 0xB, and 0x1F when the host has it). */
	del_leaf(c, 0xB);
	for (uint32_t sub = 0; sub < 3; sub++) {
		if (!(e = add(c, 0xB, sub, true)))
			break;
		if (sub == 0) {
			e->eax = tbits;
			e->ebx = vm->threads;
			e->ecx = (1u << 8) | sub;
		} else if (sub == 1) {
			e->eax = tbits + cbits;
			e->ebx = per_pkg;
			e->ecx = (2u << 8) | sub;
		} else {
			e->ecx = sub;
		}
	}
	if (find(c, 0x1F, 0)) {
		del_leaf(c, 0x1F);
		for (uint32_t sub = 0; sub < 3; sub++) {
			struct kvm_cpuid_entry2 *b = find(c, 0xB, sub);
			if (b && (e = add(c, 0x1F, sub, true))) {
				uint32_t idx = e->index, fl = e->flags;
				*e = *b;
				e->function = 0x1F;
				e->index = idx;
				e->flags = fl;
			}
		}
	}
	if ((e = find(c, 0, 0)) && e->eax < 0xB)
		e->eax = 0xB;
	/* AMD: number of cores per package and APIC ID size. */
	if ((e = find(c, 0x80000008, 0)))
		e->ecx = (e->ecx & ~0xF0FFu) | ((per_pkg - 1) & 0xFF) | ((tbits + cbits) << 12);
	if ((e = find(c, 0x80000001, 0)) && per_pkg > 1)
		e->ecx |= 1u << 1; /* CmpLegacy */
	/* No AMD 0x8000001E topology leaf: the guest uses leaf 0xB. */
	if ((e = find(c, 0x80000001, 0)))
		e->ecx &= ~(1u << 22); /* TOPOEXT */
	del_leaf(c, 0x8000001E);
	vm->cpuid = c;
	return 0;
}

int cpuid_apply(struct vm *vm, struct vcpu *v)
{
	struct kvm_cpuid2 *tmpl = vm->cpuid;
	size_t sz = sizeof(*tmpl) + tmpl->nent * sizeof(tmpl->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	struct kvm_cpuid_entry2 *e;
	int rc = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, tmpl, sz);
	if ((e = find(c, 1, 0)))
		e->ebx = (e->ebx & 0x00FFFFFF) | (v->id << 24);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xB || c->entries[i].function == 0x1F)
			c->entries[i].edx = v->id;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		rc = -errno;
	free(c);
	return rc;
}
