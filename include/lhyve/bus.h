/*
 * Port I/O and MMIO dispatch. A bus holds non-overlapping ranges; a handler
 * gets the offset inside its range. Thread-safe (rwlock): vCPU threads call
 * bus_access() concurrently; registration may happen at run time (BAR moves),
 * also from inside a handler: handlers run without the bus lock held.
 */
#ifndef LHYVE_BUS_H
#define LHYVE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Access handler. size is 1, 2, 4 or 8. For a write, *data holds the value
 * (low `size` bytes). For a read, the handler stores the value in *data
 * (it is pre-set to all ones). Return 0, or -errno (logged by the caller,
 * never fatal: a guest cannot kill the VMM through a device access).
 */
typedef int (*bus_fn)(void *dev, uint64_t offset, unsigned size, bool write,
		      uint64_t *data);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_fn fn;
	void *dev;
	const char *name;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base */
	size_t n, cap;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* -EBUSY if [base, base+len) overlaps a registered range; -EINVAL if empty/wraps. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn,
		 void *dev, const char *name);
/* Remove the range starting at base that belongs to dev; -ENOENT if none. */
int bus_unregister(struct bus *bus, uint64_t base, void *dev);
/*
 * Dispatch one access. -ENOENT when no range fully contains
 * [addr, addr+size): reads then see all ones, writes are dropped.
 */
int bus_access(struct bus *bus, uint64_t addr, unsigned size, bool write,
	       uint64_t *data);

#endif
