/*
 * PCI and virtio (modern PCI transport) test drivers for the 64-bit PVH
 * guest. The drivers are written to run in ring 3 (user_call): PCI config
 * space through ports 0xCF8/0xCFC (opened by the TSS I/O bitmap) or ECAM,
 * BARs and rings through the identity map. Interrupt handlers run in
 * ring 0 and only count, read the ISR (INTx) and send the EOI.
 *
 * Concurrency: one CPU. Driver state is touched by ring-3 code; the ring-0
 * handlers only write the counters in struct vd_irqstate (volatile).
 */
#ifndef GUEST_VT_H
#define GUEST_VT_H

#include "../tests/tests.h"
#include "../arch64pvh/cpu64p.h"

#pragma GCC visibility push(hidden)

/* ---- pcicfg.c: configuration space ---- */
#define PCI_ECAM_BASE 0xE0000000u
#define PCI_BDF(b, d, f) ((uint32_t)(b) << 8 | (uint32_t)(d) << 3 | (uint32_t)(f))
uint32_t pcicfg_read32(uint32_t bdf, unsigned off);   /* 0xCF8/0xCFC */
void pcicfg_write32(uint32_t bdf, unsigned off, uint32_t v);
uint16_t pcicfg_read16(uint32_t bdf, unsigned off);
void pcicfg_write16(uint32_t bdf, unsigned off, uint16_t v);
uint8_t pcicfg_read8(uint32_t bdf, unsigned off);
uint32_t pcicfg_ecam_read32(uint32_t bdf, unsigned off); /* ECAM MMIO */
/* Offset of the first capability with this ID at or after `from` (0: the
 * list head), 0 if none. */
unsigned pcicfg_find_cap(uint32_t bdf, uint8_t id, unsigned from);

/* ---- vdrv.c: virtio device driver core ---- */
#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_DEV_NET 1
#define VIRTIO_DEV_BLK 2
#define VIRTIO_DEV_CONSOLE 3
#define VIRTIO_DEV_RNG 4

#define VS_ACK 1
#define VS_DRIVER 2
#define VS_DRIVER_OK 4
#define VS_FEATURES_OK 8
#define VS_NEEDS_RESET 64
#define VS_FAILED 128

#define VF_INDIRECT (1ull << 28)
#define VF_EVENT_IDX (1ull << 29)
#define VF_VERSION_1 (1ull << 32)

#define VD_MAX_QUEUES 4
#define VD_NO_VECTOR 0xFFFF

enum vd_irq_mode { VD_IRQ_NONE, VD_IRQ_MSIX, VD_IRQ_MSI, VD_IRQ_INTX };

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
#define VRING_F_NEXT 1
#define VRING_F_WRITE 2
#define VRING_F_INDIRECT 4

struct vd;

struct vd_queue {
	struct vd *d;
	uint16_t index, size;
	uint16_t next_desc;    /* next free descriptor (ring order) */
	uint16_t avail_idx;    /* our copy of avail->idx */
	uint16_t used_seen;    /* used entries consumed */
	struct vring_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;   /* flags, idx, ring[size] {id, len}, avail_event */
	uintptr_t notify;      /* notify address */
};

struct vd {
	uint32_t bdf;
	uint16_t device_id;
	uintptr_t bar;
	uintptr_t common, isr, devcfg, notify_base;
	uint32_t notify_mult;
	unsigned msix_cap, msi_cap;
	uint32_t msix_table;   /* offset in the BAR */
	uint64_t features;     /* negotiated */
	enum vd_irq_mode irq;
	uint8_t vector;        /* first interrupt vector (one per queue for MSI-X) */
	unsigned nq;
	struct vd_queue q[VD_MAX_QUEUES];
};

/* Buffer for vd_add: guest-physical address (== pointer), length, writable. */
struct vd_buf {
	const void *addr;
	uint32_t len;
	bool write;
};

/* Bump allocator over a static arena (page-aligned when align=4096). */
void *vd_alloc(size_t size, size_t align);
/* Find the virtio function at bdf (vendor check, caps, BAR). 0 or -1. */
int vd_probe(struct vd *d, uint32_t bdf);
/* First function on bus 0 with this virtio device ID; bdf or -1. */
int vd_find(uint16_t device_id, unsigned nth);
/* Reset, ACK|DRIVER, negotiate `want` & offered (must include VERSION_1),
 * FEATURES_OK check. 0 or -1 (prints why). */
int vd_init(struct vd *d, uint64_t want);
/* Set up queue `index` with `size` entries (<= device max), enable it. */
int vd_queue_setup(struct vd *d, unsigned index, unsigned size);
/* Interrupts: program MSI-X / MSI / INTx for every set-up queue, starting at
 * `vector`. Call after vd_queue_setup, before vd_driver_ok. 0 or -1. */
int vd_irq_setup(struct vd *d, enum vd_irq_mode mode, uint8_t vector);
void vd_driver_ok(struct vd *d);
uint8_t vd_status(struct vd *d);
void vd_set_status(struct vd *d, uint8_t s);
/* Device configuration space access. */
uint8_t vd_cfg8(struct vd *d, unsigned off);
uint16_t vd_cfg16(struct vd *d, unsigned off);
uint32_t vd_cfg32(struct vd *d, unsigned off);
uint64_t vd_cfg64(struct vd *d, unsigned off);
/* Raw descriptor write / avail publish (the malicious tests use these). */
void vd_put_desc(struct vd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);
void vd_publish(struct vd_queue *q, uint16_t head);
/* Add a chain of n buffers (readable ones first); returns the head. */
uint16_t vd_add(struct vd_queue *q, const struct vd_buf *b, unsigned n);
void vd_kick(struct vd_queue *q);
/* Wait up to ms for the next used entry: 0 (head, len filled) or -1. */
int vd_wait_used(struct vd_queue *q, uint16_t *head, uint32_t *len, uint32_t ms);
/* Used entries not consumed yet. */
bool vd_used_pending(struct vd_queue *q);
/* Add one chain, kick and wait for it: used length or -1 on timeout. */
long vd_xfer(struct vd_queue *q, const struct vd_buf *b, unsigned n, uint32_t ms);
/* Interrupts counted for the vector of queue qi (MSI-X), or the device's
 * single vector (MSI/INTx). */
uint32_t vd_irq_count(struct vd *d, unsigned qi);
/* Bits seen in the ISR by the INTx handler (accumulated). */
uint32_t vd_isr_seen(struct vd *d);
/* Milliseconds since boot (PM timer). */
uint32_t vd_ms(void);

/* ---- the tests (vt_NAME.c); each runs in ring 3, returns 0 on success ---- */
long vt_pci(void *arg);
long vt_blk(void *arg);
long vt_rnd(void *arg);
long vt_console(void *arg);
long vt_intr(void *arg);
long vt_net(void *arg);
long vt_bad(void *arg);
/* tests/hardening/run.sh: vt_hostile.c, vt_hostio.c, vt_durable.c */
long vt_hostile(void *arg);
long vt_hostio(void *arg);
long vt_durable(void *arg);
long vt_load(void *arg);
long vt_fdwatch(void *arg);

/* ---- helpers in vmain.c ---- */
/* Integer option key=N from the command line (def if absent). */
unsigned long vt_opt(const char *key, unsigned long def);

#endif
