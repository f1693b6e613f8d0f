/*
 * bhyve: run one virtual machine on Linux/KVM with FreeBSD bhyve(8)'s
 * command line. argv -> config tree -> VM -> explicit init -> run.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lhyve/chardev.h"
#include "lhyve/cli.h"
#include "lhyve/config.h"
#include "lhyve/ctl.h"
#include "lhyve/event.h"
#include "lhyve/hw.h"
#include "lhyve/log.h"
#include "lhyve/registry.h"
#include "lhyve/sandbox.h"
#include "lhyve/vm.h"

#define EX_USAGE 64

/* Show "bhyve: NAME" as the process title (libvirt looks for it). */
static void set_proctitle(int argc, char **argv, const char *name)
{
	char *start = argv[0], *end = argv[0] + strlen(argv[0]);
	char title[256];

	for (int i = 1; i < argc; i++)
		if (argv[i] == end + 1)
			end = argv[i] + strlen(argv[i]);
	snprintf(title, sizeof(title), "bhyve: %s", name);
	size_t room = (size_t)(end - start);
	memset(start, 0, room);
	memcpy(start, title, strlen(title) < room ? strlen(title) : room);
	prctl(PR_SET_NAME, "bhyve", 0, 0, 0);
}

static void fatal_signal(int sig)
{
	chardev_restore_terminals();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Die by `sig` as bhyve would, leaving the terminal and the registry clean. */
static void die_by_signal(struct vm *vm, int sig)
{
	sigset_t set;

	chardev_restore_terminals();
	registry_release(vm->reg);
	vm->reg = NULL;
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void signal_cb(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	while (read(vm->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGTERM && vm->pm && pm_power_button(vm->pm)) {
			log_info("SIGTERM: ACPI power button pressed");
			continue;
		}
		die_by_signal(vm, sig);
	}
}

static int setup_signals(struct vm *vm, sigset_t *handled)
{
	struct sigaction sa = { .sa_handler = fatal_signal, .sa_flags = SA_RESETHAND };
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	vm->sigfd = signalfd(-1, handled, SFD_NONBLOCK | SFD_CLOEXEC);
	if (vm->sigfd < 0)
		return -errno;
	return ev_add_fd(vm->loop, vm->sigfd, EPOLLIN, signal_cb, vm);
}

/* vcpu.N.cpuset for a vCPU the VM does not have is an error. */
struct pin_check {
	unsigned ncpus;
	char *err;
	size_t errlen;
};

static int pin_check_cb(void *opaque, const char *name)
{
	struct pin_check *pc = opaque;
	char *end;
	unsigned long n = strtoul(name, &end, 10);

	if (*end || n >= pc->ncpus) {
		snprintf(pc->err, pc->errlen, "vcpu.%s.cpuset: the VM has only %u vCPUs", name,
			 pc->ncpus);
		return -EINVAL;
	}
	return 0;
}

static int read_topology(struct vm *vm, char *err, size_t errlen)
{
	struct config_topology t;
	struct config *c = vm->cfg;

	if (config_get_topology(c, &t, err, errlen) < 0)
		return -EINVAL;
	uint64_t cpus = t.cpus;
	int max = vcpu_max_supported(vm);
	if (max > 0 && cpus > (uint64_t)max) {
		snprintf(err, errlen, "%llu vCPUs requested, this host's KVM supports %d",
			 (unsigned long long)cpus, max);
		return -EINVAL;
	}
	vm->ncpus = t.cpus;
	vm->sockets = t.sockets;
	vm->cores = t.cores;
	vm->threads = t.threads;
	struct pin_check pc = { vm->ncpus, err, errlen };
	if (config_has(c, "vcpu") && config_foreach_child(c, "vcpu", pin_check_cb, &pc) < 0)
		return -EINVAL;
	return 0;
}

static int read_policy(struct vm *vm, char *err, size_t errlen)
{
	const char *nw = config_get(vm->cfg, "x86.nested_workarounds");

	config_get_bool(vm->cfg, "x86.strictio", false, &vm->strictio);
	config_get_bool(vm->cfg, "x86.strictmsr", true, &vm->strictmsr);
	config_get_bool(vm->cfg, "x86.x2apic", false, &vm->x2apic);
	config_get_bool(vm->cfg, "x86.mptable", true, &vm->mptable);
	config_get_bool(vm->cfg, "acpi_tables", true, &vm->acpi);
	if (!nw || strcmp(nw, "auto") == 0) {
		vm->nested_workarounds = cpuid_host_emulates_ring0();
	} else if (config_parse_bool(nw, &vm->nested_workarounds) < 0) {
		snprintf(err, errlen, "invalid value '%s' for key 'x86.nested_workarounds'", nw);
		return -EINVAL;
	}
	if (vm->nested_workarounds)
		log_info("host KVM emulates guest kernel code: hiding CX16/XSAVE/AVX family in CPUID");
	return 0;
}

/*
 * No boot.kernel given: boot what bhyveload prepared for this name, if
 * anything. The memory sizes must agree, as with FreeBSD's bhyveload.
 */
static int apply_bootspec(struct vm *vm, char *err, size_t errlen)
{
	struct registry_bootspec *bs;
	uint64_t mem = 0;
	int rc;

	if (config_has(vm->cfg, "boot.kernel"))
		return 0;
	bs = malloc(sizeof(*bs));
	if (!bs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = registry_bootspec_read(registry_dir(vm->reg), bs);
	if (rc == -ENOENT) {
		rc = 0; /* machine_init reports the missing kernel */
		goto out;
	}
	if (rc < 0) {
		snprintf(err, errlen, "the boot spec bhyveload left for VM '%s' is unreadable (%s); "
			 "run bhyveload again or bhyvectl --destroy --vm=%s", vm->name,
			 strerror(-rc), vm->name);
		goto out;
	}
	config_get_memsize(vm->cfg, "memory.size", 256ULL << 20, &mem);
	if (mem != bs->memsize) {
		snprintf(err, errlen, "memory size mismatch: bhyve -m is %lluM but bhyveload "
			 "prepared VM '%s' with -m %lluM; use the same size for both",
			 (unsigned long long)(mem >> 20), vm->name,
			 (unsigned long long)(bs->memsize >> 20));
		rc = -EINVAL;
		goto out;
	}
	if (config_set(vm->cfg, "boot.kernel", bs->kernel) < 0 ||
	    (bs->initrd[0] && config_set(vm->cfg, "boot.initrd", bs->initrd) < 0) ||
	    (bs->cmdline[0] && config_set(vm->cfg, "boot.cmdline", bs->cmdline) < 0)) {
		snprintf(err, errlen, "cannot apply the boot spec of VM '%s'", vm->name);
		rc = -EINVAL;
		goto out;
	}
	log_info("booting %s as prepared by bhyveload", bs->kernel);
out:
	free(bs);
	return rc;
}

/* The registry entry's config dump (best effort). */
static void publish_config(struct vm *vm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	config_dump(vm->cfg, f);
	if (fclose(f) == 0 && registry_write_file(vm->reg, "config", buf, len) < 0)
		log_warn("cannot write the registry's config dump");
	free(buf);
}

/*
 * Console logs and endpoints, then the "info" file (best effort). A pty
 * console's slave path is printed, as the one way a user learns it.
 */
static void publish_runtime(struct vm *vm)
{
	char text[4 * (PATH_MAX + 96)], info[256];
	size_t n = 0;

	for (unsigned i = 0; i < 4; i++) {
		char kind[16], ep[PATH_MAX + 80], file[16], path[PATH_MAX];
		if (!vm->com_cd[i])
			continue;
		snprintf(file, sizeof(file), "com%u.log", i + 1);
		if (registry_path(vm->reg, file, path, sizeof(path)) < 0 ||
		    chardev_set_log(vm->com_cd[i], path) < 0)
			log_warn("com%u: cannot write the console log %s", i + 1, path);
		chardev_describe(vm->com_cd[i], kind, sizeof(kind), ep, sizeof(ep));
		if (!strcmp(kind, "pty"))
			fprintf(stderr, "bhyve: com%u: pty %s\n", i + 1, ep);
		int w = snprintf(text + n, sizeof(text) - n, "com%u %s %s\n", i + 1, kind, ep);
		if (w > 0 && (size_t)w < sizeof(text) - n)
			n += (size_t)w;
	}
	if (registry_write_file(vm->reg, "consoles", text, n) < 0)
		log_warn("cannot write the registry's console list");
	int w = snprintf(info, sizeof(info), "memsize=%llu\nvcpus=%u\nstarted=%lld\n",
			 (unsigned long long)vm->ram_size, vm->ncpus, (long long)time(NULL));
	if (registry_write_file(vm->reg, "info", info, (size_t)w) < 0)
		log_warn("cannot write the registry's info file");
}

int main(int argc, char **argv)
{
	struct vm vm;
	struct config *cfg;
	struct ctl *ctl = NULL;
	char err[1024] = "", sock[PATH_MAX];
	sigset_t handled;
	struct sandbox sb;
	int rc;

	log_init("bhyve");
	memset(&vm, 0, sizeof(vm));
	vm.kvm_fd = vm.vm_fd = vm.sigfd = -1;

	cfg = config_new();
	if (!cfg) {
		log_err("out of memory");
		return VM_EXIT_ERROR;
	}
	cli_set_defaults(cfg);
	rc = cli_parse(argc, argv, cfg, stdout, stderr);
	if (rc != CLI_CONTINUE) {
		config_free(cfg);
		return rc;
	}
	if (config_validate(cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		config_free(cfg);
		return EX_USAGE;
	}
	bool dump = false;
	config_get_bool(cfg, "config.dump", false, &dump);
	if (dump) {
		config_dump(cfg, stdout);
		config_free(cfg);
		return 1;
	}
	/* Sandbox settings: users and groups are looked up now (see below). */
	if (sandbox_configure(&sb, cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		config_free(cfg);
		return EX_USAGE;
	}
	vm.cfg = cfg;
	vm.name = config_get(cfg, "name");
	set_proctitle(argc, argv, vm.name);

	/* Signals handled on the event loop; vCPU kicks only in vCPU threads. */
	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, SIGQUIT);
	sigset_t blocked = handled;
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);

	if ((rc = registry_claim(vm.name, &vm.reg, err, sizeof(err))) < 0 ||
	    (rc = apply_bootspec(&vm, err, sizeof(err))) < 0)
		goto err;
	publish_config(&vm);
	if ((rc = vm_create(&vm, cfg, err, sizeof(err))) < 0 ||
	    (rc = read_topology(&vm, err, sizeof(err))) < 0 ||
	    (rc = read_policy(&vm, err, sizeof(err))) < 0 ||
	    (rc = cpuid_build(&vm, err, sizeof(err))) < 0 ||
	    (rc = machine_init(&vm, err, sizeof(err))) < 0 ||
	    (rc = vcpu_create_all(&vm, err, sizeof(err))) < 0)
		goto err;
	if ((rc = boot_setup_bsp(&vm, &vm.vcpus[0])) < 0) {
		snprintf(err, sizeof(err), "cannot set up the boot vCPU: %s", strerror(-rc));
		goto err;
	}
	if ((rc = setup_signals(&vm, &handled)) < 0) {
		snprintf(err, sizeof(err), "cannot set up signal handling: %s", strerror(-rc));
		goto err;
	}
	publish_runtime(&vm);
	if (registry_path(vm.reg, "ctl.sock", sock, sizeof(sock)) < 0 ||
	    !(ctl = ctl_start(&vm, sock, err, sizeof(err)))) {
		rc = -EINVAL;
		goto err;
	}
	/*
	 * Sandbox: everything is open and set up now; from here on no file is
	 * opened by path. Privilege drop, no_new_privs, then the seccomp filter
	 * for every thread, before any vCPU runs a guest instruction.
	 */
	if ((rc = sandbox_apply(&sb, err, sizeof(err))) < 0)
		goto err;
	if ((rc = vcpu_start_all(&vm, err, sizeof(err))) < 0)
		goto err_stop;
	if ((rc = vcpu_halt_watch_start(&vm)) < 0) {
		snprintf(err, sizeof(err), "cannot start the halt watch: %s", strerror(-rc));
		goto err_stop;
	}
	evloop_run(vm.loop);
	vm_request_stop(&vm, VM_EXIT_ERROR); /* no-op unless the loop failed */
	vcpu_join_all(&vm);
	rc = vm.exit_code;
	goto out;

err_stop:
	vm_request_stop(&vm, VM_EXIT_ERROR);
	vcpu_join_all(&vm);
err:
	log_err("%s", err);
	rc = VM_EXIT_ERROR;
out:
	ev_timer_free(vm.halt_timer);
	bool destroyed = ctl_destroyed(ctl);
	ctl_stop(ctl);
	vcpu_destroy_all(&vm);
	machine_fini(&vm);
	if (vm.sigfd >= 0)
		close(vm.sigfd);
	bool destroy_on_poweroff = false;
	config_get_bool(cfg, "destroy_on_poweroff", false, &destroy_on_poweroff);
	if (destroyed) {
		/* bhyvectl --destroy: the VM and its entry go; exit as for an error. */
		log_info("VM destroyed by bhyvectl");
		registry_destroy(vm.reg);
		rc = VM_EXIT_ERROR;
	} else if (destroy_on_poweroff && rc == VM_EXIT_POWEROFF) {
		/* -D: a powered-off VM is destroyed, boot spec from bhyveload included. */
		registry_destroy(vm.reg);
	} else {
		registry_release(vm.reg);
	}
	vm_destroy(&vm);
	config_free(cfg);
	return rc;
}
