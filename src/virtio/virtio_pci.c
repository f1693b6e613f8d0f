/*
 * virtio over PCI, modern (1.x) transport only (virtio 1.2 §4.1): one
 * 32-bit memory BAR holding the common configuration, ISR, device
 * configuration and notification regions (vendor capabilities point at
 * them), plus the MSI-X table and PBA. Queue kicks reach the device through
 * KVM ioeventfds on the event loop; the MMIO path is the fallback.
 *
 * Locking: vp->lock protects the transport's shadow registers (selectors,
 * queue programming). It is never held while calling into the device core
 * (virtio_*), which takes the device lock and may call back into
 * vp_queue_interrupt/vp_config_interrupt; those only use atomics, the ISR
 * lock (ISR bits and the INTx level change together) and
 * pci_signal()/pci_intx_set(), which take the function's irq lock inside it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/log.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"
#include "lhyve/virtio_pci.h"

/* Layout of BAR 0. */
#define VP_COMMON_OFF 0x0000
#define VP_COMMON_LEN 0x003C
#define VP_ISR_OFF 0x1000
#define VP_ISR_LEN 0x0004
#define VP_DEVCFG_OFF 0x2000
#define VP_DEVCFG_LEN 0x0100
#define VP_NOTIFY_OFF 0x3000
#define VP_NOTIFY_MULT 4
#define VP_MSIX_TABLE_OFF 0x4000
#define VP_MSIX_PBA_OFF 0x6000
#define VP_BAR_SIZE 0x8000
#define VP_NO_VECTOR 0xFFFF

/* Capability cfg_type values (§4.1.4). */
#define VP_CAP_COMMON 1
#define VP_CAP_NOTIFY 2
#define VP_CAP_ISR 3
#define VP_CAP_DEVICE 4
#define VP_CAP_PCI_CFG 5

struct vp_queue {
	struct virtio_pci *vp;
	unsigned index;
	uint16_t size;
	uint16_t msix_vector; /* read with __atomic by interrupt callbacks */
	uint16_t enabled;
	uint64_t desc, driver, device;
	int efd;
	bool efd_assigned;
	uint64_t efd_addr;
};

struct virtio_pci {
	struct pci_dev *pci;
	struct virtio_dev *v;
	const struct pci_host *host;
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint16_t config_vector; /* __atomic */
	uint16_t qsel;
	unsigned nq;
	struct vp_queue *q;
	pthread_mutex_t isr_lock; /* ISR bits and the INTx level change together */
	uint8_t isr;
	struct ratelimit rl;
};

/* ---- interrupts (called by the device core, any thread) ---- */

static void vp_raise(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (pci_msix_enabled(vp->pci)) {
		if (vector != VP_NO_VECTOR)
			pci_signal(vp->pci, vector);
		return;
	}
	/* MSI (-W): one vector for everything, ISR says why; else INTx. */
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= isr_bit;
	if (!pci_signal(vp->pci, 0))
		pci_intx_set(vp->pci, true);
	pthread_mutex_unlock(&vp->isr_lock);
}

static void vp_queue_interrupt(void *opaque, unsigned q)
{
	struct virtio_pci *vp = opaque;

	if (q >= vp->nq)
		return;
	vp_raise(vp, __atomic_load_n(&vp->q[q].msix_vector, __ATOMIC_ACQUIRE), 1);
}

static void vp_config_interrupt(void *opaque)
{
	struct virtio_pci *vp = opaque;

	vp_raise(vp, __atomic_load_n(&vp->config_vector, __ATOMIC_ACQUIRE), 2);
}

static const struct virtio_transport_ops vp_tops = {
	.queue_interrupt = vp_queue_interrupt,
	.config_interrupt = vp_config_interrupt,
};

/* ---- queue kicks ---- */

static void vp_efd_cb(void *opaque, uint32_t events)
{
	struct vp_queue *q = opaque;
	uint64_t n;

	if (read(q->efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		virtio_queue_kicked(q->vp->v, q->index);
}

/* BAR 0 mapped or unmapped: (de)assign the notify ioeventfds. */
static void vp_bar_map(struct pci_dev *d, int bar, bool mapped, uint64_t addr)
{
	struct virtio_pci *vp = d->softc;

	if (bar != 0 || !vp->host->ioeventfd)
		return;
	for (unsigned i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		if (q->efd < 0)
			continue;
		if (q->efd_assigned) {
			vp->host->ioeventfd(vp->host->opaque, q->efd_addr, 0, false, q->efd, false);
			q->efd_assigned = false;
		}
		if (mapped) {
			q->efd_addr = addr + VP_NOTIFY_OFF + (uint64_t)i * VP_NOTIFY_MULT;
			if (vp->host->ioeventfd(vp->host->opaque, q->efd_addr, 0, false, q->efd, true) == 0)
				q->efd_assigned = true;
			else
				log_rl(&vp->rl, LOG_DEBUG, "%s: no ioeventfd for queue %u; using exits",
				       vp->v->ops->name, i);
		}
	}
}

/* ---- common configuration ---- */

static void vp_reset_shadow(struct virtio_pci *vp)
{
	vp->dfselect = vp->gfselect = 0;
	vp->qsel = 0;
	__atomic_store_n(&vp->config_vector, VP_NO_VECTOR, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		q->size = virtio_queue_max_size(vp->v);
		__atomic_store_n(&q->msix_vector, VP_NO_VECTOR, __ATOMIC_RELEASE);
		q->enabled = 0;
		q->desc = q->driver = q->device = 0;
	}
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr = 0;
	pci_intx_set(vp->pci, false);
	pthread_mutex_unlock(&vp->isr_lock);
}

static uint64_t field64_read(uint64_t v, unsigned off, unsigned size)
{
	return (v >> (8 * off)) & (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static uint64_t field64_write(uint64_t old, unsigned off, unsigned size, uint64_t val)
{
	uint64_t mask = (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1) << (8 * off);
	return (old & ~mask) | ((val << (8 * off)) & mask);
}

static uint64_t vp_common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	struct vp_queue *q;
	uint64_t v = 0;

	pthread_mutex_lock(&vp->lock);
	q = vp->qsel < vp->nq ? &vp->q[vp->qsel] : NULL;
	switch (off) {
	case 0x00: v = vp->dfselect; break;
	case 0x04: v = vp->dfselect < 2 ? virtio_get_device_features(vp->v, vp->dfselect) : 0; break;
	case 0x08: v = vp->gfselect; break;
	case 0x0C: v = vp->gfselect < 2 ? virtio_get_driver_features(vp->v, vp->gfselect) : 0; break;
	case 0x10: v = __atomic_load_n(&vp->config_vector, __ATOMIC_ACQUIRE); break;
	case 0x12: v = vp->nq; break;
	case 0x14: v = virtio_get_status(vp->v); break;
	case 0x15: v = virtio_config_generation(vp->v) & 0xFF; break;
	case 0x16: v = vp->qsel; break;
	case 0x18: v = q ? q->size : 0; break;
	case 0x1A: v = q ? __atomic_load_n(&q->msix_vector, __ATOMIC_ACQUIRE) : VP_NO_VECTOR; break;
	case 0x1C: v = q ? q->enabled : 0; break;
	case 0x1E: v = q ? q->index : 0; break;
	case 0x38: v = q ? q->index : 0; break; /* queue_notify_data */
	case 0x3A: v = 0; break;                /* queue_reset: not offered */
	default:
		if (q && off >= 0x20 && off < 0x38) {
			uint64_t *f = off < 0x28 ? &q->desc : off < 0x30 ? &q->driver : &q->device;
			v = field64_read(*f, (off - 0x20) % 8, size);
		}
		break;
	}
	pthread_mutex_unlock(&vp->lock);
	return v & (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
}

static uint16_t vp_vector(struct virtio_pci *vp, uint64_t val)
{
	/* A vector the function does not have reads back as NO_VECTOR (§4.1.5.1.2). */
	return val < vp->pci->msix_nvec ? (uint16_t)val : VP_NO_VECTOR;
}

static void vp_common_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t val)
{
	struct vp_queue *q;

	/* Status and feature writes go to the device core without our lock. */
	if (off == 0x14) {
		virtio_set_status(vp->v, (uint8_t)val);
		if ((uint8_t)val == 0) {
			pthread_mutex_lock(&vp->lock);
			vp_reset_shadow(vp);
			pthread_mutex_unlock(&vp->lock);
		}
		return;
	}
	if (off == 0x0C) {
		uint32_t sel;
		pthread_mutex_lock(&vp->lock);
		sel = vp->gfselect;
		pthread_mutex_unlock(&vp->lock);
		if (sel < 2)
			virtio_set_driver_features(vp->v, sel, (uint32_t)val);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	q = vp->qsel < vp->nq ? &vp->q[vp->qsel] : NULL;
	switch (off) {
	case 0x00: vp->dfselect = (uint32_t)val; break;
	case 0x08: vp->gfselect = (uint32_t)val; break;
	case 0x10: __atomic_store_n(&vp->config_vector, vp_vector(vp, val), __ATOMIC_RELEASE); break;
	case 0x16: vp->qsel = (uint16_t)val; break;
	case 0x18:
		if (q && !q->enabled) {
			if (val == 0 || val > virtio_queue_max_size(vp->v) || (val & (val - 1)))
				log_rl(&vp->rl, LOG_WARN, "%s: guest set invalid queue size %llu",
				       vp->v->ops->name, (unsigned long long)val);
			else
				q->size = (uint16_t)val;
		}
		break;
	case 0x1A:
		if (q)
			__atomic_store_n(&q->msix_vector, vp_vector(vp, val), __ATOMIC_RELEASE);
		break;
	case 0x1C:
		if (q && val == 1 && !q->enabled) {
			struct vq_config c = { .size = q->size, .desc = q->desc,
					       .avail = q->driver, .used = q->device };
			unsigned idx = q->index;
			pthread_mutex_unlock(&vp->lock);
			int rc = virtio_queue_enable(vp->v, idx, &c);
			pthread_mutex_lock(&vp->lock);
			if (rc == 0 && idx < vp->nq)
				vp->q[idx].enabled = 1;
		}
		break;
	default:
		if (q && !q->enabled && off >= 0x20 && off < 0x38) {
			uint64_t *f = off < 0x28 ? &q->desc : off < 0x30 ? &q->driver : &q->device;
			*f = field64_write(*f, (off - 0x20) % 8, size, val);
		}
		break;
	}
	pthread_mutex_unlock(&vp->lock);
}

/* Field boundaries of the common configuration: an access must stay in one field. */
static bool vp_common_access_ok(unsigned off, unsigned size)
{
	static const uint8_t start[] = { 0x00, 0x04, 0x08, 0x0C, 0x10, 0x12, 0x14, 0x15, 0x16,
					 0x18, 0x1A, 0x1C, 0x1E, 0x20, 0x28, 0x30, 0x38, 0x3A };
	for (size_t i = 0; i < ARRAY_SIZE(start); i++) {
		unsigned s = start[i];
		unsigned e = i + 1 < ARRAY_SIZE(start) ? start[i + 1] : VP_COMMON_LEN;
		if (off >= s && off + size <= e)
			return true;
	}
	return false;
}

static int vp_bar_io(void *opaque, uint64_t off, unsigned size, bool write, uint64_t *data)
{
	struct virtio_pci *vp = opaque;

	if (off < VP_COMMON_OFF + VP_COMMON_LEN) {
		unsigned o = (unsigned)(off - VP_COMMON_OFF);
		if (!vp_common_access_ok(o, size)) {
			log_rl(&vp->rl, LOG_WARN, "%s: bad common config access at 0x%x size %u",
			       vp->v->ops->name, o, size);
			return 0;
		}
		/* 64-bit queue addresses may be accessed in halves (see the default cases). */
		if (write)
			vp_common_write(vp, o, size, *data);
		else
			*data = vp_common_read(vp, o, size);
	} else if (off >= VP_ISR_OFF && off < VP_ISR_OFF + VP_ISR_LEN) {
		if (!write) {
			/* Reading the ISR clears it and deasserts INTx (§4.1.4.5). */
			pthread_mutex_lock(&vp->isr_lock);
			*data = off == VP_ISR_OFF ? vp->isr : 0;
			if (off == VP_ISR_OFF) {
				vp->isr = 0;
				pci_intx_set(vp->pci, false);
			}
			pthread_mutex_unlock(&vp->isr_lock);
		}
	} else if (off >= VP_DEVCFG_OFF && off < VP_DEVCFG_OFF + VP_DEVCFG_LEN) {
		uint32_t o = (uint32_t)(off - VP_DEVCFG_OFF);
		if (size > 8)
			return 0;
		if (write)
			virtio_config_write(vp->v, o, size, *data);
		else
			*data = virtio_config_read(vp->v, o, size);
	} else if (off >= VP_NOTIFY_OFF && off < VP_NOTIFY_OFF + (uint64_t)vp->nq * VP_NOTIFY_MULT) {
		if (write)
			virtio_queue_notify(vp->v, (unsigned)((off - VP_NOTIFY_OFF) / VP_NOTIFY_MULT));
		else
			*data = 0;
	} else if (off >= VP_MSIX_TABLE_OFF) {
		return pci_msix_io(vp->pci, off, size, write, data);
	} else if (!write) {
		*data = 0;
	}
	return 0;
}

/* ---- creation ---- */

static int vp_add_cap(struct pci_dev *d, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	int c = pci_add_cap(d, PCI_CAP_VENDOR, notify ? 20 : 16);

	if (c < 0)
		return c;
	d->cfg[c + 2] = notify ? 20 : 16; /* cap_len */
	d->cfg[c + 3] = type;
	d->cfg[c + 4] = 0; /* BAR 0 */
	put_le32(&d->cfg[c + 8], off);
	put_le32(&d->cfg[c + 12], len);
	if (notify)
		put_le32(&d->cfg[c + 16], VP_NOTIFY_MULT);
	return 0;
}

static const struct {
	uint16_t id;
	uint8_t class, subclass;
} vp_class[] = {
	{ VIRTIO_ID_NET, 0x02, 0x00 },
	{ VIRTIO_ID_BLOCK, 0x01, 0x80 },
	{ VIRTIO_ID_CONSOLE, 0x07, 0x80 },
	{ VIRTIO_ID_RNG, 0x00, 0xFF },
};

void virtio_pci_fini(struct pci_dev *d)
{
	struct virtio_pci *vp = d->softc;

	if (!vp)
		return;
	for (unsigned i = 0; vp->q && i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		if (q->efd_assigned)
			vp->host->ioeventfd(vp->host->opaque, q->efd_addr, 0, false, q->efd, false);
		if (q->efd >= 0) {
			if (vp->host->loop)
				ev_del_fd(vp->host->loop, q->efd);
			close(q->efd);
		}
	}
	if (vp->v)
		virtio_dev_destroy(vp->v);
	free(vp->q);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp);
	d->softc = NULL;
}

int virtio_pci_init(struct pci_dev *d, const struct pci_host *host, struct config *cfg,
		    const char *node, char *err, size_t errlen)
{
	virtio_create_fn *create = virtio_model_create(d->model->name);
	struct virtio_env env = {
		.gm = host->gm, .loop = host->loop, .vm_name = host->vm_name,
		.bus = d->bus, .slot = d->slot, .func = d->func,
	};
	struct virtio_pci *vp;
	uint8_t class = 0, subclass = 0;
	uint64_t poll_us = VIRTIO_POLL_US_DEFAULT;
	int rc;

	if (!create) {
		snprintf(err, errlen, "pci slot %u:%u:%u: device \"%s\" is not implemented",
			 d->bus, d->slot, d->func, d->model->name);
		return -ENOTSUP;
	}
	if (config_get_uint(cfg, "virtio.poll_us", VIRTIO_POLL_US_DEFAULT, &poll_us) < 0 ||
	    poll_us > 1000000) {
		snprintf(err, errlen, "virtio.poll_us: expected microseconds 0-1000000");
		return -EINVAL;
	}
	env.poll_ns = poll_us * 1000;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->pci = d;
	vp->host = host;
	vp->rl = (struct ratelimit)RATELIMIT_INIT;
	d->softc = vp;
	vp->v = create(&env, cfg, node, err, errlen);
	if (!vp->v) {
		rc = -EINVAL;
		goto err;
	}
	vp->nq = virtio_num_queues(vp->v);
	vp->q = calloc(vp->nq, sizeof(*vp->q));
	if (!vp->q) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		q->vp = vp;
		q->index = i;
		q->efd = -1;
		if (host->ioeventfd && host->loop) {
			q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (q->efd < 0 || ev_add_fd(host->loop, q->efd, EPOLLIN, vp_efd_cb, q) < 0) {
				snprintf(err, errlen, "%s: cannot create a notification eventfd", d->model->name);
				rc = -EMFILE;
				goto err;
			}
		}
	}
	vp_reset_shadow(vp);
	for (size_t i = 0; i < ARRAY_SIZE(vp_class); i++)
		if (vp_class[i].id == vp->v->ops->device_id) {
			class = vp_class[i].class;
			subclass = vp_class[i].subclass;
		}
	pci_set_ids(d, 0x1AF4, (uint16_t)(0x1040 + vp->v->ops->device_id), class, subclass, 0, 1);
	pci_set_subsys(d, 0x1AF4, (uint16_t)(0x1040 + vp->v->ops->device_id));
	if ((rc = pci_add_bar(d, 0, PCI_BAR_MEM32, VP_BAR_SIZE, vp_bar_io, vp)) < 0 ||
	    (rc = vp_add_cap(d, VP_CAP_COMMON, VP_COMMON_OFF, VP_COMMON_LEN, false)) < 0 ||
	    (rc = vp_add_cap(d, VP_CAP_NOTIFY, VP_NOTIFY_OFF, vp->nq * VP_NOTIFY_MULT, true)) < 0 ||
	    (rc = vp_add_cap(d, VP_CAP_ISR, VP_ISR_OFF, VP_ISR_LEN, false)) < 0 ||
	    (rc = vp_add_cap(d, VP_CAP_DEVICE, VP_DEVCFG_OFF, VP_DEVCFG_LEN, false)) < 0)
		goto err_caps;
	if (host->msix)
		rc = pci_add_msix(d, vp->nq + 1, 0, VP_MSIX_TABLE_OFF, VP_MSIX_PBA_OFF);
	else
		rc = pci_add_msi(d, 1);
	if (rc < 0 || (rc = pci_add_intx(d)) < 0)
		goto err_caps;
	d->bar_map = vp_bar_map;
	virtio_attach(vp->v, &vp_tops, vp);
	return 0;
err_caps:
	snprintf(err, errlen, "%s: cannot build the PCI function: %s", d->model->name, strerror(-rc));
err:
	virtio_pci_fini(d);
	return rc;
}
