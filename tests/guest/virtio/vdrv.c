/*
 * Minimal virtio 1.x driver over the modern PCI transport (virtio 1.2
 * §4.1): capability walk, status/feature handshake, split virtqueues with
 * polled completion, and MSI-X / MSI / INTx interrupt set-up.
 *
 * State: the buffer arena and the vector -> device table live in the one
 * static struct vdrv. Ring-3 code owns everything except the INTx ISR
 * accumulator, which the ring-0 handler writes (volatile).
 */
#include "vt.h"

#define ARENA_SIZE (3u << 20)
#define VCAP_VENDOR 0x09
#define VCAP_MSI 0x05
#define VCAP_MSIX 0x11

/* Common configuration (virtio 1.2 §4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0C
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_QSELECT 0x16
#define CC_QSIZE 0x18
#define CC_QMSIX 0x1A
#define CC_QENABLE 0x1C
#define CC_QNOTIFY_OFF 0x1E
#define CC_QDESC 0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

static struct {
	uint8_t arena[ARENA_SIZE] __attribute__((aligned(4096)));
	size_t used;
	struct vd *by_vector[256];
	volatile uint32_t isr_seen[256];
} vdrv;

void *vd_alloc(size_t size, size_t align)
{
	size_t off = (vdrv.used + align - 1) & ~(align - 1);

	if (off + size > ARENA_SIZE)
		fail_halt("vd_alloc: arena exhausted");
	vdrv.used = off + size;
	memset(vdrv.arena + off, 0, size);
	return vdrv.arena + off;
}

uint32_t vd_ms(void)
{
	return (uint32_t)(pmt_now_us() / 1000);
}

static uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static void wr16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

static void wr64(uintptr_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}

int vd_find(uint16_t device_id, unsigned nth)
{
	for (unsigned dev = 0; dev < 32; dev++)
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t bdf = PCI_BDF(0, dev, fn), id = pcicfg_read32(bdf, 0);

			if ((id & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			if ((id & 0xFFFF) == VIRTIO_VENDOR &&
			    (id >> 16) == 0x1040u + device_id && nth-- == 0)
				return (int)bdf;
			if (fn == 0 && !(pcicfg_read8(bdf, 0x0E) & 0x80))
				break; /* single-function device */
		}
	return -1;
}

int vd_probe(struct vd *d, uint32_t bdf)
{
	uint32_t id = pcicfg_read32(bdf, 0), bar0;
	unsigned c = 0;

	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	if ((id & 0xFFFF) != VIRTIO_VENDOR || (id >> 16) < 0x1041) {
		printf("vd: %02x:%02x.%x is not a modern virtio device (0x%x)\n",
		       bdf >> 8, (bdf >> 3) & 31, bdf & 7, id);
		return -1;
	}
	d->device_id = (uint16_t)((id >> 16) - 0x1040);
	bar0 = pcicfg_read32(bdf, 0x10);
	if (bar0 & 1) {
		printf("vd: BAR0 is not memory (0x%x)\n", bar0);
		return -1;
	}
	d->bar = bar0 & ~0xFu;
	if (((bar0 >> 1) & 3) == 2)
		d->bar |= (uintptr_t)pcicfg_read32(bdf, 0x14) << 32;
	while ((c = pcicfg_find_cap(bdf, VCAP_VENDOR, c))) {
		uint8_t type = pcicfg_read8(bdf, c + 3), bar = pcicfg_read8(bdf, c + 4);
		uint32_t off = pcicfg_read32(bdf, c + 8);

		if (bar != 0)
			continue;
		switch (type) {
		case 1: d->common = d->bar + off; break;
		case 2:
			d->notify_base = d->bar + off;
			d->notify_mult = pcicfg_read32(bdf, c + 16);
			break;
		case 3: d->isr = d->bar + off; break;
		case 4: d->devcfg = d->bar + off; break;
		}
	}
	d->msix_cap = pcicfg_find_cap(bdf, VCAP_MSIX, 0);
	d->msi_cap = pcicfg_find_cap(bdf, VCAP_MSI, 0);
	if (d->msix_cap)
		d->msix_table = pcicfg_read32(bdf, d->msix_cap + 4) & ~7u;
	if (!d->common || !d->notify_base || !d->isr || !d->devcfg || !d->bar) {
		printf("vd: missing virtio capabilities or BAR\n");
		return -1;
	}
	/* memory decode + bus master */
	pcicfg_write16(bdf, 0x04, (uint16_t)(pcicfg_read16(bdf, 0x04) | 0x6));
	return 0;
}

uint8_t vd_status(struct vd *d)
{
	return mmio_read8(d->common + CC_STATUS);
}

void vd_set_status(struct vd *d, uint8_t s)
{
	mmio_write8(d->common + CC_STATUS, s);
}

int vd_init(struct vd *d, uint64_t want)
{
	uint64_t offered;

	vd_set_status(d, 0);
	for (int i = 0; vd_status(d) != 0; i++)
		if (i > 1000) {
			printf("vd: reset does not complete\n");
			return -1;
		}
	vd_set_status(d, VS_ACK);
	vd_set_status(d, VS_ACK | VS_DRIVER);
	mmio_write32(d->common + CC_DFSELECT, 0);
	offered = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSELECT, 1);
	offered |= (uint64_t)mmio_read32(d->common + CC_DF) << 32;
	if (!(offered & VF_VERSION_1)) {
		printf("vd: device does not offer VERSION_1\n");
		return -1;
	}
	d->features = (want & offered) | VF_VERSION_1;
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GF, (uint32_t)d->features);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GF, (uint32_t)(d->features >> 32));
	vd_set_status(d, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
	if (!(vd_status(d) & VS_FEATURES_OK)) {
		printf("vd: FEATURES_OK not accepted (features 0x%lx)\n",
		       (unsigned long)d->features);
		return -1;
	}
	d->nq = 0;
	return 0;
}

int vd_queue_setup(struct vd *d, unsigned index, unsigned size)
{
	struct vd_queue *q;
	uint16_t max;

	if (index >= VD_MAX_QUEUES || index >= rd16(d->common + CC_NUM_QUEUES))
		return -1;
	q = &d->q[index];
	memset(q, 0, sizeof(*q));
	wr16(d->common + CC_QSELECT, (uint16_t)index);
	max = rd16(d->common + CC_QSIZE);
	if (!max)
		return -1;
	if (size > max)
		size = max;
	q->d = d;
	q->index = (uint16_t)index;
	q->size = (uint16_t)size;
	q->desc = vd_alloc(16u * size, 4096);
	q->avail = vd_alloc(6u + 2u * size, 4096);
	q->used = vd_alloc(6u + 8u * size, 4096);
	wr16(d->common + CC_QSIZE, (uint16_t)size);
	wr64(d->common + CC_QDESC, (uintptr_t)q->desc);
	wr64(d->common + CC_QDRIVER, (uintptr_t)q->avail);
	wr64(d->common + CC_QDEVICE, (uintptr_t)q->used);
	q->notify = d->notify_base + (uintptr_t)rd16(d->common + CC_QNOTIFY_OFF) * d->notify_mult;
	wr16(d->common + CC_QENABLE, 1);
	if (rd16(d->common + CC_QENABLE) != 1) {
		printf("vd: queue %u not enabled\n", index);
		return -1;
	}
	if (index + 1 > d->nq)
		d->nq = index + 1;
	return 0;
}

/* Ring-0 handlers: count (isr_dispatch did), read the ISR for INTx, EOI. */
static void vd_intx_handler(struct intr_frame *f, unsigned vec)
{
	struct vd *d = vdrv.by_vector[vec & 0xFF];

	if (d)
		vdrv.isr_seen[vec & 0xFF] |= mmio_read8(d->isr);
	lapic_eoi();
}

static void vd_msi_handler(struct intr_frame *f, unsigned vec)
{
	lapic_eoi();
}

int vd_irq_setup(struct vd *d, enum vd_irq_mode mode, uint8_t vector)
{
	uint32_t apic = lapic_id();
	uint16_t cmd = pcicfg_read16(d->bdf, 0x04);

	d->irq = mode;
	d->vector = vector;
	vdrv.by_vector[vector] = d;
	if (mode == VD_IRQ_MSIX) {
		uintptr_t t;

		if (!d->msix_cap) {
			printf("vd: no MSI-X capability\n");
			return -1;
		}
		t = d->bar + d->msix_table;
		for (unsigned i = 0; i < d->nq; i++) {
			mmio_write32(t + 16 * i, 0xFEE00000u | apic << 12);
			mmio_write32(t + 16 * i + 4, 0);
			mmio_write32(t + 16 * i + 8, vector + i);
			mmio_write32(t + 16 * i + 12, 0); /* unmasked */
			intr_set_handler(vector + i, vd_msi_handler);
			wr16(d->common + CC_QSELECT, (uint16_t)i);
			wr16(d->common + CC_QMSIX, (uint16_t)i);
			if (rd16(d->common + CC_QMSIX) != i) {
				printf("vd: queue %u MSI-X vector refused\n", i);
				return -1;
			}
		}
		wr16(d->common + CC_MSIX_CONFIG, VD_NO_VECTOR);
		pcicfg_write16(d->bdf, 0x04, cmd | 0x400); /* INTx off */
		pcicfg_write16(d->bdf, d->msix_cap + 2,
			       (uint16_t)((pcicfg_read16(d->bdf, d->msix_cap + 2) & ~0x4000) | 0x8000));
	} else if (mode == VD_IRQ_MSI) {
		unsigned c = d->msi_cap;

		if (!c) {
			printf("vd: no MSI capability\n");
			return -1;
		}
		intr_set_handler(vector, vd_msi_handler);
		pcicfg_write32(d->bdf, c + 4, 0xFEE00000u | apic << 12);
		pcicfg_write32(d->bdf, c + 8, 0);
		pcicfg_write16(d->bdf, c + 12, vector);
		pcicfg_write32(d->bdf, c + 16, 0); /* unmask */
		pcicfg_write16(d->bdf, 0x04, cmd | 0x400);
		pcicfg_write16(d->bdf, c + 2, (uint16_t)(pcicfg_read16(d->bdf, c + 2) | 1));
	} else if (mode == VD_IRQ_INTX) {
		uint8_t gsi = pcicfg_read8(d->bdf, 0x3C), pin = pcicfg_read8(d->bdf, 0x3D);

		if (!pin || gsi == 0xFF) {
			printf("vd: no INTx pin/line (pin %u line %u)\n", pin, gsi);
			return -1;
		}
		intr_set_handler(vector, vd_intx_handler);
		pcicfg_write16(d->bdf, 0x04, cmd & ~0x400);
		/* PCI INTx: level triggered, active low (ACPI _PRT / MADT). */
		if (ioapic_route(gsi, vector, true, true, apic)) {
			printf("vd: cannot route GSI %u\n", gsi);
			return -1;
		}
	}
	return 0;
}

void vd_driver_ok(struct vd *d)
{
	vd_set_status(d, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
}

uint8_t vd_cfg8(struct vd *d, unsigned off) { return mmio_read8(d->devcfg + off); }
uint16_t vd_cfg16(struct vd *d, unsigned off) { return rd16(d->devcfg + off); }
uint32_t vd_cfg32(struct vd *d, unsigned off) { return mmio_read32(d->devcfg + off); }

uint64_t vd_cfg64(struct vd *d, unsigned off)
{
	return mmio_read32(d->devcfg + off) |
	       (uint64_t)mmio_read32(d->devcfg + off + 4) << 32;
}

void vd_put_desc(struct vd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	struct vring_desc *e = &q->desc[i % q->size];

	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

void vd_publish(struct vd_queue *q, uint16_t head)
{
	q->avail[2 + (q->avail_idx % q->size)] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t vd_add(struct vd_queue *q, const struct vd_buf *b, unsigned n)
{
	uint16_t head = q->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((head + i) % q->size);
		uint16_t nxt = (uint16_t)((cur + 1) % q->size);

		vd_put_desc(q, cur, (uintptr_t)b[i].addr, b[i].len,
			    (uint16_t)((b[i].write ? VRING_F_WRITE : 0) |
				       (i + 1 < n ? VRING_F_NEXT : 0)), nxt);
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	vd_publish(q, head);
	return head;
}

void vd_kick(struct vd_queue *q)
{
	wr16(q->notify, q->index);
}

bool vd_used_pending(struct vd_queue *q)
{
	return *(volatile uint16_t *)(q->used + 2) != q->used_seen;
}

int vd_wait_used(struct vd_queue *q, uint16_t *head, uint32_t *len, uint32_t ms)
{
	uint32_t start = vd_ms();
	volatile uint32_t *e;

	for (uint32_t i = 0; !vd_used_pending(q); i++) {
		if ((i & 1023) == 1023 && vd_ms() - start > ms)
			return -1;
		cpu_pause();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	e = (volatile uint32_t *)(q->used + 4 + 8 * (q->used_seen % q->size));
	if (head)
		*head = (uint16_t)e[0];
	if (len)
		*len = e[1];
	q->used_seen++;
	return 0;
}

long vd_xfer(struct vd_queue *q, const struct vd_buf *b, unsigned n, uint32_t ms)
{
	uint16_t head, got;
	uint32_t len;

	head = vd_add(q, b, n);
	vd_kick(q);
	if (vd_wait_used(q, &got, &len, ms))
		return -1;
	if (got != head)
		printf("vd: used head %u, expected %u\n", got, head);
	return len;
}

uint32_t vd_irq_count(struct vd *d, unsigned qi)
{
	unsigned v = d->vector + (d->irq == VD_IRQ_MSIX ? qi : 0);

	return rt_state()->irq_count[v & 0xFF];
}

uint32_t vd_isr_seen(struct vd *d)
{
	return vdrv.isr_seen[d->vector];
}
