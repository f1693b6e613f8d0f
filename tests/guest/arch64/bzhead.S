/*
 * Hand-made bzImage (Linux x86 boot protocol 2.15): boot sector + setup
 * header + a small real-mode stub, followed by the 64-bit payload
 * (PAYLOAD, a flat binary whose offset 0x200 is the 64-bit entry).
 *
 * Loaders using the 64-bit boot protocol (lhyve) enter the payload at
 * load address + 0x200 in long mode with rsi = boot_params. Loaders that
 * run the real-mode setup (QEMU -kernel, legacy boot loaders) enter at
 * setup + 0x200; the stub then builds identity page tables for the low
 * 4 GiB, switches to long mode and jumps to code32_start + 0x200.
 */
#define SETUP_SECTS 2
#define PT_BASE 0x30000		/* real-mode path: 6 pages of page tables */

	.section .bzimage, "ax"
	.code16
bz_start:
	.org 0x1F1
	.byte SETUP_SECTS	/* 0x1F1 setup_sects */
	.word 0			/* 0x1F2 root_flags */
	.long (payload_end - payload_start + 15) / 16 /* 0x1F4 syssize */
	.word 0			/* 0x1F8 ram_size */
	.word 0xFFFF		/* 0x1FA vid_mode: normal */
	.word 0			/* 0x1FC root_dev */
	.word 0xAA55		/* 0x1FE boot_flag */
	.org 0x200
	jmp rm_start		/* 0x200 jump */
	.ascii "HdrS"		/* 0x202 header */
	.word 0x020F		/* 0x206 version 2.15 */
	.long 0			/* 0x208 realmode_swtch */
	.word 0x1000		/* 0x20C start_sys_seg */
	.word kversion - bz_start - 0x200 /* 0x20E kernel_version */
	.byte 0			/* 0x210 type_of_loader */
	.byte 0x01		/* 0x211 loadflags: LOADED_HIGH */
	.word 0			/* 0x212 setup_move_size */
	.long 0x100000		/* 0x214 code32_start */
	.long 0			/* 0x218 ramdisk_image */
	.long 0			/* 0x21C ramdisk_size */
	.long 0			/* 0x220 bootsect_kludge */
	.word 0			/* 0x224 heap_end_ptr */
	.byte 0			/* 0x226 ext_loader_ver */
	.byte 0			/* 0x227 ext_loader_type */
	.long 0			/* 0x228 cmd_line_ptr */
	.long 0x7FFFFFFF	/* 0x22C initrd_addr_max */
	.long 0x200000		/* 0x230 kernel_alignment */
	.byte 1			/* 0x234 relocatable_kernel */
	.byte 12		/* 0x235 min_alignment (log2) */
	.word 0x0001		/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long 2047		/* 0x238 cmdline_size */
	.long 0			/* 0x23C hardware_subarch */
	.quad 0			/* 0x240 hardware_subarch_data */
	.long 0			/* 0x248 payload_offset */
	.long 0			/* 0x24C payload_length */
	.quad 0			/* 0x250 setup_data */
	.quad 0x1000000		/* 0x258 pref_address */
	.long ((payload_end - payload_start) + 0xFFFF) & ~0xFFF /* 0x260 init_size */
	.long 0			/* 0x264 handover_offset */
	.long 0x100		/* 0x268 kernel_info_offset */
	.org 0x26C

kversion:
	.asciz "lhyve test guest"

/* Real-mode entry: CS = setup segment + 0x20, IP = 0. */
rm_start:
	cli
	cld
	movw %cs, %ax
	subw $0x20, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $0xE000, %sp
	movzwl %ax, %ebx
	shll $4, %ebx		/* ebx = linear address of boot_params */
	/* Page tables: PML4, PDPT, 4 PDs of 2 MiB pages (identity, 4 GiB). */
	movw $(PT_BASE >> 4), %ax
	movw %ax, %es
	xorl %eax, %eax
	xorw %di, %di
	movl $(6 * 1024), %ecx
	rep stosl
	movl $(PT_BASE + 0x1000 + 3), %es:0
	xorw %di, %di
	movl $(PT_BASE + 0x2000 + 3), %eax
1:	movl %eax, %es:0x1000(%di)
	addl $0x1000, %eax
	addw $8, %di
	cmpw $32, %di
	jb 1b
	xorw %di, %di
	movl $0x83, %eax	/* present, writable, 2 MiB */
	xorl %edx, %edx
2:	movl %eax, %es:0x2000(%di)
	movl %edx, %es:0x2004(%di)
	addl $0x200000, %eax
	adcl $0, %edx
	addw $8, %di
	cmpw $0x4000, %di
	jb 2b
	/* GDT descriptor base = linear address of rm_gdt. */
	movl %ebx, %eax
	addl $(rm_gdt - bz_start), %eax
	movl %eax, (rm_gdtr - bz_start + 2)
	lgdtl (rm_gdtr - bz_start)
	movl %cr4, %eax
	orl $0x20, %eax		/* PAE */
	movl %eax, %cr4
	movl $PT_BASE, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx	/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax	/* PG | PE */
	movl %eax, %cr0
	/* Far return into the 64-bit code segment. */
	pushl $0x08
	movl %ebx, %eax
	addl $(lm_entry - bz_start), %eax
	pushl %eax
	lretl

	.code64
lm_entry:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %ebx, %esi		/* boot_params */
	movl 0x214(%rsi), %eax	/* code32_start as updated by the loader */
	addq $0x200, %rax
	jmp *%rax

	.align 8
rm_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF	/* 0x08 64-bit code */
	.quad 0x00CF92000000FFFF	/* 0x10 data */
rm_gdt_end:
	.align 4
rm_gdtr:
	.word rm_gdt_end - rm_gdt - 1
	.long 0

	.org (SETUP_SECTS + 1) * 512
payload_start:
	.incbin PAYLOAD
	.balign 16
payload_end:

	.section .note.GNU-stack, "", @progbits
