/*
 * 64-bit PVH test guest: the PVH note, the 32-bit entry (protected mode,
 * paging off, ebx = hvm_start_info), the switch to long mode with static
 * identity page tables (low 4 GiB, 2 MiB pages, user-accessible so ring-3
 * drivers can touch RAM and MMIO), a GDT with user segments and a TSS,
 * 256 interrupt stubs returning with IRETQ, and the ring-3 entry/exit.
 *
 * GDT selectors: 0x08 kernel code64, 0x10 kernel data, 0x1B user data,
 * 0x23 user code64, 0x28 TSS (16 bytes).
 */
#define KCODE 0x08
#define KDATA 0x10
#define UDATA 0x1B
#define UCODE 0x23
#define TSSSEL 0x28
#define PTE_FLAGS 0x87		/* present, writable, user, 2 MiB page */
#define PTR_FLAGS 0x07		/* present, writable, user */

	.section .note.pvh, "a", @note
	.align 4
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.align 4
	.long pvh_entry
	.align 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	movl %ebx, %edi		/* start info: first argument of c_start64p */
	movl (%ebx), %esi	/* magic: second argument */
	movl %cr4, %eax
	orl $0x20, %eax		/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx	/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax	/* PG | PE */
	andl $~0x60000000, %eax	/* caches on (CD, NW clear) */
	movl %eax, %cr0
	lgdt gdt_desc
	ljmp $KCODE, $lm_start

	.code64
lm_start:
	movl $KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call c_start64p
1:	cli
	hlt
	jmp 1b

/* ---- interrupt stubs: 16 bytes each, isr_stubs + 16 * vector ---- */
	.section .text
	.globl isr_stubs
	.align 16
isr_stubs:
	.set isr_i, 0
	.rept 256
	.align 16
	.if (isr_i == 8) || (isr_i == 10) || (isr_i == 11) || (isr_i == 12) || (isr_i == 13) || (isr_i == 14) || (isr_i == 17) || (isr_i == 21) || (isr_i == 29) || (isr_i == 30)
	.else
	pushq $0
	.endif
	pushq $isr_i
	jmp isr_common
	.set isr_i, isr_i + 1
	.endr

/* Frame layout must match struct intr_frame in cpu64p.c. */
isr_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	movq %rsp, %rbx
	andq $~15, %rsp
	call isr_dispatch
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp		/* vector, error code */
	iretq

/*
 * long user_enter(long (*fn)(void *), void *arg, void *stack_top):
 * run fn(arg) at CPL 3 (IOPL 3, interrupts on) on the given stack; returns
 * fn's result once it comes back through user_exit (int $0x81, rax = 0).
 * Not reentrant: one ring-3 context at a time (BSP only).
 */
	.globl user_enter
user_enter:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, user_kernel_rsp(%rip)
	movq %rdi, %rbx		/* fn (callee-saved across the call in ring 3) */
	movq %rsi, %rdi		/* arg */
	pushq $UDATA		/* ss */
	pushq %rdx		/* rsp */
	pushq $0x3202		/* rflags: IOPL 3, IF */
	pushq $UCODE		/* cs */
	leaq user_tramp(%rip), %rax
	pushq %rax		/* rip */
	movl $UDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	xorl %ebp, %ebp
	iretq

/* Ring 3: call fn(arg), then leave through int $0x81 with rax = 0. */
user_tramp:
	andq $~15, %rsp
	call *%rbx
	movq %rax, %rdi		/* result */
	xorl %eax, %eax		/* syscall 0: exit ring 3 */
	int $0x81
2:	jmp 2b

/*
 * Called from isr_dispatch (ring 0, interrupt stack) for the exit syscall:
 * drop the ring-3 context and return `result` from user_enter.
 */
	.globl user_exit_to_kernel
user_exit_to_kernel:
	movl $KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movq user_kernel_rsp(%rip), %rsp
	movq %rdi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* ---- data: page tables, GDT, TSS, stacks ---- */
	.section .data
	.align 4096
	.globl pml4
pml4:
	.quad pdpt + PTR_FLAGS
	.fill 511, 8, 0
pdpt:
	.quad pd0 + PTR_FLAGS
	.quad pd1 + PTR_FLAGS
	.quad pd2 + PTR_FLAGS
	.quad pd3 + PTR_FLAGS
	.fill 508, 8, 0
pd0:
	.set pg, 0
	.rept 2048
	.quad pg + PTE_FLAGS
	.set pg, pg + 0x200000
	.endr
pd1 = pd0 + 4096
pd2 = pd0 + 8192
pd3 = pd0 + 12288

	.align 16
	.globl gdt, gdt_desc, tss64
gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08 kernel code, 64-bit */
	.quad 0x00CF92000000FFFF	/* 0x10 kernel data */
	.quad 0x00CFF2000000FFFF	/* 0x18 user data (DPL 3) */
	.quad 0x00AFFA000000FFFF	/* 0x20 user code, 64-bit (DPL 3) */
gdt_tss:
	.quad 0			/* 0x28 TSS, filled by cpu64p.c */
	.quad 0
gdt_end:
	.align 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.align 16
tss64:
	.fill 104, 1, 0
	.globl tss_iobitmap
tss_iobitmap:			/* every port allowed at CPL 3 (all zero bits) */
	.fill 8192, 1, 0
	.byte 0xFF		/* the bitmap's required terminator */
tss_end:

	.align 8
user_kernel_rsp:
	.quad 0

	.section .bss
	.align 16
	.globl irq_stack_top, user_stack_top
boot_stack:
	.skip 32768
boot_stack_top:
irq_stack:
	.skip 32768
irq_stack_top:
user_stack:
	.skip 65536
user_stack_top:

	.section .note.GNU-stack, "", @progbits
