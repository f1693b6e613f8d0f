/* POST code port 0x80: a latch of the last byte written (see lhyve/hw.h). */
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/hw.h"

struct post {
	pthread_mutex_t lock; /* protects last */
	uint8_t last;
};

int post_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct post *p = opaque;

	pthread_mutex_lock(&p->lock);
	if (write)
		p->last = (uint8_t)*data;
	else
		*data = p->last;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

uint8_t post_last(struct post *p)
{
	uint8_t v;

	pthread_mutex_lock(&p->lock);
	v = p->last;
	pthread_mutex_unlock(&p->lock);
	return v;
}

struct post *post_new(void)
{
	struct post *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void post_free(struct post *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
