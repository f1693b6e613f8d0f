/*
 * virtio device core: feature negotiation, device status and reset, config
 * space, queue enabling and kicks (virtio 1.2 §2, §3). Transport-neutral.
 *
 * Locking: v->lock (see lhyve/virtio.h) is taken by every function here
 * except virtio_needs_reset (atomic status update, callable from any thread
 * with or without v->lock) and the feature/queue-count getters that read
 * values fixed at creation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

#define TRANSPORT_FEATURES                                                   \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

/*
 * Avail-ring polling (virtio_queue_kicked): the loop calls vq_poll while
 * the queue is polled, vq_poll_end when the window ran out.
 */
static void vq_poll_hold(struct virtqueue *vq, bool hold)
{
	pthread_mutex_lock(&vq->lock);
	vq->poll_hold = hold && vq->enabled && !vq->broken;
	pthread_mutex_unlock(&vq->lock);
	vq_set_notify(vq, !hold);
}

static uint16_t vq_consumed(struct virtqueue *vq)
{
	uint16_t n;

	pthread_mutex_lock(&vq->lock);
	n = vq->last_avail;
	pthread_mutex_unlock(&vq->lock);
	return n;
}

/*
 * Serve what the driver added. Only progress counts as work: a device that
 * cannot take buffers now (virtio-net waiting for the tap to drain) must not
 * keep the loop spinning; it resumes on its own wake-up.
 */
static bool vq_poll(void *opaque)
{
	struct virtqueue *vq = opaque;
	uint16_t before;

	if (!vq_has_avail(vq))
		return false;
	before = vq_consumed(vq);
	virtio_queue_notify(vq->vdev, vq->index);
	return vq_consumed(vq) != before;
}

static bool vq_poll_end(void *opaque)
{
	struct virtqueue *vq = opaque;

	vq_poll_hold(vq, false);
	/* Kicks are on; serve a buffer that came just before: if the device
	 * took it, the driver is busy again, so poll on. */
	if (!vq_poll(vq))
		return false;
	vq_poll_hold(vq, true);
	return true;
}

int virtio_dev_init(struct virtio_dev *v, const struct virtio_dev_ops *ops,
		    const struct virtio_env *env, unsigned nqueues,
		    uint64_t device_features)
{
	unsigned i;
	int rc;

	if (nqueues == 0 || nqueues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->ops = ops;
	v->gm = env->gm;
	v->loop = env->loop;
	v->nqueues = nqueues;
	v->device_features = device_features | TRANSPORT_FEATURES;
	v->rl = (struct ratelimit)RATELIMIT_INIT;
	rc = pthread_mutex_init(&v->lock, NULL);
	if (rc)
		return -rc;
	v->vq = calloc(nqueues, sizeof(*v->vq));
	if (!v->vq) {
		rc = -ENOMEM;
		goto err_lock;
	}
	for (i = 0; i < nqueues; i++) {
		rc = vq_init(&v->vq[i], v, i);
		if (rc)
			goto err_vq;
		if (env->loop && env->poll_ns && i < 64 && (ops->poll_queues & (1ULL << i))) {
			v->vq[i].poller = ev_poller_new(env->loop, vq_poll, vq_poll_end,
							&v->vq[i], env->poll_ns);
			if (!v->vq[i].poller) {
				vq_fini(&v->vq[i]);
				rc = -ENOMEM;
				goto err_vq;
			}
		}
	}
	return 0;
err_vq:
	while (i-- > 0) {
		ev_poller_free(v->vq[i].poller);
		vq_fini(&v->vq[i]);
	}
	free(v->vq);
	v->vq = NULL;
err_lock:
	pthread_mutex_destroy(&v->lock);
	return rc;
}

void virtio_dev_fini(struct virtio_dev *v)
{
	if (!v->vq)
		return;
	for (unsigned i = 0; i < v->nqueues; i++) {
		ev_poller_free(v->vq[i].poller);
		vq_fini(&v->vq[i]);
	}
	free(v->vq);
	v->vq = NULL;
	pthread_mutex_destroy(&v->lock);
}

void virtio_dev_destroy(struct virtio_dev *v)
{
	if (v && v->ops && v->ops->destroy)
		v->ops->destroy(v);
}

void virtio_attach(struct virtio_dev *v, const struct virtio_transport_ops *t,
		   void *opaque)
{
	pthread_mutex_lock(&v->lock);
	v->tops = t;
	v->topaque = opaque;
	pthread_mutex_unlock(&v->lock);
}

void virtio_lock(struct virtio_dev *v)
{
	pthread_mutex_lock(&v->lock);
}

void virtio_unlock(struct virtio_dev *v)
{
	pthread_mutex_unlock(&v->lock);
}

uint32_t virtio_get_device_features(struct virtio_dev *v, unsigned sel)
{
	return sel < 2 ? (uint32_t)(v->device_features >> (32 * sel)) : 0;
}

uint32_t virtio_get_driver_features(struct virtio_dev *v, unsigned sel)
{
	uint32_t r;

	pthread_mutex_lock(&v->lock);
	r = sel < 2 ? (uint32_t)(v->driver_features >> (32 * sel)) : 0;
	pthread_mutex_unlock(&v->lock);
	return r;
}

void virtio_set_driver_features(struct virtio_dev *v, unsigned sel, uint32_t val)
{
	pthread_mutex_lock(&v->lock);
	if (__atomic_load_n(&v->status, __ATOMIC_RELAXED) & VIRTIO_S_FEATURES_OK) {
		log_rl(&v->rl, LOG_WARN, "%s: driver features written after FEATURES_OK",
		       v->ops->name);
	} else if (sel < 2) {
		uint64_t mask = 0xffffffffULL << (32 * sel);
		v->driver_features = (v->driver_features & ~mask) |
				     ((uint64_t)val << (32 * sel));
	}
	pthread_mutex_unlock(&v->lock);
}

bool virtio_has_feature(const struct virtio_dev *v, unsigned bit)
{
	return bit < 64 && (v->driver_features & VIRTIO_BIT(bit));
}

uint8_t virtio_get_status(struct virtio_dev *v)
{
	return __atomic_load_n(&v->status, __ATOMIC_ACQUIRE);
}

/* v->lock held. */
static void dev_reset(struct virtio_dev *v)
{
	if (v->ops->reset)
		v->ops->reset(v);
	for (unsigned i = 0; i < v->nqueues; i++)
		vq_reset(&v->vq[i]);
	v->driver_features = 0;
	__atomic_store_n(&v->status, 0, __ATOMIC_RELEASE);
}

void virtio_set_status(struct virtio_dev *v, uint8_t status)
{
	uint8_t old, set;

	pthread_mutex_lock(&v->lock);
	if (status == 0) {
		dev_reset(v);
		goto out;
	}
	old = __atomic_load_n(&v->status, __ATOMIC_RELAXED);
	/* NEEDS_RESET is the device's bit; the driver cannot set or clear it. */
	status = (uint8_t)((status & ~VIRTIO_S_NEEDS_RESET) | (old & VIRTIO_S_NEEDS_RESET));
	if (old & ~status & ~VIRTIO_S_NEEDS_RESET)
		log_rl(&v->rl, LOG_WARN, "%s: driver cleared status bits (0x%x -> 0x%x)",
		       v->ops->name, old, status);
	set = status & ~old;
	if (set & VIRTIO_S_FEATURES_OK) {
		uint64_t f = v->driver_features;
		bool ok = !(f & ~v->device_features) &&
			  (f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
		if (ok && v->ops->set_features && v->ops->set_features(v, f) < 0)
			ok = false;
		if (!ok) {
			log_rl(&v->rl, LOG_WARN,
			       "%s: refusing driver features 0x%llx (offered 0x%llx)",
			       v->ops->name, (unsigned long long)f,
			       (unsigned long long)v->device_features);
			status &= (uint8_t)~VIRTIO_S_FEATURES_OK;
			set &= (uint8_t)~VIRTIO_S_FEATURES_OK;
		}
	}
	if ((set & VIRTIO_S_DRIVER_OK) && !(status & VIRTIO_S_FEATURES_OK)) {
		log_rl(&v->rl, LOG_WARN, "%s: DRIVER_OK without FEATURES_OK", v->ops->name);
		status &= (uint8_t)~VIRTIO_S_DRIVER_OK;
		set &= (uint8_t)~VIRTIO_S_DRIVER_OK;
	}
	__atomic_store_n(&v->status, status, __ATOMIC_RELEASE);
	if ((set & VIRTIO_S_DRIVER_OK) && v->ops->start)
		v->ops->start(v);
out:
	pthread_mutex_unlock(&v->lock);
}

uint64_t virtio_config_read(struct virtio_dev *v, uint32_t off, unsigned size)
{
	uint64_t val = 0;

	if (size == 0 || size > 8)
		return 0;
	pthread_mutex_lock(&v->lock);
	if (off < v->config_len && size <= v->config_len - off)
		memcpy(&val, v->config + off, size);
	pthread_mutex_unlock(&v->lock);
	return val;
}

void virtio_config_write(struct virtio_dev *v, uint32_t off, unsigned size,
			 uint64_t val)
{
	if (size == 0 || size > 8)
		return;
	pthread_mutex_lock(&v->lock);
	if (off < v->config_len && size <= v->config_len - off && v->ops->config_write)
		v->ops->config_write(v, off, size, val);
	else
		log_rl(&v->rl, LOG_DEBUG, "%s: ignored config write at 0x%x/%u",
		       v->ops->name, off, size);
	pthread_mutex_unlock(&v->lock);
}

uint32_t virtio_config_generation(struct virtio_dev *v)
{
	return __atomic_load_n(&v->config_generation, __ATOMIC_ACQUIRE);
}

void virtio_config_changed(struct virtio_dev *v)
{
	__atomic_add_fetch(&v->config_generation, 1, __ATOMIC_RELEASE);
	if ((virtio_get_status(v) & VIRTIO_S_DRIVER_OK) && v->tops &&
	    v->tops->config_interrupt)
		v->tops->config_interrupt(v->topaque);
}

unsigned virtio_num_queues(const struct virtio_dev *v)
{
	return v->nqueues;
}

uint16_t virtio_queue_max_size(const struct virtio_dev *v)
{
	return v->ops->max_queue_size;
}

int virtio_queue_enable(struct virtio_dev *v, unsigned q, const struct vq_config *c)
{
	int rc;

	pthread_mutex_lock(&v->lock);
	if (q >= v->nqueues) {
		log_rl(&v->rl, LOG_WARN, "%s: enable of queue %u out of range",
		       v->ops->name, q);
		rc = -EINVAL;
		goto out;
	}
	rc = vq_enable(&v->vq[q], v->gm, c, v->ops->max_queue_size,
		       virtio_has_feature(v, VIRTIO_F_RING_EVENT_IDX),
		       virtio_has_feature(v, VIRTIO_F_RING_INDIRECT_DESC));
	if (rc == -EINVAL)
		log_rl(&v->rl, LOG_WARN,
		       "%s: queue %u: bad ring (size %u desc 0x%llx avail 0x%llx used 0x%llx)",
		       v->ops->name, q, c->size, (unsigned long long)c->desc,
		       (unsigned long long)c->avail, (unsigned long long)c->used);
out:
	pthread_mutex_unlock(&v->lock);
	return rc;
}

bool virtio_queue_enabled(struct virtio_dev *v, unsigned q)
{
	bool r = false;

	if (q < v->nqueues) {
		pthread_mutex_lock(&v->vq[q].lock);
		r = v->vq[q].enabled;
		pthread_mutex_unlock(&v->vq[q].lock);
	}
	return r;
}

void virtio_queue_notify(struct virtio_dev *v, unsigned q)
{
	struct virtqueue *vq;
	bool go;

	if (q >= v->nqueues) {
		log_rl(&v->rl, LOG_WARN, "%s: notify of queue %u out of range",
		       v->ops->name, q);
		return;
	}
	vq = &v->vq[q];
	pthread_mutex_lock(&v->lock);
	pthread_mutex_lock(&vq->lock);
	go = vq->enabled && !vq->broken;
	pthread_mutex_unlock(&vq->lock);
	if (go && (virtio_get_status(v) & VIRTIO_S_DRIVER_OK) && v->ops->queue_notify)
		v->ops->queue_notify(v, q);
	pthread_mutex_unlock(&v->lock);
}

void virtio_queue_kicked(struct virtio_dev *v, unsigned q)
{
	virtio_queue_notify(v, q);
	if (q < v->nqueues && v->vq[q].poller) {
		vq_poll_hold(&v->vq[q], true);
		ev_poller_start(v->vq[q].poller);
	}
}

void virtio_queue_poll_touch(struct virtio_dev *v, unsigned q)
{
	if (q < v->nqueues && v->vq[q].poller)
		ev_poller_touch(v->vq[q].poller);
}

void virtio_needs_reset(struct virtio_dev *v)
{
	uint8_t old = __atomic_fetch_or(&v->status, VIRTIO_S_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (!(old & VIRTIO_S_NEEDS_RESET) && (old & VIRTIO_S_DRIVER_OK))
		virtio_config_changed(v);
}

static const struct {
	const char *name;
	virtio_create_fn *create;
} virtio_models[] = {
	{ "virtio-blk", blk_create },
	{ "virtio-net", net_create },
	{ "virtio-rnd", rnd_create },
	{ "virtio-console", console_create },
};

virtio_create_fn *virtio_model_create(const char *model)
{
	for (size_t i = 0; i < ARRAY_SIZE(virtio_models); i++)
		if (strcmp(virtio_models[i].name, model) == 0)
			return virtio_models[i].create;
	return NULL;
}

static bool virtio_str_in(const char *s, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

int virtio_legacy_opts(struct config *cfg, const char *node, const char *conf,
		       const char *const *keys, const char *const *flags,
		       const char *model, char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	char key[300];
	bool first = true;
	int rc = 0;

	if (!conf || !*conf)
		return 0;
	copy = strdup(conf);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(tok, '=');
		const char *val = NULL;

		if (eq) {
			*eq = '\0';
			if (virtio_str_in(tok, keys))
				val = eq + 1;
			snprintf(key, sizeof(key), "%s.%s", node, tok);
			*eq = '=';
		} else if (first) {
			snprintf(key, sizeof(key), "%s.path", node);
			val = tok;
		} else {
			if (virtio_str_in(tok, flags))
				val = "true";
			snprintf(key, sizeof(key), "%s.%s", node, tok);
		}
		rc = val ? config_set(cfg, key, val) : -EINVAL;
		if (rc)
			break;
	}
	if (rc && tok)
		snprintf(err, errlen, "%s: invalid option '%s'", model, tok);
	free(copy);
	return rc;
}
