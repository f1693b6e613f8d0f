/* PVH entry: the XEN_ELFNOTE_PHYS32_ENTRY note and the 32-bit entry point.
 * Entered in 32-bit protected mode, paging off, ebx = hvm_start_info. */
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
	movl (%ebx), %ecx	/* hvm_start_info magic */
	movl $1, %eax
	jmp start32_common

	.section .note.GNU-stack, "", @progbits
