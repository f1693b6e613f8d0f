/*
 * virtio 1.x device core, below any transport (virtio 1.2 spec).
 *
 * Pieces:
 *   struct virtqueue   a split virtqueue (§2.7): ring walking with every
 *                      guest value validated, event-idx notification logic.
 *   struct virtio_dev  one device instance: features, status, reset, the
 *                      device config space and the queues; embedded in each
 *                      device model's softc (blk.c, net.c, rnd.c, console.c).
 *
 * How a transport (virtio_pci.c) drives a device:
 *   1. create:    v = <model>_create(env, cfg, node, err, errlen) (see the
 *                 VIRTIO_MODEL rows below) or virtio_model_create(name, ...).
 *   2. attach:    virtio_attach(v, &my_transport_ops, opaque) before the VM
 *                 runs. The callbacks raise interrupts and must be thread-safe.
 *   3. registers: virtio_get_device_features(v, sel), virtio_set_driver_features,
 *                 virtio_get_status / virtio_set_status (0 resets),
 *                 virtio_config_read / virtio_config_write,
 *                 virtio_config_generation, virtio_num_queues,
 *                 virtio_queue_max_size.
 *                 The transport keeps its own shadow of queue_size,
 *                 queue_desc/driver/device and its MSI-X vectors; when the
 *                 driver writes queue_enable=1 it calls virtio_queue_enable()
 *                 with those values (-EINVAL: leave queue_enable reading 0).
 *                 On reset (status 0) it clears its own shadow registers.
 *   4. notify:    virtio_queue_notify(v, q) when the guest kicks queue q
 *                 (ioeventfd handler, on the event-loop thread).
 *   5. destroy:   virtio_dev_destroy(v) after the VM stopped.
 *
 * Threading and locking:
 *   - v->lock (the device lock) serialises everything that changes device or
 *     queue state: the virtio_* register functions and virtio_queue_notify
 *     take it themselves; device event-loop callbacks (tap readable, socket
 *     readable...) take it with virtio_lock()/virtio_unlock().
 *     The transport must not hold its own lock across calls that can call
 *     back into it (queue_interrupt/config_interrupt are called with v->lock
 *     held and from worker threads without it).
 *   - vq->lock protects the ring cursors; vq_pop/vq_push/vq_notify/
 *     vq_set_notify/vq_unpop take it themselves, so block I/O completion
 *     threads may push without the device lock.
 *   - ops->reset is called with v->lock held and must quiesce the device:
 *     when it returns no thread touches the queues or guest memory for
 *     requests from before the reset.
 */
#ifndef LHYVE_VIRTIO_H
#define LHYVE_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lhyve/log.h"
#include "lhyve/mem.h"

struct config;
struct evloop;

/* Device IDs (§5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* Device status bits (§2.1). */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128

/* Transport-level feature bits (§6), offered by virtio.c for every device. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BIT(b) (1ULL << (b))

/* Split ring layout (§2.7). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VQ_MAX_SIZE 32768 /* spec maximum for a split queue */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtio_dev;

/* Ring addresses and size as the driver programmed them. */
struct vq_config {
	uint16_t size; /* power of 2, 1..max queue size */
	uint64_t desc, avail, used; /* guest physical addresses */
};

struct virtqueue {
	pthread_mutex_t lock; /* protects everything below */
	struct virtio_dev *vdev;
	unsigned index;
	bool enabled;
	bool broken;      /* malformed ring seen: no more processing until reset */
	bool event_idx;   /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;    /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
	uint16_t size;
	struct vq_config cfg;
	const struct guest_mem *gm;
	/* Host views of the rings (validated at enable time). */
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
	uint16_t last_avail;    /* next avail ring entry to consume */
	uint16_t avail_shadow;  /* avail idx as last read (entries up to it are valid) */
	uint16_t used_idx;      /* next used ring entry to fill */
	uint16_t signalled_used; /* used_idx when the driver was last interrupted */
	bool pushed;            /* used entries added since last vq_notify */
	bool poll_hold;         /* the device is polling: keep kicks off */
	struct ev_poller *poller; /* set at init when the queue may be polled */
	struct ratelimit rl;
};

/*
 * One popped descriptor chain. The caller provides iov[max_iov]; vq_pop
 * fills iov[0..nout) with the device-readable buffers followed by
 * iov[nout..nout+nin) device-writable ones (zero-length descriptors are
 * skipped). A chain needing more than max_iov entries is malformed.
 */
struct vq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_bytes, in_bytes;
	struct iovec *iov;
	unsigned max_iov;
};

/* --- virtqueue.c --- */

/* Initialise an (unconfigured, disabled) queue; 0 or -errno. */
int vq_init(struct virtqueue *vq, struct virtio_dev *v, unsigned index);
void vq_fini(struct virtqueue *vq);
/*
 * Validate the ring geometry (size power of two <= max_size, alignments
 * 16/2/4, every ring inside guest RAM) and enable the queue. -EINVAL if bad
 * (the queue stays disabled). Called by virtio_queue_enable().
 */
int vq_enable(struct virtqueue *vq, const struct guest_mem *gm,
	      const struct vq_config *c, uint16_t max_size, bool event_idx,
	      bool indirect);
/* Back to the disabled, unconfigured state (device reset). */
void vq_reset(struct virtqueue *vq);
/*
 * Pop the next available chain into c. Returns 1 with c filled, 0 if the
 * ring is empty (or the queue disabled/broken), -EINVAL if the ring or chain
 * is malformed: the queue is then marked broken, the device set to
 * NEEDS_RESET and a rate-limited line logged.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Give back the last n popped chains (they will be popped again). */
void vq_unpop(struct virtqueue *vq, unsigned n);
/* Return chain `head` to the driver with `len` bytes written by the device. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* The same for n chains, publishing the used index once. */
struct vq_used_elem {
	uint16_t head;
	uint32_t len;
};
void vq_push_n(struct virtqueue *vq, const struct vq_used_elem *u, unsigned n);
/* True if the driver wants an interrupt for what was pushed since last time. */
bool vq_should_notify(struct virtqueue *vq);
/* vq_should_notify() and, if so, the transport's queue interrupt. */
void vq_notify(struct virtqueue *vq);
/*
 * Ask the driver to kick (on) or not kick (off) when adding buffers.
 * After turning kicks back on, re-check vq_has_avail(): a buffer may have
 * been added just before (vq_enable_notify does both). While the queue is
 * being polled (poll_hold) "on" leaves kicks off: the poller sees new
 * buffers without them.
 */
void vq_set_notify(struct virtqueue *vq, bool on);
/* Turn kicks on; true if buffers are already pending (keep processing). */
bool vq_enable_notify(struct virtqueue *vq);
/* True if the driver has made buffers available that were not popped. */
bool vq_has_avail(struct virtqueue *vq);

/* iovec helpers (copies bounded by both sides; return bytes copied). */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
		     void *buf, size_t len);
size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
		       const void *buf, size_t len);
/*
 * Copy up to `max` entries of iov[0..n) covering bytes [off, off+len) into
 * dst; returns the number of entries written (covering fewer bytes if the
 * source is shorter or max is reached).
 */
unsigned vq_iov_slice(const struct iovec *iov, unsigned n, size_t off,
		      size_t len, struct iovec *dst, unsigned max);

/* --- virtio.c --- */

/* Callbacks the transport gives the device (all must be thread-safe). */
struct virtio_transport_ops {
	/* Raise the interrupt for queue q (MSI-X vector or INTx + ISR bit 0). */
	void (*queue_interrupt)(void *opaque, unsigned q);
	/* Raise the configuration-change interrupt (ISR bit 1). */
	void (*config_interrupt)(void *opaque);
};

/* Creation context handed to every device model by the PCI layer. */
struct virtio_env {
	const struct guest_mem *gm;
	struct evloop *loop;
	const char *vm_name;
	unsigned bus, slot, func;
	uint64_t poll_ns; /* virtio.poll_us: avail-ring polling window, 0: off */
};

/* Device model operations (static const in each model). */
struct virtio_dev_ops {
	const char *name;      /* "virtio-blk" ... (for log lines) */
	uint16_t device_id;    /* VIRTIO_ID_* */
	uint16_t max_queue_size;
	/*
	 * Queues (bit i = queue i) whose kicks may be replaced by polling the
	 * avail ring on the event loop for env->poll_ns after each kick (see
	 * virtio_queue_kicked). queue_notify must then cope with being called
	 * when nothing new is available.
	 */
	uint64_t poll_queues;
	/*
	 * Driver finished negotiation (FEATURES_OK written) with these features;
	 * return -EINVAL to refuse (FEATURES_OK then stays clear). May be NULL.
	 */
	int (*set_features)(struct virtio_dev *v, uint64_t features);
	/* Guest wrote device config bytes [off, off+size) (already bounds-
	 * checked and stored into v->config unless ops decides). May be NULL:
	 * config space then is read-only. */
	void (*config_write)(struct virtio_dev *v, uint32_t off, unsigned size,
			     uint64_t val);
	/* Guest kicked queue q (q < nqueues, enabled, DRIVER_OK, not broken). */
	void (*queue_notify)(struct virtio_dev *v, unsigned q);
	/* DRIVER_OK was set. May be NULL. */
	void (*start)(struct virtio_dev *v);
	/* Device reset: quiesce and forget driver state. May be NULL. */
	void (*reset)(struct virtio_dev *v);
	/* Free the softc and everything it owns (v->lock not held). */
	void (*destroy)(struct virtio_dev *v);
};

#define VIRTIO_MAX_QUEUES 64
#define VIRTIO_POLL_US_DEFAULT 50 /* virtio.poll_us */
#define VIRTIO_CONFIG_MAX 256

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	pthread_mutex_t lock; /* the device lock: see the top of this file */
	const struct guest_mem *gm;
	struct evloop *loop;
	const struct virtio_transport_ops *tops;
	void *topaque;
	uint64_t device_features; /* including the transport bits */
	uint64_t driver_features;
	uint8_t status;           /* read/written with __atomic */
	uint32_t config_generation;
	unsigned nqueues;
	struct virtqueue *vq;     /* [nqueues] */
	uint8_t config[VIRTIO_CONFIG_MAX]; /* device config space (little endian) */
	uint32_t config_len;
	struct ratelimit rl;
};

/*
 * Initialise the core part of a device softc: nqueues queues, device
 * feature bits (the transport bits are added here). 0 or -errno.
 */
int virtio_dev_init(struct virtio_dev *v, const struct virtio_dev_ops *ops,
		    const struct virtio_env *env, unsigned nqueues,
		    uint64_t device_features);
/* Undo virtio_dev_init (called by each model's destroy). */
void virtio_dev_fini(struct virtio_dev *v);
/* Destroy a device created by a model's create function. */
void virtio_dev_destroy(struct virtio_dev *v);
/* Connect the transport's callbacks (before the VM runs). */
void virtio_attach(struct virtio_dev *v, const struct virtio_transport_ops *t,
		   void *opaque);

void virtio_lock(struct virtio_dev *v);
void virtio_unlock(struct virtio_dev *v);

/* 32-bit window `sel` (0, 1) of the device / driver feature bits. */
uint32_t virtio_get_device_features(struct virtio_dev *v, unsigned sel);
uint32_t virtio_get_driver_features(struct virtio_dev *v, unsigned sel);
/* Ignored (rate-limited log) once FEATURES_OK is set. */
void virtio_set_driver_features(struct virtio_dev *v, unsigned sel, uint32_t val);
/* True if the driver accepted feature bit `bit`. */
bool virtio_has_feature(const struct virtio_dev *v, unsigned bit);

uint8_t virtio_get_status(struct virtio_dev *v);
/*
 * Driver status write: 0 resets the device (queues, features, status;
 * waits for in-flight work). FEATURES_OK is kept only if the features are
 * acceptable (a subset of the offer including VERSION_1, and the model
 * agrees); DRIVER_OK starts the device.
 */
void virtio_set_status(struct virtio_dev *v, uint8_t status);

/* Device config space access; out of range reads return 0, writes ignored. */
uint64_t virtio_config_read(struct virtio_dev *v, uint32_t off, unsigned size);
void virtio_config_write(struct virtio_dev *v, uint32_t off, unsigned size,
			 uint64_t val);
uint32_t virtio_config_generation(struct virtio_dev *v);
/* Device side: config bytes changed (v->lock held): bump the generation and
 * send a config interrupt if the driver is running. */
void virtio_config_changed(struct virtio_dev *v);

unsigned virtio_num_queues(const struct virtio_dev *v);
uint16_t virtio_queue_max_size(const struct virtio_dev *v);
/*
 * queue_enable=1 for queue q with the driver's values. -EINVAL for a bad q
 * or geometry (logged, rate-limited), -EBUSY if already enabled.
 */
int virtio_queue_enable(struct virtio_dev *v, unsigned q, const struct vq_config *c);
bool virtio_queue_enabled(struct virtio_dev *v, unsigned q);
/* Guest kicked queue q (any thread; takes v->lock). Bad q is ignored. */
void virtio_queue_notify(struct virtio_dev *v, unsigned q);
/*
 * The same from the event loop thread (ioeventfd): after handling the kick,
 * a pollable queue switches kicks off and is polled for poll_ns (renewed
 * while buffers keep coming), then kicks go back on.
 */
void virtio_queue_kicked(struct virtio_dev *v, unsigned q);
/* A request of queue q completed (any thread): renew its polling window. */
void virtio_queue_poll_touch(struct virtio_dev *v, unsigned q);
/*
 * A malformed ring or request: set DEVICE_NEEDS_RESET and, if the driver is
 * running, raise the config interrupt. Thread-safe.
 */
void virtio_needs_reset(struct virtio_dev *v);

/* --- device models: creation from the config tree --- */

/*
 * Every model exports a create function of this type plus, for the -s
 * table in pci/models.c, a legacy_config parser and a NULL-terminated key
 * list. On failure: NULL and one line in err (e.g. "disk image x.img: No
 * such file or directory").
 */
typedef struct virtio_dev *virtio_create_fn(const struct virtio_env *env,
					    struct config *cfg, const char *node,
					    char *err, size_t errlen);

virtio_create_fn blk_create, net_create, rnd_create, console_create;
/*
 * Test hook: a virtio-net over an open message-preserving fd (e.g. a
 * SOCK_SEQPACKET socketpair) whose frames carry the 12-byte header.
 */
struct virtio_dev *net_create_fd(const struct virtio_env *env, int fd, bool offloads,
				 char *err, size_t errlen);
/* Find the create function for a -s model name ("virtio-blk"...), or NULL. */
virtio_create_fn *virtio_model_create(const char *model);

/*
 * The common shape of the legacy "-s slot,model,conf" parsers: a first bare
 * token is <node>.path; "k=v" sets <node>.k when k is in the NULL-terminated
 * list `keys`; a later bare token sets <node>.tok=true when it is in `flags`
 * (NULL: none). Anything else: -EINVAL, "<model>: invalid option '<tok>'".
 */
int virtio_legacy_opts(struct config *cfg, const char *node, const char *conf,
		       const char *const *keys, const char *const *flags,
		       const char *model, char *err, size_t errlen);
int blk_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen);
int net_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen);
int rnd_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen);
int console_legacy_config(struct config *cfg, const char *node, const char *conf,
			  char *err, size_t errlen);
extern const char *const blk_config_keys[];
extern const char *const net_config_keys[];
extern const char *const rnd_config_keys[];
extern const char *const console_config_keys[];

#endif
