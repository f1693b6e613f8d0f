/*
 * Runtime registry: one directory per VM under the run directory
 * (BHYVE_RUNDIR; root: /run/bhyve; otherwise $XDG_RUNTIME_DIR/bhyve), mode
 * 0700. The entry's "pid" file is the lock: bhyve holds an exclusive flock
 * on it for the life of the process, so a name is in use exactly while its
 * process lives. Tools (bhyveload, bhyvectl) take the same lock briefly
 * while they change an entry.
 *
 * Files of an entry (all 0600):
 *   pid        lock; holds the owner's pid while bhyve runs
 *   bootspec   boot spec left by bhyveload (kernel/initrd/cmdline/memsize)
 *   config     configuration dump of the running bhyve
 *   info       memsize=, vcpus=, started= of the running bhyve
 *   consoles   one line per COM port: "comN <kind> <endpoint>"
 *   ctl.sock   control socket (see lhyve/ctl.h)
 *   comN.log   everything the guest wrote to COM N (kept after exit while
 *              the entry stays)
 *
 * States: "running" (lock held), "prepared" (lock free, bootspec present),
 * stale (lock free, no bootspec: removed by whoever finds it). When bhyve
 * exits, its runtime files go; the entry stays if it has a bootspec.
 *
 * Not thread-safe per object; different processes synchronise by the lock.
 */
#ifndef LHYVE_REGISTRY_H
#define LHYVE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct registry;

#define REGISTRY_CMDLINE_MAX 4096

enum registry_state {
	REGISTRY_STALE,
	REGISTRY_PREPARED,
	REGISTRY_RUNNING,
};

/* What bhyveload records and bhyve boots. Strings are NUL-terminated. */
struct registry_bootspec {
	char kernel[4096];
	char initrd[4096];
	char cmdline[REGISTRY_CMDLINE_MAX];
	uint64_t memsize; /* bytes */
};

/* The run directory (created 0700 if missing). */
int registry_rundir(char *buf, size_t len);
/* True if name is usable as an entry name (same rule as bhyve's vmname). */
bool registry_name_ok(const char *name);
/*
 * Claim NAME for a running bhyve: creates/locks the entry, writes the pid
 * and removes runtime files a dead owner left behind (the bootspec stays).
 * -EBUSY with "VM 'x' is already running (pid N)" in err.
 */
int registry_claim(const char *name, struct registry **out, char *err, size_t errlen);
/*
 * Lock NAME's entry for a tool. create: make the entry if missing (else
 * -ENOENT when it does not exist). -EBUSY (message in err) while a bhyve
 * runs it.
 */
int registry_lock(const char *name, bool create, struct registry **out, char *err,
		  size_t errlen);
/* Path of the VM's entry directory. */
const char *registry_dir(const struct registry *r);
/* dir/file into buf; -ENAMETOOLONG if it does not fit. */
int registry_path(const struct registry *r, const char *file, char *buf, size_t len);
/* Atomically replace dir/file (temp file + rename, mode 0600). */
int registry_write_file(struct registry *r, const char *file, const void *data, size_t len);
/* Remove dir/file (missing is fine). */
void registry_remove_file(struct registry *r, const char *file);
/*
 * Bhyve's exit: remove the runtime files and release the lock. The entry
 * stays (with bootspec and console logs) when it has a bootspec.
 */
void registry_release(struct registry *r);
/* Remove the whole entry (bootspec and logs too) and release the lock. */
void registry_destroy(struct registry *r);

/* Boot spec: write (validated: no newlines, kernel set) / read. */
int registry_bootspec_write(struct registry *r, const struct registry_bootspec *bs);
/* Read dir/bootspec; -ENOENT if there is none, -EINVAL if malformed. */
int registry_bootspec_read(const char *dir, struct registry_bootspec *bs);

/* One entry as registry_lookup/registry_foreach see it. */
struct registry_entry {
	char name[256];
	char dir[4096];
	enum registry_state state;
	long pid; /* > 0 while running */
};

/*
 * Look NAME up without locking it; -ENOENT if there is no entry. A stale
 * entry found here is removed and -ESTALE returned.
 */
int registry_lookup(const char *name, struct registry_entry *e);
/* Call fn for every live (running or prepared) entry, sorted by name; stale ones are removed. */
int registry_foreach(int (*fn)(void *opaque, const struct registry_entry *e), void *opaque);
/* Read a small file of an entry into buf (NUL-terminated); bytes or -errno. */
ssize_t registry_read_file(const char *dir, const char *file, char *buf, size_t len);
/* Value of "key=value" in a file's text (copied into out); 0 or -ENOENT. */
int registry_kv(const char *text, const char *key, char *out, size_t outlen);

const char *registry_state_name(enum registry_state s);

#endif
