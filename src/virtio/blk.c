/*
 * virtio-blk (virtio 1.2 §5.2) over a block backend (lhyve/block.h).
 *
 * Threading: requests are parsed on the thread that kicks (event loop,
 * under v->lock) and handed to the backend; completions run on backend
 * threads, which write the status byte, put the request back on the free
 * list (sc->free_lock) and push/notify under the queue's own lock. Reset
 * (v->lock held) drains the backend, so no completion outlives a reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/block.h"
#include "lhyve/config.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"

/* Feature bits (§5.2.3). */
#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9
#define BLK_F_TOPOLOGY 10
#define BLK_F_DISCARD 13
#define BLK_F_WRITE_ZEROES 14

/* Request types and status (§5.2.6). */
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2

#define BLK_QSIZE 256
#define BLK_SEG_MAX (BLK_QSIZE - 2)
#define BLK_SIZE_MAX (64 * 1024)
#define BLK_MAX_DATA ((uint64_t)BLK_SEG_MAX * BLK_SIZE_MAX)
#define BLK_MAX_DISCARD_SECTORS 0x400000u /* 2 GiB per request */
#define BLK_ID_BYTES 20
#define BLK_HDR 16

/* Config space offsets (§5.2.4). */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_PHYS_EXP 24
#define CFG_MIN_IO 26
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

struct blk;

struct blk_req {
	struct blkbe_req br;
	struct blk *sc;
	struct blk_req *next_free;
	uint16_t head;
	uint8_t *status;
	uint32_t used_len;
	struct iovec iov[BLK_QSIZE];
	struct iovec data[BLK_QSIZE];
};

struct blk {
	struct virtio_dev v;
	struct blkbe *be;
	struct blk_req *reqs;
	pthread_mutex_t free_lock; /* protects free */
	struct blk_req *free;
	char serial[BLK_ID_BYTES];
	uint64_t sectors; /* capacity in 512-byte sectors */
	unsigned lsec;
	struct ratelimit rl; /* under v->lock */
};

const char *const blk_config_keys[] = {
	"path", "nocache", "direct", "sync", "ro", "sectorsize", "nodelete", "ser", NULL,
};

static struct blk_req *blk_req_get(struct blk *sc)
{
	struct blk_req *r;

	pthread_mutex_lock(&sc->free_lock);
	r = sc->free;
	if (r)
		sc->free = r->next_free;
	pthread_mutex_unlock(&sc->free_lock);
	return r;
}

static void blk_req_put(struct blk *sc, struct blk_req *r)
{
	pthread_mutex_lock(&sc->free_lock);
	r->next_free = sc->free;
	sc->free = r;
	pthread_mutex_unlock(&sc->free_lock);
}

/* Write status, recycle the request, return the chain (any thread). */
static void blk_finish(struct blk *sc, struct blk_req *r, uint8_t status)
{
	struct virtqueue *vq = &sc->v.vq[0];
	uint16_t head = r->head;
	uint32_t len = r->used_len;

	*r->status = status;
	/* Recycle before pushing: the driver may reuse the chain at once. */
	blk_req_put(sc, r);
	vq_push(vq, head, len);
	vq_notify(vq);
	/* The driver will likely queue the next request now. */
	virtio_queue_poll_touch(&sc->v, 0);
}

static void blk_done(struct blkbe_req *br, int result)
{
	struct blk_req *r = container_of(br, struct blk_req, br);

	if (result < 0)
		log_debug("virtio-blk: I/O error: %s", strerror(-result));
	blk_finish(r->sc, r, result < 0 ? BLK_S_IOERR : BLK_S_OK);
}

static bool blk_range_ok(const struct blk *sc, uint64_t sector, uint64_t nsect)
{
	return sector <= sc->sectors && nsect <= sc->sectors - sector;
}

/* One discard / write-zeroes segment (§5.2.6.2). */
static uint8_t blk_prep_delete(struct blk *sc, struct blk_req *r, const struct vq_chain *c,
			       uint32_t type)
{
	uint8_t seg[16];
	uint64_t sector;
	uint32_t n, flags;

	if (!blkbe_can_delete(sc->be))
		return BLK_S_UNSUPP;
	if (c->out_bytes - BLK_HDR != sizeof(seg))
		return BLK_S_UNSUPP; /* max_*_seg is 1 */
	vq_iov_to_buf(c->iov, c->nout, BLK_HDR, seg, sizeof(seg));
	sector = get_le64(seg);
	n = get_le32(seg + 8);
	flags = get_le32(seg + 12);
	if (type == BLK_T_DISCARD ? flags != 0 : (flags & ~1u) != 0)
		return BLK_S_UNSUPP;
	if (n > BLK_MAX_DISCARD_SECTORS || !blk_range_ok(sc, sector, n))
		return BLK_S_IOERR;
	r->br.op = type == BLK_T_DISCARD ? BLKBE_DISCARD : BLKBE_WRITE_ZEROES;
	r->br.offset = sector * 512;
	r->br.len = (uint64_t)n * 512;
	r->br.unmap = flags & 1;
	return BLK_S_OK;
}

/* Parse one request and hand it to the backend, or complete it here. */
static void blk_handle(struct blk *sc, struct blk_req *r, const struct vq_chain *c)
{
	uint8_t hdr[BLK_HDR];
	const struct iovec *last;
	uint32_t type;
	uint64_t sector, len;
	uint8_t st = BLK_S_OK;

	r->head = c->head;
	r->used_len = 0;
	last = c->nin ? &c->iov[c->nout + c->nin - 1] : NULL;
	if (c->out_bytes < BLK_HDR || !last) {
		log_rl(&sc->rl, LOG_WARN, "virtio-blk: request without header or status byte");
		blk_req_put(sc, r);
		vq_push(&sc->v.vq[0], c->head, 0);
		vq_notify(&sc->v.vq[0]);
		return;
	}
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->used_len = 1;
	vq_iov_to_buf(c->iov, c->nout, 0, hdr, sizeof(hdr));
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	memset(&r->br, 0, sizeof(r->br));
	r->br.done = blk_done;

	switch (type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		if (type == BLK_T_IN) {
			len = c->in_bytes - 1;
			r->br.iovcnt = vq_iov_slice(c->iov + c->nout, c->nin, 0, len,
						    r->data, BLK_QSIZE);
		} else {
			len = c->out_bytes - BLK_HDR;
			r->br.iovcnt = vq_iov_slice(c->iov, c->nout, BLK_HDR, len,
						    r->data, BLK_QSIZE);
		}
		if (type == BLK_T_OUT && blkbe_ro(sc->be)) {
			st = BLK_S_IOERR;
			break;
		}
		if (len % 512 || len > BLK_MAX_DATA || !blk_range_ok(sc, sector, len / 512)) {
			log_rl(&sc->rl, LOG_DEBUG,
			       "virtio-blk: bad request sector %llu len %llu",
			       (unsigned long long)sector, (unsigned long long)len);
			st = BLK_S_IOERR;
			break;
		}
		if (len == 0)
			break;
		r->br.op = type == BLK_T_IN ? BLKBE_READ : BLKBE_WRITE;
		r->br.offset = sector * 512;
		r->br.iov = r->data;
		if (type == BLK_T_IN)
			r->used_len = (uint32_t)len + 1;
		if (blkbe_submit(sc->be, &r->br) == 0)
			return;
		r->used_len = 1;
		st = BLK_S_IOERR;
		break;
	case BLK_T_FLUSH:
		r->br.op = BLKBE_FLUSH;
		if (blkbe_submit(sc->be, &r->br) == 0)
			return;
		st = BLK_S_IOERR;
		break;
	case BLK_T_GET_ID:
		len = MIN(c->in_bytes - 1, (uint64_t)BLK_ID_BYTES);
		vq_iov_from_buf(c->iov + c->nout, c->nin, 0, sc->serial, len);
		r->used_len = (uint32_t)len + 1;
		break;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		st = blk_prep_delete(sc, r, c, type);
		if (st != BLK_S_OK)
			break;
		if (blkbe_submit(sc->be, &r->br) == 0)
			return;
		st = BLK_S_IOERR;
		break;
	default:
		st = BLK_S_UNSUPP;
		break;
	}
	blk_finish(sc, r, st);
}

static void blk_queue_notify(struct virtio_dev *v, unsigned q)
{
	struct blk *sc = container_of(v, struct blk, v);
	struct virtqueue *vq = &v->vq[0];
	struct vq_chain c;
	struct blk_req *r;
	int rc;

	if (q != 0)
		return;
	do {
		vq_set_notify(vq, false);
		for (;;) {
			r = blk_req_get(sc);
			if (!r) {
				/* Only a driver reusing in-flight chains gets here. */
				log_rl(&sc->rl, LOG_WARN,
				       "virtio-blk: more requests in flight than the queue size");
				vq_set_notify(vq, true);
				return;
			}
			c.iov = r->iov;
			c.max_iov = BLK_QSIZE;
			rc = vq_pop(vq, &c);
			if (rc <= 0) {
				blk_req_put(sc, r);
				if (rc < 0)
					return;
				break;
			}
			blk_handle(sc, r, &c);
		}
	} while (vq_enable_notify(vq));
}

static void blk_reset(struct virtio_dev *v)
{
	struct blk *sc = container_of(v, struct blk, v);

	blkbe_drain(sc->be);
}

static void blk_destroy(struct virtio_dev *v)
{
	struct blk *sc = container_of(v, struct blk, v);

	blkbe_close(sc->be);
	virtio_dev_fini(&sc->v);
	pthread_mutex_destroy(&sc->free_lock);
	free(sc->reqs);
	free(sc);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.max_queue_size = BLK_QSIZE,
	.poll_queues = 1,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

static const char *blk_key(struct config *cfg, const char *node, const char *key,
			   char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", node, key);
	return config_get(cfg, buf);
}

static int blk_bool(struct config *cfg, const char *node, const char *key, bool *out,
		    char *err, size_t errlen)
{
	char k[300];

	snprintf(k, sizeof(k), "%s.%s", node, key);
	if (config_get_bool(cfg, k, false, out) < 0) {
		snprintf(err, errlen, "virtio-blk: invalid value for '%s'", key);
		return -EINVAL;
	}
	return 0;
}

static bool blk_pow2_ok(unsigned long v)
{
	return v >= 512 && v <= 65536 && !(v & (v - 1));
}

/* "logical[/physical]" */
static int blk_parse_sectorsize(const char *s, unsigned *l, unsigned *p)
{
	char *end;
	unsigned long lv, pv;

	lv = strtoul(s, &end, 10);
	pv = lv;
	if (end == s)
		return -EINVAL;
	if (*end == '/') {
		const char *ps = end + 1;
		pv = strtoul(ps, &end, 10);
		if (end == ps)
			return -EINVAL;
	}
	if (*end || !blk_pow2_ok(lv) || !blk_pow2_ok(pv) || pv < lv)
		return -EINVAL;
	*l = (unsigned)lv;
	*p = (unsigned)pv;
	return 0;
}

/* Stable default serial: FNV-1a of the path. */
static void blk_default_serial(const char *path, char *out)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char buf[BLK_ID_BYTES + 1];

	for (const char *p = path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	snprintf(buf, sizeof(buf), "LHYVE-%04X-%04X-%04X", (unsigned)(h >> 48) & 0xffff,
		 (unsigned)(h >> 32) & 0xffff, (unsigned)(h >> 16) & 0xffff);
	memcpy(out, buf, BLK_ID_BYTES);
}

static void blk_fill_config(struct blk *sc, unsigned psec)
{
	uint8_t *c = sc->v.config;
	unsigned exp = 0;

	while ((sc->lsec << exp) < psec)
		exp++;
	put_le64(c + CFG_CAPACITY, sc->sectors);
	put_le32(c + CFG_SIZE_MAX, BLK_SIZE_MAX);
	put_le32(c + CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(c + CFG_BLK_SIZE, sc->lsec);
	c[CFG_PHYS_EXP] = (uint8_t)exp;
	put_le16(c + CFG_MIN_IO, (uint16_t)(1u << exp));
	put_le16(c + CFG_NUM_QUEUES, 1);
	put_le32(c + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + CFG_MAX_DISCARD_SEG, 1);
	put_le32(c + CFG_DISCARD_ALIGN, sc->lsec / 512);
	put_le32(c + CFG_MAX_WZ_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + CFG_MAX_WZ_SEG, 1);
	c[CFG_WZ_MAY_UNMAP] = 1;
	sc->v.config_len = CFG_LEN;
}

struct virtio_dev *blk_create(const struct virtio_env *env, struct config *cfg,
			      const char *node, char *err, size_t errlen)
{
	struct blkbe_opts o = { 0 };
	struct blk *sc;
	const char *s;
	char k[300];
	bool direct = false, sync = false;
	uint64_t feat;

	if (!(o.path = blk_key(cfg, node, "path", k, sizeof(k))) || !*o.path) {
		snprintf(err, errlen, "virtio-blk: no disk image path (%s.path)", node);
		return NULL;
	}
	if (blk_bool(cfg, node, "ro", &o.ro, err, errlen) ||
	    blk_bool(cfg, node, "nocache", &o.nocache, err, errlen) ||
	    blk_bool(cfg, node, "direct", &direct, err, errlen) ||
	    blk_bool(cfg, node, "sync", &sync, err, errlen) ||
	    blk_bool(cfg, node, "nodelete", &o.nodelete, err, errlen))
		return NULL;
	o.sync = direct || sync;
	if ((s = blk_key(cfg, node, "sectorsize", k, sizeof(k))) &&
	    blk_parse_sectorsize(s, &o.lsec, &o.psec) < 0) {
		snprintf(err, errlen,
			 "virtio-blk: invalid sectorsize '%s' (logical[/physical], powers of 2, 512-65536)",
			 s);
		return NULL;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		goto err_nomem;
	if ((s = blk_key(cfg, node, "ser", k, sizeof(k)))) {
		if (strlen(s) > BLK_ID_BYTES) {
			snprintf(err, errlen, "virtio-blk: serial '%s' longer than 20 bytes", s);
			goto err_sc;
		}
		strncpy(sc->serial, s, BLK_ID_BYTES);
	} else {
		blk_default_serial(o.path, sc->serial);
	}
	sc->rl = (struct ratelimit)RATELIMIT_INIT;
	sc->reqs = calloc(BLK_QSIZE, sizeof(*sc->reqs));
	if (!sc->reqs)
		goto err_sc_nomem;
	for (unsigned i = 0; i < BLK_QSIZE; i++) {
		sc->reqs[i].sc = sc;
		sc->reqs[i].next_free = sc->free;
		sc->free = &sc->reqs[i];
	}
	pthread_mutex_init(&sc->free_lock, NULL);
	sc->be = blkbe_open(&o, err, errlen);
	if (!sc->be)
		goto err_lock;
	sc->lsec = blkbe_lsec(sc->be);
	sc->sectors = blkbe_size(sc->be) / sc->lsec * (sc->lsec / 512);
	feat = VIRTIO_BIT(BLK_F_SIZE_MAX) | VIRTIO_BIT(BLK_F_SEG_MAX) |
	       VIRTIO_BIT(BLK_F_BLK_SIZE) | VIRTIO_BIT(BLK_F_TOPOLOGY) |
	       VIRTIO_BIT(BLK_F_FLUSH);
	if (o.ro)
		feat |= VIRTIO_BIT(BLK_F_RO);
	if (blkbe_can_delete(sc->be))
		feat |= VIRTIO_BIT(BLK_F_DISCARD) | VIRTIO_BIT(BLK_F_WRITE_ZEROES);
	if (virtio_dev_init(&sc->v, &blk_ops, env, 1, feat) < 0) {
		snprintf(err, errlen, "virtio-blk: cannot initialise device");
		goto err_be;
	}
	blk_fill_config(sc, blkbe_psec(sc->be));
	log_debug("virtio-blk %s: %llu sectors, %u/%u bytes, %s", o.path,
		  (unsigned long long)sc->sectors, sc->lsec, blkbe_psec(sc->be),
		  blkbe_engine(sc->be));
	return &sc->v;
err_be:
	blkbe_close(sc->be);
err_lock:
	pthread_mutex_destroy(&sc->free_lock);
	free(sc->reqs);
	goto err_sc;
err_sc_nomem:
	snprintf(err, errlen, "virtio-blk: out of memory");
err_sc:
	free(sc);
	return NULL;
err_nomem:
	snprintf(err, errlen, "virtio-blk: out of memory");
	return NULL;
}

int blk_legacy_config(struct config *cfg, const char *node, const char *conf,
		      char *err, size_t errlen)
{
	static const char *const keys[] = { "sectorsize", "ser", "path", NULL };
	static const char *const flags[] = { "nocache", "direct", "sync", "ro",
					     "nodelete", NULL };

	return virtio_legacy_opts(cfg, node, conf, keys, flags, "virtio-blk", err,
				  errlen);
}
