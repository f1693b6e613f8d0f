/* Multiboot v1 header and entry (eax = 0x2BADB002, ebx = multiboot info). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000002	/* want memory info */
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl mb_entry
mb_entry:
	cli
	movl %eax, %ecx
	movl $2, %eax
	jmp start32_common

	.section .note.GNU-stack, "", @progbits
