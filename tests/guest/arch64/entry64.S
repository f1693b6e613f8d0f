/*
 * 64-bit payload head. Offset 0: 32-bit entry (not supported: halts).
 * Offset 0x100: kernel_info. Offset 0x200: 64-bit entry, long mode,
 * identity-mapped, rsi = boot_params, no stack, anywhere in memory.
 */
	.section .head32, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
1:	hlt
	jmp 1b

	.section .kernel_info, "a"
	.ascii "LToP"		/* header */
	.long 16		/* size */
	.long 16		/* size_total */
	.long 0			/* setup_type_max */

	.section .head64, "ax"
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	leaq boot_stack_top(%rip), %rsp
	movq %rsi, %rbx
	leaq __image_base(%rip), %rdi	/* runtime address of link address 0 */
	call reloc64
	movq %rbx, %rdi
	call c_start64
2:	cli
	hlt
	jmp 2b

	.section .bss
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
