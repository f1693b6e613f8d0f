/*
 * The tiny startup guest: a 32-bit PVH ELF whose third instruction writes
 * 'S' to COM1's transmit register (the "first port write" the startup
 * benchmark times), then leaves: QEMU's isa-debug-exit (port 0xF4) and
 * ACPI S5 on lhyve's PM1a_CNT (0x404, SLP_TYP 5 | SLP_EN). With a command
 * line starting with 'i' it spins instead (memory benchmark; killed by the
 * harness). No stack, no memory writes: 12 instructions at most.
 */
	.section .note.pvh, "a", @note
	.align 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.align 4
	.long tiny_entry
	.align 4

	.text
	.code32
	.globl tiny_entry
tiny_entry:
	movw $0x3F8, %dx
	movb $'S', %al
	outb %al, %dx
	movl 24(%ebx), %esi	/* hvm_start_info.cmdline_paddr (low half) */
	testl %esi, %esi
	jz 2f
	cmpb $'i', (%esi)
	jne 2f
1:	pause
	jmp 1b
2:	movw $0xF4, %dx
	xorl %eax, %eax
	outb %al, %dx
	movw $0x404, %dx
	movw $0x3400, %ax
	outw %ax, %dx
	cli
3:	hlt
	jmp 3b
