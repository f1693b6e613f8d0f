/*
 * 32-bit entry glue shared by the PVH and multiboot guests: flat GDT,
 * boot stack, 256 interrupt stubs, and the real-mode AP trampoline that
 * cpu32.c copies below 1 MiB.
 */
#define TRAMP_BASE 0x10000

	.section .text
	.code32
	.globl start32_common
/* eax = boot protocol (1 PVH, 2 multiboot), ebx = boot info, ecx = magic */
start32_common:
	cli
	cld
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %dx
	movw %dx, %ds
	movw %dx, %es
	movw %dx, %ss
	movw %dx, %fs
	movw %dx, %gs
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp
	pushl %ecx
	pushl %ebx
	pushl %eax
	call c_start32
2:	cli
	hlt
	jmp 2b

/* ---- interrupt stubs: 16 bytes each, isr_stubs + 16 * vector ---- */
	.globl isr_stubs
	.align 16
isr_stubs:
	.set isr_i, 0
	.rept 256
	.align 16
	.if (isr_i == 8) || (isr_i == 10) || (isr_i == 11) || (isr_i == 12) || (isr_i == 13) || (isr_i == 14) || (isr_i == 17) || (isr_i == 21) || (isr_i == 29) || (isr_i == 30)
	.else
	pushl $0
	.endif
	pushl $isr_i
	jmp isr_common
	.set isr_i, isr_i + 1
	.endr

/*
 * Return without IRET: on hosts whose KVM emulates ring-0 guest code
 * (kvm_pvm, see reference/nested-kvm.md), IRET in protected mode is not
 * emulated and ends KVM_RUN with an emulation failure. All interrupts and
 * exceptions here are taken and returned at CPL 0 on the same stack, so
 * an IRET is equivalent to: restore EFLAGS, then a near return that drops
 * CS and EFLAGS. An interrupt arriving between POPF and RET nests below
 * the still-intact frame, which is harmless.
 */
isr_common:
	pushal
	cld
	pushl %esp
	call isr_dispatch
	addl $4, %esp
	popal
	addl $8, %esp		/* vector, error code: now eip, cs, eflags */
	pushl 8(%esp)
	popfl
	ret $8

/* ---- AP trampoline (copied to TRAMP_BASE, entered with CS=0x1000 IP=0) ---- */
	.globl tramp_start, tramp_end, tramp_gdtr, tramp_stack, tramp_arg, tramp_entry
	.align 16
	.code16
tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (tramp_gdtr - tramp_start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $(tramp_pm - tramp_start + TRAMP_BASE)
	.code32
tramp_pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl (tramp_stack - tramp_start + TRAMP_BASE), %esp
	pushl (tramp_arg - tramp_start + TRAMP_BASE)
	movl (tramp_entry - tramp_start + TRAMP_BASE), %eax
	call *%eax
3:	cli
	hlt
	jmp 3b
	.align 8
tramp_gdtr:
	.word 0
	.long 0
	.word 0
tramp_stack:
	.long 0
tramp_arg:
	.long 0
tramp_entry:
	.long 0
tramp_end:

/* ---- GDT: null, kernel code/data, user code/data, TSS (filled later) ---- */
	.section .data
	.align 16
	.globl gdt, gdt_desc
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* 0x08 kernel code */
	.quad 0x00CF92000000FFFF	/* 0x10 kernel data */
	.quad 0x00CFFA000000FFFF	/* 0x1B user code */
	.quad 0x00CFF2000000FFFF	/* 0x23 user data */
	.quad 0			/* 0x28 TSS */
gdt_end:
	.align 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.globl ap_stacks
boot_stack:
	.skip 16384
boot_stack_top:
ap_stacks:
	.skip 4096 * 64

	.section .note.GNU-stack, "", @progbits
