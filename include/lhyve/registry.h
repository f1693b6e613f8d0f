/*
 * Runtime registry: one directory per running VM under the run directory
 * (BHYVE_RUNDIR; root: /run/bhyve; otherwise $XDG_RUNTIME_DIR/bhyve), held
 * by an exclusive lock on its pid file for the life of the process, so a
 * name is in use exactly while its process lives. A leftover entry whose
 * lock is free is stale and is reused.
 */
#ifndef LHYVE_REGISTRY_H
#define LHYVE_REGISTRY_H

#include <stddef.h>

struct registry;

/* The run directory (created 0700 if missing). */
int registry_rundir(char *buf, size_t len);
/* Claim NAME: -EBUSY with "VM 'x' is already running (pid N)" in err. */
int registry_claim(const char *name, struct registry **out, char *err, size_t errlen);
/* Path of the VM's entry directory. */
const char *registry_dir(const struct registry *r);
/* Remove the entry and release the lock. */
void registry_release(struct registry *r);

#endif
