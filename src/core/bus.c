/* PIO/MMIO range dispatch (see lhyve/bus.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/bus.h"

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn,
		 void *dev, const char *name)
{
	size_t i;
	int rc = 0;

	if (len == 0 || base + len - 1 < base || !fn)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	for (i = 0; i < bus->n; i++) {
		struct bus_range *r = &bus->ranges[i];
		if (base <= r->base + r->len - 1 && r->base <= base + len - 1) {
			rc = -EBUSY;
			goto out;
		}
		if (r->base > base)
			break;
	}
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *nr = realloc(bus->ranges, cap * sizeof(*nr));
		if (!nr) {
			rc = -ENOMEM;
			goto out;
		}
		bus->ranges = nr;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->n - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct bus_range){ base, len, fn, dev, name };
	bus->n++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int bus_unregister(struct bus *bus, uint64_t base, void *dev)
{
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (size_t i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].dev == dev) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->n - i - 1) * sizeof(*bus->ranges));
			bus->n--;
			rc = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int bus_access(struct bus *bus, uint64_t addr, unsigned size, bool write,
	       uint64_t *data)
{
	size_t lo = 0, hi;
	bus_fn fn = NULL;
	void *dev = NULL;
	uint64_t off = 0;

	if (!write)
		*data = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	pthread_rwlock_rdlock(&bus->lock);
	hi = bus->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			off = addr - r->base;
			if (size <= r->len - off) {
				fn = r->fn;
				dev = r->dev;
			}
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	/*
	 * Called without the bus lock, so a handler may (un)register ranges
	 * (BAR moves). Devices live as long as the VM, so a handler that was
	 * just unregistered can still be called once, harmlessly.
	 */
	return fn ? fn(dev, off, size, write, data) : -ENOENT;
}
