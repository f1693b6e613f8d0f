/*
 * The sandbox bhyve enters after setup (src/core/sandbox.c): an optional
 * drop to an unprivileged user and group, no_new_privs, and one
 * process-wide seccomp filter (libseccomp) that allows only the system
 * calls the running VMM needs: KVM_RUN and the few other vCPU/VM ioctls,
 * I/O on descriptors opened before, the event loop, io_uring, memory and
 * thread primitives, and the file removals done at exit. Nothing is opened
 * by path afterwards (only directories, for the registry's clean-up).
 *
 * Configuration keys (bhyve_config(5)): sandbox.seccomp=true|false|log,
 * sandbox.user, sandbox.group, sandbox.test_forbidden (a test hook).
 *
 * Threads: sandbox_configure() and sandbox_apply() run on the main thread;
 * the filter is synchronised to every thread existing then (TSYNC) and is
 * inherited by the threads created later.
 */
#ifndef LHYVE_SANDBOX_H
#define LHYVE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;

enum sandbox_mode {
	SANDBOX_SECCOMP_OFF,  /* no filter (no_new_privs is still set) */
	SANDBOX_SECCOMP_KILL, /* a forbidden call kills the process (SIGSYS) */
	SANDBOX_SECCOMP_LOG,  /* a forbidden call fails with EPERM and is logged */
};

struct sandbox {
	enum sandbox_mode mode;
	bool mode_set;       /* sandbox.seccomp given explicitly */
	bool drop;           /* change uid/gid (sandbox.user or sandbox.group) */
	uid_t uid;
	gid_t gid;
	bool test_forbidden; /* sandbox.test_forbidden: attempt socket() after the filter */
};

/* True if this build can install a seccomp filter (built with libseccomp). */
bool sandbox_available(void);

/*
 * Read the sandbox.* keys and resolve sandbox.user / sandbox.group (names
 * or numbers) now, while the user database can still be read. -EINVAL with
 * one line in err for a bad value, an unknown user or group, a change of
 * user without root, or sandbox.seccomp=true|log in a build without
 * libseccomp.
 */
int sandbox_configure(struct sandbox *sb, struct config *cfg, char *err, size_t errlen);

/*
 * Enter the sandbox, once every file, socket, device and vCPU fd is open
 * and before any vCPU runs guest code: drop to sb->uid/gid (setgroups,
 * setresgid, setresuid; only when sb->drop), pin the time zone so libc
 * never re-reads it by path, set no_new_privs and load the filter for all
 * threads. 0, or -errno with one line in err (the caller must not run the
 * guest then). Main thread only; call at most once per process.
 */
int sandbox_apply(const struct sandbox *sb, char *err, size_t errlen);

#endif
