/*
 * test=hostile: a hostile driver against every virtio device of the VM
 * (virtio-blk, virtio-rnd, virtio-console; the runner gives it one of
 * each), going further than test=malicious:
 *
 *  - descriptors pointing into MMIO (LAPIC, IOAPIC, ECAM, the device's own
 *    BAR, another device's BAR), outside RAM, across the end of RAM, with
 *    lengths that wrap the address space, indirect tables larger than the
 *    queue, badly sized indirect tables, INDIRECT|NEXT, on each device;
 *  - rings placed in MMIO (queue_enable must be refused or the first kick
 *    must break the device);
 *  - BAR moves onto another device's BAR, onto RAM, the LAPIC, the IOAPIC
 *    and ECAM, to a free address where the device must keep working
 *    (ioeventfd moved along), decode on/off storms;
 *  - MSI-X abuse: vectors beyond the table, writes beyond the table and to
 *    the PBA, narrow and straddling accesses, bogus message addresses while
 *    the device interrupts, mask/unmask storms (a pending vector must be
 *    delivered once unmasked);
 *  - reset (status 0) while virtio-blk requests are in flight: once the
 *    status reads 0 the device must not touch the old buffers any more;
 *  - notification, reset and config-write storms.
 *
 * After each attack the attacked device must report NEEDS_RESET or fail
 * the request, and a reset must bring it back; at the end every device and
 * COM1 must still work. Each check prints "hostile: NAME -> ..." and a
 * failure adds to the count printed last ("hostile: N failures").
 *
 * Command line: ram_mb=N (guest RAM below 4 GiB, default 256).
 */
#include "vt.h"

#define HQ 8                 /* queue size used for the attacks */
#define B_T_IN 0
#define B_T_OUT 1
#define B_T_GET_ID 8
#define LAPIC_PA 0xFEE00000ull
#define IOAPIC_PA 0xFEC00000ull
#define ECAM_PA 0xE0000000ull
#define FREE_BAR_PA 0xD0000000ull  /* inside the PCI hole, unused */
#define RAM_BAR_PA 0x0E000000ull   /* guest RAM (224 MiB), unused by us */
#define MSI_VEC 0x70               /* vectors 0x70.. for the MSI-X tests */
#define INFLIGHT 16
#define INFLIGHT_LEN 32768u
#define HQ_MAX 64                  /* largest queue we set up */

enum tgt_kind { T_BLK, T_RND, T_CONS };

struct tgt {
	struct vd d;
	enum tgt_kind kind;
	const char *name;
	unsigned qi, nqs;       /* attacked queue; queues set up: 0..nqs-1 */
	uint64_t feat;
	uint8_t *ring[2];       /* 3 pages per queue, reused by every set-up */
};

struct hs {
	struct tgt t[3];
	unsigned failures;
	uint64_t ramtop;
	uint8_t *hdr, *status, *data, *itab;
	uint8_t *big;           /* INFLIGHT * INFLIGHT_LEN bytes for in-flight I/O */
	uint8_t *ist;           /* INFLIGHT status bytes */
};

static void hs_fail(struct hs *h, const char *what)
{
	printf("hostile: FAILED: %s\n", what);
	h->failures++;
}

/*
 * Point the driver's queue `index` at this target's ring pages (zeroed)
 * without telling the device; vd_queue_setup would allocate new rings on
 * every call and the attacks re-initialise the devices hundreds of times.
 */
static struct vd_queue *hs_queue_prep(struct tgt *t, unsigned index, unsigned size)
{
	struct vd_queue *q = &t->d.q[index];

	if (!t->ring[index])
		t->ring[index] = vd_alloc(3 * 4096, 4096);
	memset(t->ring[index], 0, 3 * 4096);
	memset(q, 0, sizeof(*q));
	q->d = &t->d;
	q->index = (uint16_t)index;
	q->size = (uint16_t)size;
	q->desc = (struct vring_desc *)t->ring[index];
	q->avail = (volatile uint16_t *)(t->ring[index] + 4096);
	q->used = t->ring[index] + 8192;
	return q;
}

static void hs_wr64(uintptr_t a, uint64_t v)
{
	*(volatile uint32_t *)a = (uint32_t)v;
	*(volatile uint32_t *)(a + 4) = (uint32_t)(v >> 32);
}

/* Program and enable queue `index` (size <= HQ_MAX). 0 or -1. */
static int hs_queue(struct tgt *t, unsigned index, unsigned size)
{
	uintptr_t c = t->d.common;
	struct vd_queue *q;
	uint16_t max;

	*(volatile uint16_t *)(c + 0x16) = (uint16_t)index;
	max = *(volatile uint16_t *)(c + 0x18);
	if (!max)
		return -1;
	if (size > max)
		size = max;
	q = hs_queue_prep(t, index, size);
	*(volatile uint16_t *)(c + 0x18) = (uint16_t)size;
	hs_wr64(c + 0x20, (uintptr_t)q->desc);
	hs_wr64(c + 0x28, (uintptr_t)q->avail);
	hs_wr64(c + 0x30, (uintptr_t)q->used);
	q->notify = t->d.notify_base +
		    (uintptr_t)*(volatile uint16_t *)(c + 0x1E) * t->d.notify_mult;
	*(volatile uint16_t *)(c + 0x1C) = 1;
	if (*(volatile uint16_t *)(c + 0x1C) != 1)
		return -1;
	if (index + 1 > t->d.nq)
		t->d.nq = index + 1;
	return 0;
}

static int hs_setup(struct tgt *t)
{
	if (vd_init(&t->d, t->feat))
		return -1;
	for (unsigned i = 0; i < t->nqs; i++)
		if (hs_queue(t, i, HQ))
			return -1;
	vd_driver_ok(&t->d);
	return 0;
}

/* One good request on the device: 0 if it works. */
static int hs_good(struct hs *h, struct tgt *t)
{
	struct vd_queue *q = &t->d.q[t->qi];
	struct vd_buf v[3];
	long n;

	switch (t->kind) {
	case T_BLK:
		memset(h->hdr, 0, 16);
		h->hdr[0] = B_T_GET_ID;
		*h->status = 0xEE;
		v[0] = (struct vd_buf){ h->hdr, 16, false };
		v[1] = (struct vd_buf){ h->data, 20, true };
		v[2] = (struct vd_buf){ h->status, 1, true };
		return vd_xfer(q, v, 3, 5000) >= 0 && *h->status == 0 ? 0 : -1;
	case T_RND:
		v[0] = (struct vd_buf){ h->data, 64, true };
		n = vd_xfer(q, v, 1, 5000);
		return n > 0 && n <= 64 ? 0 : -1;
	case T_CONS:
		memcpy(h->data, "hostile: console tx\n", 20);
		v[0] = (struct vd_buf){ h->data, 20, false };
		return vd_xfer(q, v, 1, 5000) >= 0 ? 0 : -1;
	}
	return -1;
}

static bool hs_recover(struct hs *h, struct tgt *t)
{
	return hs_setup(t) == 0 && hs_good(h, t) == 0;
}

/*
 * Submit one request whose data descriptor is (addr, len, extra flags);
 * blk gets header and status descriptors around it.
 */
static void hs_submit(struct hs *h, struct tgt *t, uint64_t addr, uint32_t len,
		      uint16_t flags)
{
	struct vd_queue *q = &t->d.q[t->qi];

	if (t->kind == T_BLK) {
		memset(h->hdr, 0, 16);
		h->hdr[0] = B_T_IN;
		*h->status = 0xEE;
		vd_put_desc(q, 0, (uintptr_t)h->hdr, 16, VRING_F_NEXT, 1);
		vd_put_desc(q, 1, addr, len, (uint16_t)(VRING_F_WRITE | VRING_F_NEXT | flags), 2);
		vd_put_desc(q, 2, (uintptr_t)h->status, 1, VRING_F_WRITE, 0);
	} else {
		vd_put_desc(q, 0, addr, len,
			    (uint16_t)((t->kind == T_RND ? VRING_F_WRITE : 0) | flags), 0);
	}
	vd_publish(q, 0);
	vd_kick(q);
}

/*
 * Outcome of an attack: NEEDS_RESET, or a used entry that reports failure
 * (blk: status != 0, rnd: length 0). Then reset and check the device
 * works again. `may_complete`: a completed request is acceptable.
 */
static void hs_expect(struct hs *h, struct tgt *t, const char *what, bool may_complete)
{
	struct vd_queue *q = &t->d.q[t->qi];
	uint32_t start = vd_ms(), len = 0;
	uint8_t st = 0;
	bool used = false, failed_req = false;
	char msg[96];

	while (vd_ms() - start < 2000) {
		st = vd_status(&t->d);
		if (st & VS_NEEDS_RESET)
			break;
		if (vd_used_pending(q)) {
			vd_wait_used(q, NULL, &len, 0);
			used = true;
			break;
		}
		cpu_pause();
	}
	if (used)
		failed_req = t->kind == T_BLK ? *h->status != 0 : t->kind == T_RND ? len == 0 : false;
	if (st & VS_NEEDS_RESET)
		printf("hostile: %s %s -> NEEDS_RESET\n", t->name, what);
	else if (used && failed_req)
		printf("hostile: %s %s -> request failed\n", t->name, what);
	else if (used)
		printf("hostile: %s %s -> completed (len %u)\n", t->name, what, len);
	else
		printf("hostile: %s %s -> ignored (status 0x%x)\n", t->name, what, st);
	if (!(st & VS_NEEDS_RESET) && !failed_req && !(used && may_complete)) {
		snprintf(msg, sizeof(msg), "%s %s: neither NEEDS_RESET nor a failed request",
			 t->name, what);
		hs_fail(h, msg);
	}
	if (!hs_recover(h, t)) {
		snprintf(msg, sizeof(msg), "%s %s: no recovery after reset", t->name, what);
		hs_fail(h, msg);
	}
}

/* ---- 1. descriptors into MMIO, outside RAM, wrapping ---- */

static void hs_desc_attacks(struct hs *h, struct tgt *t, uint64_t other_bar)
{
	const struct {
		const char *what;
		uint64_t addr;
		uint32_t len;
	} a[] = {
		{ "desc->LAPIC", LAPIC_PA, 512 },
		{ "desc->IOAPIC", IOAPIC_PA, 512 },
		{ "desc->ECAM", ECAM_PA, 4096 },
		{ "desc->own BAR", t->d.bar, 64 },
		{ "desc->other BAR", other_bar, 64 },
		{ "desc->4 GiB-1", 0xFFFFFFFFull, 2 },
		{ "desc wraps 2^64", 0xFFFFFFFFFFFFF000ull, 0x2000 },
		{ "desc len wraps", (uintptr_t)h->data, 0xFFFFFFFFu },
		{ "desc across RAM end", h->ramtop - 0x800, 0x1000 },
		{ "desc at RAM end", h->ramtop, 16 },
	};
	struct vd_queue *q;
	struct vring_desc *it = (struct vring_desc *)h->itab;

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		hs_submit(h, t, a[i].addr, a[i].len, 0);
		hs_expect(h, t, a[i].what, false);
	}
	if (!(t->d.features & VF_INDIRECT))
		return;
	q = &t->d.q[t->qi];
	/* indirect table with 512 entries (queue has 8), linear chain */
	for (uint16_t i = 0; i < 512; i++)
		it[i] = (struct vring_desc){ (uintptr_t)h->data, 16,
					     (uint16_t)((t->kind == T_CONS ? 0 : VRING_F_WRITE) |
							(i < 511 ? VRING_F_NEXT : 0)),
					     (uint16_t)(i + 1) };
	vd_put_desc(q, 0, (uintptr_t)it, 512 * 16, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	hs_expect(h, t, "indirect table > queue", false);
	/* indirect table with a length that is not a multiple of 16, and 0 */
	vd_put_desc(q, 0, (uintptr_t)it, 24, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	hs_expect(h, t, "indirect len 24", false);
	vd_put_desc(q, 0, (uintptr_t)it, 0, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	hs_expect(h, t, "indirect len 0", false);
	/* indirect table in MMIO, and INDIRECT|NEXT */
	vd_put_desc(q, 0, LAPIC_PA, 64, VRING_F_INDIRECT, 0);
	vd_publish(q, 0);
	vd_kick(q);
	hs_expect(h, t, "indirect table->LAPIC", false);
	it[0] = (struct vring_desc){ (uintptr_t)h->data, 16,
				     t->kind == T_CONS ? 0 : VRING_F_WRITE, 0 };
	vd_put_desc(q, 0, (uintptr_t)it, 16, VRING_F_INDIRECT | VRING_F_NEXT, 1);
	vd_put_desc(q, 1, (uintptr_t)h->data, 16, VRING_F_WRITE, 0);
	vd_publish(q, 0);
	vd_kick(q);
	hs_expect(h, t, "INDIRECT|NEXT", false);
}

/* ---- 2. rings in MMIO ---- */

static void hs_ring_attacks(struct hs *h, struct tgt *t)
{
	static const struct {
		const char *what;
		uint64_t desc, avail, used;
	} r[] = {
		{ "desc ring->LAPIC", LAPIC_PA, 0, 0 },
		{ "avail ring->IOAPIC", 0, IOAPIC_PA, 0 },
		{ "used ring->ECAM", 0, 0, ECAM_PA },
		{ "used ring->4 TiB", 0, 0, 0x40000000000ull },
		{ "used ring unaligned", 0, 0, 1 },
	};
	uintptr_t c = t->d.common;
	struct vd_queue *q;
	char msg[96];

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		uint16_t en;

		/* program queue qi with one bad ring, the others normally */
		if (vd_init(&t->d, t->feat))
			break;
		for (unsigned k = 0; k < t->nqs; k++)
			if (k != t->qi)
				hs_queue(t, k, HQ);
		q = hs_queue_prep(t, t->qi, HQ);
		q->notify = t->d.notify_base + (uintptr_t)t->qi * t->d.notify_mult;
		*(volatile uint16_t *)(c + 0x16) = (uint16_t)t->qi;
		*(volatile uint16_t *)(c + 0x18) = HQ;
		*(volatile uint64_t *)(c + 0x20) = r[i].desc ? r[i].desc : (uintptr_t)q->desc;
		*(volatile uint64_t *)(c + 0x28) = r[i].avail ? r[i].avail : (uintptr_t)q->avail;
		*(volatile uint64_t *)(c + 0x30) = r[i].used ?
			(r[i].used == 1 ? (uintptr_t)q->used + 1 : r[i].used) : (uintptr_t)q->used;
		*(volatile uint16_t *)(c + 0x1C) = 1;
		en = *(volatile uint16_t *)(c + 0x1C);
		if (!en) {
			printf("hostile: %s %s -> queue_enable refused\n", t->name, r[i].what);
		} else {
			/* accepted: the first kick must break the device */
			if (t->qi + 1 > t->d.nq)
				t->d.nq = t->qi + 1;
			vd_driver_ok(&t->d);
			hs_submit(h, t, (uintptr_t)h->data, 16, 0);
			hs_expect(h, t, r[i].what, false);
			continue;
		}
		if (!hs_recover(h, t)) {
			snprintf(msg, sizeof(msg), "%s %s: no recovery", t->name, r[i].what);
			hs_fail(h, msg);
		}
	}
	hs_recover(h, t);
}

/* ---- 3. BAR moves ---- */

static void bar_set(struct tgt *t, uint32_t addr)
{
	pcicfg_write32(t->d.bdf, 0x10, addr);
}

static void hs_bar_moves(struct hs *h, struct tgt *t, struct tgt *other)
{
	uint32_t orig = pcicfg_read32(t->d.bdf, 0x10) & ~0xFu, sz;
	uint32_t lapic_before = lapic_read(0x30); /* version register */
	const struct {
		const char *what;
		uint32_t addr;
	} mv[] = {
		{ "BAR->other BAR", (uint32_t)other->d.bar },
		{ "BAR->RAM", (uint32_t)RAM_BAR_PA },
		{ "BAR->LAPIC", (uint32_t)LAPIC_PA },
		{ "BAR->IOAPIC", (uint32_t)IOAPIC_PA },
		{ "BAR->ECAM", (uint32_t)ECAM_PA },
		{ "BAR->0", 0 },
	};
	char msg[96];

	for (size_t i = 0; i < sizeof(mv) / sizeof(mv[0]); i++) {
		bar_set(t, mv[i].addr);
		/* the other devices and the platform must be unaffected */
		if (hs_good(h, other)) {
			snprintf(msg, sizeof(msg), "%s: %s broke %s", t->name, mv[i].what,
				 other->name);
			hs_fail(h, msg);
		}
		if (pcicfg_ecam_read32(t->d.bdf, 0) != pcicfg_read32(t->d.bdf, 0)) {
			snprintf(msg, sizeof(msg), "%s: %s broke ECAM", t->name, mv[i].what);
			hs_fail(h, msg);
		}
		if (lapic_read(0x30) != lapic_before) {
			snprintf(msg, sizeof(msg), "%s: %s changed the LAPIC", t->name, mv[i].what);
			hs_fail(h, msg);
		}
		bar_set(t, orig);
		if (!hs_recover(h, t)) {
			snprintf(msg, sizeof(msg), "%s: dead after %s and back", t->name, mv[i].what);
			hs_fail(h, msg);
		} else {
			printf("hostile: %s %s -> others fine, works after moving back\n",
			       t->name, mv[i].what);
		}
	}
	/* sizing, then a free address: the device must work there (kicks
	 * reach it whether through ioeventfd or exits) */
	bar_set(t, 0xFFFFFFFFu);
	sz = ~(pcicfg_read32(t->d.bdf, 0x10) & ~0xFu) + 1;
	bar_set(t, (uint32_t)FREE_BAR_PA);
	{
		struct vd moved;

		if (vd_probe(&moved, t->d.bdf) || moved.bar != FREE_BAR_PA) {
			hs_fail(h, "BAR move to a free address not visible");
		} else {
			moved.q[0] = t->d.q[0];
			t->d = moved;
			if (!hs_recover(h, t))
				hs_fail(h, "device does not work at its new BAR address");
			else
				printf("hostile: %s BAR size 0x%x moved to 0x%lx -> works there\n",
				       t->name, sz, (unsigned long)FREE_BAR_PA);
		}
	}
	bar_set(t, orig);
	vd_probe(&t->d, t->d.bdf);
	/* memory decode on/off storm with the BAR in place (each toggle moves
	 * the ioeventfds: a few ms per toggle on nested hosts) */
	for (unsigned i = 0; i < 50; i++) {
		pcicfg_write16(t->d.bdf, 0x04, 0x0004);
		pcicfg_write16(t->d.bdf, 0x04, 0x0006);
	}
	vd_probe(&t->d, t->d.bdf);
	if (!hs_recover(h, t))
		hs_fail(h, "device dead after the decode storm");
	else
		printf("hostile: %s decode on/off storm -> works\n", t->name);
}

/* ---- 4. MSI-X abuse (on the rnd device) ---- */

static void hs_msi_handler(struct intr_frame *f, unsigned vec)
{
	lapic_eoi();
}

static void hs_msix(struct hs *h, struct tgt *t)
{
	uintptr_t tab = t->d.bar + t->d.msix_table, c = t->d.common;
	unsigned cap = t->d.msix_cap, nvec;
	uint32_t before, pba = 0;
	volatile uint32_t *cnt = rt_state()->irq_count;
	struct vd_buf b = { h->data, 32, true };
	char msg[96];

	if (!cap) {
		hs_fail(h, "no MSI-X capability on the rnd device");
		return;
	}
	nvec = (pcicfg_read16(t->d.bdf, cap + 2) & 0x7FF) + 1;
	for (unsigned v = 0; v < 16; v++)
		intr_set_handler(MSI_VEC + v, hs_msi_handler);
	if (hs_setup(t) || vd_irq_setup(&t->d, VD_IRQ_MSIX, MSI_VEC)) {
		hs_fail(h, "MSI-X setup");
		return;
	}
	vd_driver_ok(&t->d);
	/* vectors beyond the table read back as NO_VECTOR */
	*(volatile uint16_t *)(c + 0x16) = 0;
	*(volatile uint16_t *)(c + 0x1A) = (uint16_t)nvec;
	if (*(volatile uint16_t *)(c + 0x1A) != VD_NO_VECTOR)
		hs_fail(h, "queue vector beyond the table accepted");
	*(volatile uint16_t *)(c + 0x10) = 0x7FFF;
	if (*(volatile uint16_t *)(c + 0x10) != VD_NO_VECTOR)
		hs_fail(h, "config vector beyond the table accepted");
	*(volatile uint16_t *)(c + 0x1A) = 0;
	/* writes past the table, into and past the PBA, narrow and straddling */
	for (uintptr_t o = 16 * nvec; o < 0x2000; o += 60)
		*(volatile uint32_t *)(tab + o) = 0xFFFFFFFFu;
	for (unsigned o = 0; o < 64; o += 4)
		*(volatile uint32_t *)(t->d.bar + 0x6000 + o) = 0xFFFFFFFFu;
	*(volatile uint64_t *)(t->d.bar + 0x6000) = ~0ull;
	for (unsigned o = 0; o < 16 * nvec; o++) {
		*(volatile uint8_t *)(tab + o) = 0xA5;
		*(volatile uint16_t *)(tab + (o & ~1u)) = 0xA5A5;
	}
	*(volatile uint64_t *)(tab + 12) = ~0ull; /* straddles entries 0 and 1 */
	*(volatile uint32_t *)(tab + 16 * nvec - 4) = 0;
	pba = *(volatile uint32_t *)(t->d.bar + 0x6000);
	printf("hostile: msix %u vectors, PBA after writes 0x%x\n", nvec, pba);
	if (pba & ~((1u << nvec) - 1))
		hs_fail(h, "PBA bits beyond the table set by writes");
	/* re-program entry 0 properly; the device must interrupt */
	vd_irq_setup(&t->d, VD_IRQ_MSIX, MSI_VEC);
	before = cnt[MSI_VEC];
	if (vd_xfer(&t->d.q[0], &b, 1, 5000) <= 0)
		hs_fail(h, "rnd request after MSI-X table abuse");
	for (uint32_t s = vd_ms(); cnt[MSI_VEC] == before && vd_ms() - s < 2000;)
		cpu_pause();
	if (cnt[MSI_VEC] == before)
		hs_fail(h, "no MSI-X interrupt after table abuse");
	/* bogus message addresses (fixed delivery mode) while interrupting */
	{
		static const uint64_t bogus[] = { 0x12345678ull, 0, 0xFFFFFFFFFFFFFFF0ull,
						  0xFEEFF000ull, 0x40000000000ull };

		for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
			*(volatile uint32_t *)(tab + 0) = (uint32_t)bogus[i];
			*(volatile uint32_t *)(tab + 4) = (uint32_t)(bogus[i] >> 32);
			*(volatile uint32_t *)(tab + 8) = MSI_VEC + 1 + (unsigned)i;
			*(volatile uint32_t *)(tab + 12) = 0;
			if (vd_xfer(&t->d.q[0], &b, 1, 5000) <= 0) {
				snprintf(msg, sizeof(msg), "rnd request with MSI address 0x%lx",
					 (unsigned long)bogus[i]);
				hs_fail(h, msg);
			}
		}
		printf("hostile: rnd msix bogus addresses -> requests still complete\n");
	}
	/* mask/unmask storm with requests in flight; then a masked vector
	 * must be pending and be delivered when unmasked */
	vd_irq_setup(&t->d, VD_IRQ_MSIX, MSI_VEC);
	for (unsigned i = 0; i < 2000; i++) {
		*(volatile uint32_t *)(tab + 12) = i & 1;
		if (i % 250 == 0) {
			vd_add(&t->d.q[0], &b, 1);
			vd_kick(&t->d.q[0]);
		}
		if (i % 200 == 0)
			pcicfg_write16(t->d.bdf, cap + 2,
				       (uint16_t)(0x8000 | ((i / 200) & 1 ? 0x4000 : 0)));
	}
	pcicfg_write16(t->d.bdf, cap + 2, 0x8000);
	for (unsigned i = 0; i < 8; i++)
		if (vd_wait_used(&t->d.q[0], NULL, NULL, 2000))
			hs_fail(h, "rnd request lost in the mask storm");
	*(volatile uint32_t *)(tab + 12) = 1; /* masked */
	vd_add(&t->d.q[0], &b, 1);
	vd_kick(&t->d.q[0]);
	vd_wait_used(&t->d.q[0], NULL, NULL, 5000);
	/* the device signals just after it publishes the used entry */
	for (uint32_t s = vd_ms(); vd_ms() - s < 2000; cpu_pause()) {
		pba = *(volatile uint32_t *)(t->d.bar + 0x6000);
		if (pba & 1)
			break;
	}
	before = cnt[MSI_VEC];
	*(volatile uint32_t *)(tab + 12) = 0; /* unmask: pending goes out */
	for (uint32_t s = vd_ms(); cnt[MSI_VEC] == before && vd_ms() - s < 2000;)
		cpu_pause();
	printf("hostile: rnd msix mask storm -> pending 0x%x, %s after unmask\n", pba,
	       cnt[MSI_VEC] != before ? "delivered" : "NOT delivered");
	if (!(pba & 1) || cnt[MSI_VEC] == before)
		hs_fail(h, "masked MSI-X vector not pending/delivered after unmask");
	/* leave MSI-X off for the rest */
	pcicfg_write16(t->d.bdf, cap + 2, 0);
	if (!hs_recover(h, t))
		hs_fail(h, "rnd dead after the MSI-X tests");
}

/* ---- 5. reset while blk requests are in flight ---- */

static void hs_reset_inflight(struct hs *h, struct tgt *t)
{
	struct vd_queue *q;
	struct blk_hdr_ {
		uint32_t type, reserved;
		uint64_t sector;
	} *hd = (struct blk_hdr_ *)h->itab;

	for (unsigned round = 0; round < 6; round++) {
		uint16_t used_before;
		bool touched = false;
		uint32_t s;

		vd_init(&t->d, 0);
		if (hs_queue(t, 0, HQ_MAX)) {
			hs_fail(h, "blk queue of 64");
			return;
		}
		vd_driver_ok(&t->d);
		q = &t->d.q[0];
		for (unsigned i = 0; i < INFLIGHT; i++) {
			struct vd_buf v[3];

			hd[i] = (struct blk_hdr_){ (round & 1) ? B_T_OUT : B_T_IN, 0,
						    (uint64_t)i * (INFLIGHT_LEN / 512) };
			h->ist[i] = 0xEE;
			v[0] = (struct vd_buf){ &hd[i], 16, false };
			v[1] = (struct vd_buf){ h->big + (size_t)i * INFLIGHT_LEN, INFLIGHT_LEN,
						!(round & 1) };
			v[2] = (struct vd_buf){ &h->ist[i], 1, true };
			vd_add(q, v, 3);
		}
		vd_kick(q);
		for (volatile unsigned d = 0; d < round * 2000; d++)
			;
		vd_set_status(&t->d, 0);
		for (s = vd_ms(); vd_status(&t->d) != 0 && vd_ms() - s < 5000;)
			cpu_pause();
		if (vd_status(&t->d) != 0) {
			hs_fail(h, "reset with I/O in flight does not complete");
			return;
		}
		/* from now on the device must leave the old buffers alone */
		used_before = *(volatile uint16_t *)(q->used + 2);
		for (unsigned i = 0; i < INFLIGHT; i++)
			h->ist[i] = 0xC3;
		memset(h->big, 0x3C, 4096);
		memset(h->big + (INFLIGHT - 1) * (size_t)INFLIGHT_LEN, 0x3C, 4096);
		for (s = vd_ms(); vd_ms() - s < 300;)
			cpu_pause();
		if (*(volatile uint16_t *)(q->used + 2) != used_before)
			touched = true;
		for (unsigned i = 0; i < INFLIGHT; i++)
			touched |= h->ist[i] != 0xC3;
		for (unsigned i = 0; i < 4096; i++)
			touched |= h->big[i] != 0x3C ||
				   h->big[(INFLIGHT - 1) * (size_t)INFLIGHT_LEN + i] != 0x3C;
		printf("hostile: blk reset with %u %s in flight (delay %u) -> reset done, "
		       "used idx %u%s\n", INFLIGHT, (round & 1) ? "writes" : "reads",
		       round, used_before, touched ? ", MEMORY TOUCHED AFTER RESET" : "");
		if (touched)
			hs_fail(h, "device wrote guest memory after the reset completed");
	}
	if (!hs_recover(h, t))
		hs_fail(h, "blk dead after reset-in-flight");
	else
		printf("hostile: blk reset during in-flight I/O -> works after\n");
}

/* ---- 6. storms ---- */

static void hs_storms(struct hs *h)
{
	struct tgt *blk = &h->t[0], *rnd = &h->t[1], *cons = &h->t[2];
	uint32_t t0 = vd_ms();

	/* kicks on every queue of every device, valid and invalid values,
	 * and notify offsets past the last queue */
	for (unsigned i = 0; i < 6000; i++) {
		struct tgt *t = &h->t[i % 3];

		*(volatile uint16_t *)(t->d.notify_base + t->d.notify_mult * (i % 6)) =
			(uint16_t)(i & 3 ? i % 6 : 0xFFFF);
	}
	printf("hostile: notify storm (6000) in %u ms\n", vd_ms() - t0);
	/* reset storm */
	t0 = vd_ms();
	for (unsigned i = 0; i < 1000; i++) {
		vd_set_status(&rnd->d, 0);
		vd_set_status(&rnd->d, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
	}
	printf("hostile: reset storm (1000) in %u ms\n", vd_ms() - t0);
	/* device config writes (blk: writeback byte etc.), status garbage */
	for (unsigned i = 0; i < 1000; i++) {
		*(volatile uint32_t *)(blk->d.devcfg + (i * 4) % 0x100) = i;
		*(volatile uint8_t *)(cons->d.devcfg + i % 0x100) = (uint8_t)i;
	}
	for (unsigned v = 0; v < 256; v++)
		vd_set_status(&cons->d, (uint8_t)v);
	for (int i = 0; i < 3; i++) {
		struct tgt *t = &h->t[i];

		if (!hs_recover(h, t)) {
			printf("hostile: %s dead after the storms\n", t->name);
			hs_fail(h, "storm");
		}
	}
	printf("hostile: storms -> every device still works\n");
}

long vt_hostile(void *arg)
{
	struct hs *h = vd_alloc(sizeof(*h), 64);
	static const struct {
		enum tgt_kind kind;
		uint16_t id;
		const char *name;
		unsigned qi, nqs;
		uint64_t feat;
	} want[3] = {
		{ T_BLK, VIRTIO_DEV_BLK, "blk", 0, 1, VF_INDIRECT },
		{ T_RND, VIRTIO_DEV_RNG, "rnd", 0, 1, VF_INDIRECT },
		{ T_CONS, VIRTIO_DEV_CONSOLE, "console", 1, 2, VF_INDIRECT },
	};

	h->ramtop = (uint64_t)vt_opt("ram_mb", 256) << 20;
	h->hdr = vd_alloc(16, 16);
	h->status = vd_alloc(1, 1);
	h->data = vd_alloc(4096, 4096);
	h->itab = vd_alloc(16 * 512, 4096);
	h->ist = vd_alloc(INFLIGHT, 64);
	h->big = vd_alloc((size_t)INFLIGHT * INFLIGHT_LEN, 4096);
	for (int i = 0; i < 3; i++) {
		struct tgt *t = &h->t[i];
		int bdf = vd_find(want[i].id, 0);

		t->kind = want[i].kind;
		t->name = want[i].name;
		t->qi = want[i].qi;
		t->nqs = want[i].nqs;
		t->feat = want[i].feat;
		if (bdf < 0 || vd_probe(&t->d, (uint32_t)bdf) || hs_setup(t) || hs_good(h, t)) {
			printf("hostile: %s missing or not working to begin with\n", t->name);
			return -1;
		}
	}
	printf("hostile: blk, rnd, console work; ram top 0x%lx\n", (unsigned long)h->ramtop);

	for (int i = 0; i < 3; i++)
		hs_desc_attacks(h, &h->t[i], h->t[(i + 1) % 3].d.bar);
	for (int i = 0; i < 3; i++)
		hs_ring_attacks(h, &h->t[i]);
	hs_bar_moves(h, &h->t[0], &h->t[1]);
	hs_bar_moves(h, &h->t[2], &h->t[0]);
	hs_msix(h, &h->t[1]);
	hs_reset_inflight(h, &h->t[0]);
	hs_storms(h);

	for (int i = 0; i < 3; i++)
		if (hs_good(h, &h->t[i]) == 0)
			printf("hostile: %s still works\n", h->t[i].name);
		else
			hs_fail(h, "device dead at the end");
	printf("hostile: COM1 still works\n");
	printf("hostile: %u failures\n", h->failures);
	return h->failures ? -1 : 0;
}
