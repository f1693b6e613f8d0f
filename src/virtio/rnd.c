/*
 * virtio-rnd (virtio 1.2 §5.4): fills device-writable buffers from
 * getrandom(2). Everything runs on the kicking thread under v->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lhyve/config.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

#define RND_QSIZE 64
#define RND_MAX_PER_CHAIN 65536 /* bytes given per request at most */

struct rnd {
	struct virtio_dev v;
	struct iovec iov[RND_QSIZE];
	struct ratelimit rl;
};

/* Older scripts pass "/dev/random" as the conf: accepted and ignored. */
const char *const rnd_config_keys[] = { "path", NULL };

static uint32_t rnd_fill(struct rnd *sc, const struct vq_chain *c)
{
	uint32_t done = 0;
	uint32_t want = (uint32_t)MIN(c->in_bytes, (uint64_t)RND_MAX_PER_CHAIN);

	for (unsigned i = c->nout; i < c->nout + c->nin && done < want; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t len = MIN(c->iov[i].iov_len, (size_t)(want - done));
		size_t got = 0;

		while (got < len) {
			ssize_t r = getrandom(p + got, len - got, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				log_rl(&sc->rl, LOG_WARN, "virtio-rnd: getrandom: %s",
				       strerror(errno));
				return done + (uint32_t)got;
			}
			got += (size_t)r;
		}
		done += (uint32_t)len;
	}
	return done;
}

static void rnd_queue_notify(struct virtio_dev *v, unsigned q)
{
	struct rnd *sc = container_of(v, struct rnd, v);
	struct virtqueue *vq = &v->vq[0];
	struct vq_chain c = { .iov = sc->iov, .max_iov = RND_QSIZE };
	int rc;

	if (q != 0)
		return;
	do {
		vq_set_notify(vq, false);
		while ((rc = vq_pop(vq, &c)) > 0)
			vq_push(vq, c.head, rnd_fill(sc, &c));
		vq_notify(vq);
		if (rc < 0)
			return;
	} while (vq_enable_notify(vq));
}

static void rnd_destroy(struct virtio_dev *v)
{
	struct rnd *sc = container_of(v, struct rnd, v);

	virtio_dev_fini(&sc->v);
	free(sc);
}

static const struct virtio_dev_ops rnd_ops = {
	.name = "virtio-rnd",
	.device_id = VIRTIO_ID_RNG,
	.max_queue_size = RND_QSIZE,
	.queue_notify = rnd_queue_notify,
	.destroy = rnd_destroy,
};

struct virtio_dev *rnd_create(const struct virtio_env *env, struct config *cfg,
			      const char *node, char *err, size_t errlen)
{
	struct rnd *sc = calloc(1, sizeof(*sc));

	if (!sc || virtio_dev_init(&sc->v, &rnd_ops, env, 1, 0) < 0) {
		free(sc);
		snprintf(err, errlen, "virtio-rnd: out of memory");
		return NULL;
	}
	sc->rl = (struct ratelimit)RATELIMIT_INIT;
	return &sc->v;
}

int rnd_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen)
{
	char key[300];

	if (!conf || !*conf)
		return 0;
	/* Only a bare device path (ignored) is accepted. */
	if (strchr(conf, ',') || strchr(conf, '=')) {
		snprintf(err, errlen, "virtio-rnd: invalid options '%s'", conf);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%s.path", node);
	return config_set(cfg, key, conf);
}
