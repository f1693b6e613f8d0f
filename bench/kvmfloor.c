/*
 * kvmfloor: the bare KVM_RUN floor for the exit benchmarks. It boots a PVH
 * ELF (the benchmark guest) with the least a VMM can do: one memory slot,
 * one vCPU with KVM's supported CPUID, the in-kernel irqchip, and a run
 * loop that only copies COM1 output to stdout, answers reads with the
 * UART "transmitter empty" status or all-ones, and stops on a write to
 * port 0xF4 (the guest's exit port). Whatever lhyve spends above this per
 * exit is VMM overhead.
 *
 *   kvmfloor [-m MiB] [-d GPA] KERNEL "CMDLINE"   run; -d adds an
 *                                                  ioeventfd at GPA (2 bytes)
 *   kvmfloor --tsc-khz                             print KVM's guest TSC rate
 *
 * Benchmark tool, single-threaded; errors end the process with status 3.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_INFO 0x7000u
#define CMDLINE 0x8000u
#define PVH_MAGIC 0x336ec578u

struct floor {
	int kvm, vm, vcpu;
	uint8_t *mem;
	uint64_t memsize;
	struct kvm_run *run;
	uint64_t entry;
	uint8_t lcr; /* COM1 line control: DLAB turns 0x3F8 into the divisor */
};

static void floor_die(const char *what)
{
	fprintf(stderr, "kvmfloor: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void floor_load(struct floor *f, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *img;
	Elf64_Ehdr *eh;

	if (fd < 0 || fstat(fd, &st) < 0)
		floor_die(path);
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		floor_die("mmap kernel");
	close(fd);
	eh = (Elf64_Ehdr *)img;
	if ((size_t)st.st_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > (uint64_t)st.st_size) {
		errno = ENOEXEC;
		floor_die("not an ELF64 file");
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD) {
			if (ph->p_filesz > ph->p_memsz || ph->p_offset + ph->p_filesz > (uint64_t)st.st_size ||
			    ph->p_paddr + ph->p_memsz > f->memsize) {
				errno = EINVAL;
				floor_die("bad PT_LOAD");
			}
			memcpy(f->mem + ph->p_paddr, img + ph->p_offset, ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			uint64_t off = ph->p_offset, end = off + ph->p_filesz;

			if (end > (uint64_t)st.st_size)
				continue;
			while (off + 12 <= end) {
				uint32_t nsz, dsz, type;

				memcpy(&nsz, img + off, 4);
				memcpy(&dsz, img + off + 4, 4);
				memcpy(&type, img + off + 8, 4);
				uint64_t name = off + 12, desc = name + ((nsz + 3u) & ~3u);
				if (desc + dsz > end)
					break;
				if (type == 18 && nsz == 4 && !memcmp(img + name, "Xen", 4) && dsz >= 4) {
					uint32_t e;

					memcpy(&e, img + desc, 4);
					f->entry = e;
				}
				off = desc + ((dsz + 3u) & ~3u);
			}
		}
	}
	if (!f->entry) {
		errno = ENOEXEC;
		floor_die("no PVH entry note");
	}
}

static void floor_vcpu(struct floor *f)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct kvm_segment cs = { .base = 0, .limit = 0xFFFFFFFF, .selector = 0x8, .type = 0xB,
				  .present = 1, .db = 1, .s = 1, .g = 1 };
	struct kvm_segment ds = cs;
	int n = 256;

	cpuid = calloc(1, sizeof(*cpuid) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		floor_die("calloc");
	cpuid->nent = (uint32_t)n;
	if (ioctl(f->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		floor_die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(f->vcpu, KVM_SET_CPUID2, cpuid) < 0)
		floor_die("KVM_SET_CPUID2");
	free(cpuid);
	if (ioctl(f->vcpu, KVM_GET_SREGS, &sr) < 0)
		floor_die("KVM_GET_SREGS");
	ds.type = 0x3;
	ds.selector = 0x10;
	sr.cs = cs;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
	sr.cr0 = 0x11; /* PE | ET */
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(f->vcpu, KVM_SET_SREGS, &sr) < 0)
		floor_die("KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rip = f->entry;
	r.rbx = START_INFO;
	r.rflags = 2;
	if (ioctl(f->vcpu, KVM_SET_REGS, &r) < 0)
		floor_die("KVM_SET_REGS");
}

static int floor_loop(struct floor *f)
{
	for (;;) {
		struct kvm_run *run = f->run;

		if (ioctl(f->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			floor_die("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *p = (uint8_t *)run + run->io.data_offset;

			if (run->io.direction == KVM_EXIT_IO_OUT) {
				if (run->io.port == 0xF4) {
					fflush(stdout);
					return 0;
				}
				if (run->io.port == 0x3FB)
					f->lcr = p[0];
				if (run->io.port == 0x3F8 && !(f->lcr & 0x80))
					for (uint32_t i = 0; i < run->io.count; i++)
						putchar(p[i * run->io.size]);
				if (run->io.port == 0x3F8 && p[0] == '\n' && !(f->lcr & 0x80))
					fflush(stdout);
			} else {
				memset(p, run->io.port == 0x3FD ? 0x60 : 0xFF,
				       (size_t)run->io.size * run->io.count);
			}
			break;
		}
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
			break;
		case KVM_EXIT_HLT:
			fflush(stdout);
			return 2;
		default:
			fflush(stdout);
			fprintf(stderr, "kvmfloor: exit reason %u\n", run->exit_reason);
			return 3;
		}
	}
}

int main(int argc, char **argv)
{
	struct floor f = { .memsize = 256ull << 20 };
	uint64_t db = 0;
	int opt, mmap_size;

	f.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f.kvm < 0)
		floor_die("/dev/kvm");
	f.vm = ioctl(f.kvm, KVM_CREATE_VM, 0);
	if (f.vm < 0)
		floor_die("KVM_CREATE_VM");
	if (argc == 2 && !strcmp(argv[1], "--tsc-khz")) {
		f.vcpu = ioctl(f.vm, KVM_CREATE_VCPU, 0);
		int khz = f.vcpu < 0 ? -1 : ioctl(f.vcpu, KVM_GET_TSC_KHZ, 0);
		if (khz <= 0)
			floor_die("KVM_GET_TSC_KHZ");
		printf("%d\n", khz);
		return 0;
	}
	while ((opt = getopt(argc, argv, "m:d:")) != -1) {
		if (opt == 'm')
			f.memsize = strtoull(optarg, NULL, 0) << 20;
		else if (opt == 'd')
			db = strtoull(optarg, NULL, 0);
		else
			return 3;
	}
	if (optind + 2 != argc || f.memsize < (16ull << 20) || f.memsize > (3ull << 30)) {
		fprintf(stderr, "usage: kvmfloor [-m MiB] [-d GPA] KERNEL CMDLINE | --tsc-khz\n");
		return 3;
	}
	ioctl(f.vm, KVM_SET_TSS_ADDR, 0xFFFBD000ul); /* needed on VMX only */
	if (ioctl(f.vm, KVM_CREATE_IRQCHIP, 0) < 0)
		floor_die("KVM_CREATE_IRQCHIP");
	f.mem = mmap(NULL, f.memsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_NORESERVE, -1, 0);
	if (f.mem == MAP_FAILED)
		floor_die("mmap guest memory");
	struct kvm_userspace_memory_region reg = { .slot = 0, .guest_phys_addr = 0,
						   .memory_size = f.memsize,
						   .userspace_addr = (uintptr_t)f.mem };
	if (ioctl(f.vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		floor_die("KVM_SET_USER_MEMORY_REGION");
	floor_load(&f, argv[optind]);
	uint32_t si[14] = { PVH_MAGIC, 1 };
	uint64_t cmd = CMDLINE;
	memcpy(&si[6], &cmd, 8);
	memcpy(f.mem + START_INFO, si, sizeof(si));
	snprintf((char *)f.mem + CMDLINE, 4096, "%s", argv[optind + 1]);
	if (db) {
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		struct kvm_ioeventfd io = { .addr = db, .len = 2, .fd = efd };

		if (efd < 0 || ioctl(f.vm, KVM_IOEVENTFD, &io) < 0)
			floor_die("KVM_IOEVENTFD");
	}
	f.vcpu = ioctl(f.vm, KVM_CREATE_VCPU, 0);
	if (f.vcpu < 0)
		floor_die("KVM_CREATE_VCPU");
	mmap_size = ioctl(f.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		floor_die("KVM_GET_VCPU_MMAP_SIZE");
	f.run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, f.vcpu, 0);
	if (f.run == MAP_FAILED)
		floor_die("mmap kvm_run");
	floor_vcpu(&f);
	return floor_loop(&f);
}
