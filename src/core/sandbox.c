/*
 * The sandbox bhyve enters after setup (see lhyve/sandbox.h): privilege
 * drop, no_new_privs, and one process-wide seccomp filter.
 *
 * The filter is process-wide (one allow list for the main/event-loop
 * thread, the vCPU threads and the block workers) because every thread
 * shares the address space anyway: a compromised thread can make another
 * thread issue its calls, so per-thread lists would buy little and cost
 * complexity. It is kept tight instead:
 *  - ioctl only with the request numbers the running VMM issues (vCPU and
 *    VM ioctls, TUNSETOFFLOAD, the terminal get/set);
 *  - no open/openat by path except read-only directories (the registry
 *    clean-up at exit lists its directory), no socket/connect/bind/listen,
 *    no exec, no fork (clone only for threads), no new io_uring rings,
 *    no mount/ptrace/bpf/...;
 *  - file removal (unlink, rmdir) stays allowed for the exit-time clean-up
 *    of the registry entry, console links and sockets.
 *
 * Locking: none; everything runs once on the main thread. The log-mode
 * SIGSYS handler only formats a line on its own stack and write()s it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/log.h"
#include "lhyve/sandbox.h"

#ifdef LHYVE_HAVE_SECCOMP
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#endif

/*
 * Sanitizer run-times (make SANITIZE=1) need more at run time and at exit:
 * LeakSanitizer stops the world with a clone()d tracer that ptrace()s every
 * thread and reads /proc/self; reports may try to spawn a symbolizer.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SB_SANITIZER 1
#endif
#endif
#ifndef SB_SANITIZER
#define SB_SANITIZER 0
#endif

bool sandbox_available(void)
{
#ifdef LHYVE_HAVE_SECCOMP
	return true;
#else
	return false;
#endif
}

/* ---- configuration ---- */

/* A decimal id (no sign, no blanks) that fits in 32 bits minus -1. */
static int sb_parse_id(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= 0xFFFFFFFFUL)
		return -EINVAL;
	*out = v;
	return 0;
}

static int sb_resolve_user(const char *name, uid_t *uid, gid_t *gid, bool *have_gid,
			   char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	unsigned long id;
	int rc;

	if (sb_parse_id(name, &id) == 0) {
		*uid = (uid_t)id;
		rc = getpwuid_r(*uid, &pw, buf, sizeof(buf), &pwp);
	} else {
		rc = getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
		if (rc == 0 && !pwp) {
			snprintf(err, errlen, "sandbox.user: no such user '%s'", name);
			return -EINVAL;
		}
	}
	if (rc != 0) {
		snprintf(err, errlen, "sandbox.user: cannot look up '%s': %s", name, strerror(rc));
		return -rc;
	}
	*have_gid = pwp != NULL;
	if (pwp) {
		*uid = pwp->pw_uid;
		*gid = pwp->pw_gid;
	}
	return 0;
}

static int sb_resolve_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *grp = NULL;
	char buf[4096];
	unsigned long id;
	int rc;

	if (sb_parse_id(name, &id) == 0) {
		*gid = (gid_t)id;
		return 0;
	}
	rc = getgrnam_r(name, &gr, buf, sizeof(buf), &grp);
	if (rc != 0) {
		snprintf(err, errlen, "sandbox.group: cannot look up '%s': %s", name, strerror(rc));
		return -rc;
	}
	if (!grp) {
		snprintf(err, errlen, "sandbox.group: no such group '%s'", name);
		return -EINVAL;
	}
	*gid = grp->gr_gid;
	return 0;
}

int sandbox_configure(struct sandbox *sb, struct config *cfg, char *err, size_t errlen)
{
	const char *mode = config_get(cfg, "sandbox.seccomp");
	const char *user = config_get(cfg, "sandbox.user");
	const char *group = config_get(cfg, "sandbox.group");
	bool b, have_gid = false;
	int rc;

	memset(sb, 0, sizeof(*sb));
	sb->mode = SANDBOX_SECCOMP_KILL;
	sb->uid = geteuid();
	sb->gid = getegid();
	if (mode) {
		sb->mode_set = true;
		if (strcmp(mode, "log") == 0) {
			sb->mode = SANDBOX_SECCOMP_LOG;
		} else if (config_parse_bool(mode, &b) == 0) {
			sb->mode = b ? SANDBOX_SECCOMP_KILL : SANDBOX_SECCOMP_OFF;
		} else {
			snprintf(err, errlen, "invalid value '%s' for key 'sandbox.seccomp' "
				 "(expected true, false or log)", mode);
			return -EINVAL;
		}
	}
	if (sb->mode != SANDBOX_SECCOMP_OFF && !sandbox_available()) {
		if (sb->mode_set) {
			snprintf(err, errlen, "sandbox.seccomp=%s: this bhyve was built without "
				 "libseccomp (install libseccomp-dev and rebuild, or set "
				 "sandbox.seccomp=false)", mode);
			return -ENOTSUP;
		}
		sb->mode = SANDBOX_SECCOMP_OFF;
	}
	if (config_get_bool(cfg, "sandbox.test_forbidden", false, &sb->test_forbidden) < 0) {
		snprintf(err, errlen, "invalid value for key 'sandbox.test_forbidden' (a boolean)");
		return -EINVAL;
	}
	if (user && (rc = sb_resolve_user(user, &sb->uid, &sb->gid, &have_gid, err, errlen)) < 0)
		return rc;
	if (group) {
		if ((rc = sb_resolve_group(group, &sb->gid, err, errlen)) < 0)
			return rc;
	} else if (user && !have_gid) {
		snprintf(err, errlen, "sandbox.user=%s has no entry in the user database: "
			 "set sandbox.group too", user);
		return -EINVAL;
	}
	if (!user && !group)
		return 0;
	if (geteuid() != 0) {
		if (sb->uid == geteuid() && sb->gid == getegid())
			return 0; /* already that user and group: nothing to drop */
		snprintf(err, errlen, "sandbox.user/sandbox.group: changing the user or group "
			 "needs bhyve to be started as root");
		return -EPERM;
	}
	sb->drop = true;
	return 0;
}

/* ---- privilege drop ---- */

static int sb_drop(const struct sandbox *sb, char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	/* glibc applies each of these to every thread of the process. */
	if (setgroups(1, &sb->gid) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
	    setresuid(sb->uid, sb->uid, sb->uid) < 0) {
		int e0 = errno;
		snprintf(err, errlen, "sandbox: cannot change to uid %u gid %u: %s",
			 (unsigned)sb->uid, (unsigned)sb->gid, strerror(e0));
		return -e0;
	}
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != sb->uid ||
	    e != sb->uid || s != sb->uid || rg != sb->gid || eg != sb->gid || sg != sb->gid ||
	    (sb->uid != 0 && setuid(0) == 0)) {
		snprintf(err, errlen, "sandbox: the change to uid %u gid %u did not take",
			 (unsigned)sb->uid, (unsigned)sb->gid);
		return -EPERM;
	}
	if (SB_SANITIZER && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		log_warn("sandbox: cannot keep the process dumpable for LeakSanitizer");
	log_info("sandbox: running as uid %u gid %u", (unsigned)sb->uid, (unsigned)sb->gid);
	return 0;
}

/*
 * glibc re-reads /etc/localtime (stat, and fopen when it changed) on every
 * mktime() while TZ is unset; with TZ set it only compares the string. Pin
 * it so the RTC never opens a file under the filter.
 */
static void sb_pin_timezone(void)
{
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 1);
	tzset();
}

#ifdef LHYVE_HAVE_SECCOMP

/* ---- the filter ---- */

/* Allowed without argument checks. */
static const char *const sb_allow[] = {
	/* I/O on descriptors opened during setup */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "close", "lseek", "fstat", "newfstatat", "statx",
	"fdatasync", "fsync", "fallocate", "ftruncate",
	/* event loop: epoll, timers, eventfds, the signalfd */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "eventfd2",
	/* pty consoles at exit: is the client done reading? (chardev_ext.c) */
	"poll", "ppoll",
	/* sockets already bound: control socket, tcp= consoles, virtio-console */
	"accept", "accept4", "recvfrom", "recvmsg", "sendto", "sendmsg", "setsockopt",
	"getsockopt", "getsockname", "getpeername", "shutdown",
	/* block I/O through the rings set up before (no new rings) */
	"io_uring_enter",
	/* memory, threads, time, signals */
	"brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "futex",
	"set_robust_list", "get_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"sched_setaffinity", "nanosleep", "clock_nanosleep", "clock_gettime",
	"clock_getres", "gettimeofday", "time", "getpid", "gettid", "getuid", "geteuid",
	"getgid", "getegid", "getresuid", "getresgid", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigaltstack", "restart_syscall", "exit", "exit_group",
	"getrandom",
	/* exit-time clean-up of the registry entry, console links, sockets */
	"unlink", "unlinkat", "rmdir", "readlink", "readlinkat", "access", "faccessat",
	"faccessat2", "getdents64", "stat", "lstat",
	NULL,
};

/* Also allowed in sanitizer builds (see SB_SANITIZER). */
static const char *const sb_allow_sanitizer[] = {
	"open", "openat", "getdents", "clone", "fork", "vfork", "ptrace", "wait4", "waitid", "prctl",
	"getppid", "prlimit64", "getrlimit", "kill", "tgkill", "pipe", "pipe2", "dup",
	"dup2", "dup3", "mincore", "process_vm_readv", "uname", "getcwd", "sysinfo",
	"sched_getparam", "sched_getscheduler", "arch_prctl", "personality",
	NULL,
};

/* The ioctl requests of the running VMM (everything else was at setup). */
static const unsigned long sb_ioctls[] = {
	/* vCPU: run loop, halt check, vcpu_call (registers, NMI), fix-ups */
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_FPU,
	KVM_SET_FPU, KVM_GET_XSAVE, KVM_GET_MP_STATE, KVM_GET_DEBUGREGS, KVM_GET_VCPU_EVENTS,
	KVM_SET_VCPU_EVENTS, KVM_TRANSLATE, KVM_NMI,
	/* the 8259's vector into the boot vCPU (split irqchip) */
	KVM_INTERRUPT,
	/* VM: interrupts from devices, ioeventfds when the guest moves a BAR;
	 * memory slots deleted at exit, before the VM is closed (vm_destroy) */
	KVM_SIGNAL_MSI, KVM_IOEVENTFD, KVM_SET_USER_MEMORY_REGION,
	/* IOAPIC redirection entries mirrored as MSI routes (EOI exits) */
	KVM_SET_GSI_ROUTING,
	/* tap: the offloads the guest negotiated; the steering program taken
	 * off at exit (fd -1: no new program can be attached, as bpf() is
	 * not allowed) */
	TUNSETOFFLOAD, TUNSETSTEERINGEBPF,
	/* terminals: isatty/tcgetattr, raw mode and its restore */
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ,
	/* pty consoles at exit: unread output, a slave fd of our own master
	 * (chardev_ext.c waits for the client to read the last output) */
	FIONREAD, TIOCGPTPEER,
};

static int sb_add(scmp_filter_ctx ctx, uint32_t act, const char *name, unsigned n,
		  const struct scmp_arg_cmp *cmp, char *err, size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call on this architecture/libseccomp */
	rc = seccomp_rule_add_array(ctx, act, nr, n, cmp);
	if (rc < 0 && rc != -EEXIST) {
		snprintf(err, errlen, "sandbox: seccomp rule for %s: %s", name, strerror(-rc));
		return rc;
	}
	return 0;
}

static int sb_add_list(scmp_filter_ctx ctx, const char *const *names, char *err,
		       size_t errlen)
{
	for (; *names; names++) {
		int rc = sb_add(ctx, SCMP_ACT_ALLOW, *names, 0, NULL, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int sb_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const int fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
	static const int prctl_ops[] = { PR_SET_NAME, PR_GET_NAME };
	const uint64_t thread_flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	const uint64_t open_mask = O_ACCMODE | O_CREAT | O_TRUNC | O_PATH | O_TMPFILE;
	struct scmp_arg_cmp c[1];
	int rc;

	if ((rc = sb_add_list(ctx, sb_allow, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(sb_ioctls) / sizeof(sb_ioctls[0]); i++) {
		c[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, sb_ioctls[i]);
		if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, c, err, errlen)) < 0)
			return rc;
	}
	for (size_t i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++) {
		c[0] = SCMP_A1(SCMP_CMP_EQ, (uint64_t)fcntl_cmds[i]);
		if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, c, err, errlen)) < 0)
			return rc;
	}
	for (size_t i = 0; i < sizeof(prctl_ops) / sizeof(prctl_ops[0]); i++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)prctl_ops[i]);
		if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "prctl", 1, c, err, errlen)) < 0)
			return rc;
	}
	/* Threads only (pthread_create); glibc falls back from clone3 to clone. */
	c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, thread_flags, thread_flags);
	if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "clone", 1, c, err, errlen)) < 0 ||
	    (rc = sb_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err, errlen)) < 0)
		return rc;
	/* Signals to our own threads only (vCPU kicks, raise). */
	c[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid());
	if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, c, err, errlen)) < 0)
		return rc;
	/* Directories read-only (opendir of the registry entry at exit). */
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, open_mask | O_DIRECTORY, O_RDONLY | O_DIRECTORY);
	if ((rc = sb_add(ctx, SCMP_ACT_ALLOW, "openat", 1, c, err, errlen)) < 0)
		return rc;
	if (SB_SANITIZER) {
		if ((rc = sb_add_list(ctx, sb_allow_sanitizer, err, errlen)) < 0 ||
		    (rc = sb_add(ctx, SCMP_ACT_ERRNO(EPERM), "execve", 0, NULL, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* Log mode: the forbidden call returns -EPERM and leaves one line on stderr. */
static void sb_sigsys(int sig, siginfo_t *si, void *uctx)
{
	static const char pre[] = "bhyve: sandbox: refused system call ";
	static const char post[] = " (x86-64 number) with EPERM (sandbox.seccomp=log)\n";
	char line[sizeof(pre) + sizeof(post) + 16], num[16];
	unsigned v = (unsigned)si->si_syscall;
	size_t n = 0, k = 0;
	int saved = errno;

	do {
		num[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < sizeof(num));
	memcpy(line, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	while (k)
		line[n++] = num[--k];
	memcpy(line + n, post, sizeof(post) - 1);
	n += sizeof(post) - 1;
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing more we can do from a signal handler */
	}
#ifdef __x86_64__
	((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RAX] = -EPERM;
#endif
	errno = saved;
}

static int sb_load(enum sandbox_mode mode, char *err, size_t errlen)
{
	uint32_t deflt = mode == SANDBOX_SECCOMP_LOG ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int rc;

	if (mode == SANDBOX_SECCOMP_LOG) {
		struct sigaction sa = { .sa_sigaction = sb_sigsys, .sa_flags = SA_SIGINFO };
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0) {
			rc = -errno;
			snprintf(err, errlen, "sandbox: SIGSYS handler: %s", strerror(errno));
			return rc;
		}
	}
	ctx = seccomp_init(deflt);
	if (!ctx) {
		snprintf(err, errlen, "sandbox: cannot create the seccomp filter");
		return -ENOMEM;
	}
	/* Every thread gets the filter (block workers exist already). */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		snprintf(err, errlen, "sandbox: seccomp thread synchronisation: %s", strerror(-rc));
		goto out;
	}
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Let the kernel log kills (audit type 1326) where supported. */
	if (mode == SANDBOX_SECCOMP_KILL)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if ((rc = sb_rules(ctx, err, errlen)) < 0)
		goto out;
	if ((rc = seccomp_load(ctx)) < 0)
		snprintf(err, errlen, "sandbox: cannot load the seccomp filter: %s", strerror(-rc));
out:
	seccomp_release(ctx);
	return rc;
}

#else /* !LHYVE_HAVE_SECCOMP */

static int sb_load(enum sandbox_mode mode, char *err, size_t errlen)
{
	snprintf(err, errlen, "sandbox: built without libseccomp");
	return -ENOTSUP;
}

#endif

/* sandbox.test_forbidden: a call outside the allow list, on purpose. */
static void sb_test_forbidden(void)
{
	int fd;

	log_warn("sandbox: test hook: calling socket(), which the filter forbids");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		log_warn("sandbox: test hook: socket() was allowed (no filter)");
		close(fd);
	} else {
		log_warn("sandbox: test hook: socket() refused: %s", strerror(errno));
	}
}

int sandbox_apply(const struct sandbox *sb, char *err, size_t errlen)
{
	int rc;

	if (sb->drop && (rc = sb_drop(sb, err, errlen)) < 0)
		return rc;
	sb_pin_timezone();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "sandbox: cannot set no_new_privs: %s", strerror(errno));
		return rc;
	}
	if (sb->mode != SANDBOX_SECCOMP_OFF) {
		if ((rc = sb_load(sb->mode, err, errlen)) < 0)
			return rc;
		log_info("sandbox: seccomp filter installed (%s)",
			 sb->mode == SANDBOX_SECCOMP_LOG ? "log: forbidden calls fail with EPERM"
							 : "forbidden calls kill the process");
	} else if (!sb->mode_set) {
		log_warn("sandbox: built without libseccomp: no system call filter");
	}
	if (sb->test_forbidden)
		sb_test_forbidden();
	return 0;
}
