/*
 * Block backend (see lhyve/block.h): regular files and block devices,
 * asynchronous requests through io_uring (built with LHYVE_HAVE_URING and
 * linked with -luring) or, as a fallback, a pool of worker threads.
 *
 * Locking: b->lock protects the in-flight count and the worker queue; the
 * io_uring submission queue is protected by b->sq_lock (one submitter at a
 * time); the completion queue is only touched by the completion thread.
 * Requests own their buffers until done() returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef LHYVE_HAVE_URING
#include <liburing.h>
#endif

#include "lhyve/block.h"
#include "lhyve/log.h"
#include "lhyve/util.h"

#define BLKBE_WORKERS 4
#define BLKBE_URING_DEPTH 256
#define ZERO_CHUNK (256 * 1024)
/* sync_write(): largest write done inline, the wait that counts as a stall,
 * and how long inline writes stay off after one */
#define BLKBE_INLINE_WRITE_MAX (1024 * 1024)
#define BLKBE_INLINE_STALL_NS 1000000ULL
#define BLKBE_INLINE_BACKOFF_NS 100000000ULL

struct blkbe {
	int fd;
	char *path;
	uint64_t size;
	unsigned lsec, psec;
	unsigned dio_align; /* O_DIRECT buffer alignment; 0 without nocache */
	bool ro, can_delete;
	bool sync;          /* O_SYNC: writes always wait for the device */
	bool no_nowait[2];  /* RWF_NOWAIT reads/writes unsupported here */
	bool memfs;         /* tmpfs/ramfs: I/O is a memory copy, never waits on a device */
	uint64_t sync_wr_off_until; /* no inline buffered writes before (now_ns) */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
	/* worker engine */
	bool use_uring;
	bool stop;
	pthread_cond_t work;
	struct blkbe_req *qhead, *qtail;
	pthread_t workers[BLKBE_WORKERS];
	unsigned nworkers;
#ifdef LHYVE_HAVE_URING
	struct io_uring ring;
	pthread_mutex_t sq_lock;
	pthread_t cq_thread;
#endif
};

static size_t iov_total(const struct iovec *iov, unsigned n)
{
	size_t t = 0;
	for (unsigned i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Finish a read/write synchronously, `done` bytes already transferred. */
static int rw_full(int fd, bool wr, const struct iovec *iov, unsigned n,
		   uint64_t off, size_t done)
{
	size_t pos = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = iov[i].iov_len;
		if (pos + l <= done) {
			pos += l;
			continue;
		}
		size_t o = done > pos ? done - pos : 0;
		while (o < l) {
			uint8_t *p = (uint8_t *)iov[i].iov_base + o;
			ssize_t r = wr ? pwrite(fd, p, l - o, (off_t)(off + pos + o))
				       : pread(fd, p, l - o, (off_t)(off + pos + o));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO;
			o += (size_t)r;
		}
		pos += l;
		done = pos;
	}
	return 0;
}

static const struct iovec *req_iov(struct blkbe_req *r, unsigned *n)
{
	if (r->bounce) {
		*n = 1;
		return &r->biov;
	}
	*n = r->iovcnt;
	return r->iov;
}

static int write_zeroes_slow(struct blkbe *b, uint64_t off, uint64_t len)
{
	void *z;
	int rc = 0;

	if (posix_memalign(&z, 4096, ZERO_CHUNK))
		return -ENOMEM;
	memset(z, 0, ZERO_CHUNK);
	while (len > 0 && rc == 0) {
		size_t k = (size_t)MIN(len, (uint64_t)ZERO_CHUNK);
		struct iovec v = { z, k };
		rc = rw_full(b->fd, true, &v, 1, off, 0);
		off += k;
		len -= k;
	}
	free(z);
	return rc;
}

/* Zero or deallocate with fallbacks (completion/worker thread). */
static int do_fallocate(struct blkbe *b, struct blkbe_req *r)
{
	int mode;

	if (r->op == BLKBE_DISCARD) {
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)r->offset, (off_t)r->len) == 0)
			return 0;
		/* Discard is a hint: unsupported is not an error. */
		return errno == EOPNOTSUPP || errno == ENOTTY ? 0 : -errno;
	}
	mode = r->unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			: FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(b->fd, mode, (off_t)r->offset, (off_t)r->len) == 0)
		return 0;
	if (r->unmap && fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				  (off_t)r->offset, (off_t)r->len) == 0)
		return 0;
	return write_zeroes_slow(b, r->offset, r->len);
}

static int exec_sync(struct blkbe *b, struct blkbe_req *r)
{
	const struct iovec *iov;
	unsigned n;
	ssize_t k;

	switch (r->op) {
	case BLKBE_READ:
	case BLKBE_WRITE:
		iov = req_iov(r, &n);
		do {
			k = r->op == BLKBE_WRITE
				    ? pwritev(b->fd, iov, (int)MIN(n, (unsigned)IOV_MAX), (off_t)r->offset)
				    : preadv(b->fd, iov, (int)MIN(n, (unsigned)IOV_MAX), (off_t)r->offset);
		} while (k < 0 && errno == EINTR);
		if (k < 0)
			return -errno;
		return rw_full(b->fd, r->op == BLKBE_WRITE, iov, n, r->offset, (size_t)k);
	case BLKBE_FLUSH:
		return fdatasync(b->fd) < 0 ? -errno : 0;
	case BLKBE_DISCARD:
	case BLKBE_WRITE_ZEROES:
		return do_fallocate(b, r);
	}
	return -EINVAL;
}

/* Common completion: unbounce, call done, drop the in-flight count. */
static void complete(struct blkbe *b, struct blkbe_req *r, int res)
{
	if (r->bounce) {
		if (r->op == BLKBE_READ && res == 0) {
			size_t off = 0;
			for (unsigned i = 0; i < r->iovcnt; i++) {
				memcpy(r->iov[i].iov_base, (uint8_t *)r->bounce + off,
				       r->iov[i].iov_len);
				off += r->iov[i].iov_len;
			}
		}
		free(r->bounce);
		r->bounce = NULL;
	}
	r->done(r, res);
	pthread_mutex_lock(&b->lock);
	if (--b->inflight == 0)
		pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
}

static void *worker_main(void *opaque)
{
	struct blkbe *b = opaque;
	struct blkbe_req *r;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (!b->qhead && !b->stop)
			pthread_cond_wait(&b->work, &b->lock);
		if (!b->qhead) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		r = b->qhead;
		b->qhead = r->next;
		if (!b->qhead)
			b->qtail = NULL;
		pthread_mutex_unlock(&b->lock);
		complete(b, r, exec_sync(b, r));
	}
}

#ifdef LHYVE_HAVE_URING
static void *uring_main(void *opaque)
{
	struct blkbe *b = opaque;
	struct io_uring_cqe *cqe;

	for (;;) {
		int rc = io_uring_wait_cqe(&b->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_err("disk image %s: io_uring wait: %s", b->path, strerror(-rc));
			return NULL;
		}
		struct blkbe_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		if (!r)
			return NULL; /* stop request */
		switch (r->op) {
		case BLKBE_READ:
		case BLKBE_WRITE: {
			unsigned n;
			const struct iovec *iov = req_iov(r, &n);
			if (res >= 0)
				res = rw_full(b->fd, r->op == BLKBE_WRITE, iov, n,
					      r->offset, (size_t)res);
			else if (res == -EAGAIN || res == -EINTR)
				res = rw_full(b->fd, r->op == BLKBE_WRITE, iov, n,
					      r->offset, 0);
			break;
		}
		case BLKBE_FLUSH:
			break;
		case BLKBE_DISCARD:
		case BLKBE_WRITE_ZEROES:
			if (res < 0)
				res = do_fallocate(b, r);
			break;
		}
		complete(b, r, res < 0 ? res : 0);
	}
}

static int uring_submit(struct blkbe *b, struct blkbe_req *r)
{
	struct io_uring_sqe *sqe;
	const struct iovec *iov;
	unsigned n;
	int rc;

	pthread_mutex_lock(&b->sq_lock);
	sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) {
		pthread_mutex_unlock(&b->sq_lock);
		return -EBUSY;
	}
	switch (r->op) {
	case BLKBE_READ:
		iov = req_iov(r, &n);
		io_uring_prep_readv(sqe, b->fd, iov, n, r->offset);
		break;
	case BLKBE_WRITE:
		iov = req_iov(r, &n);
		io_uring_prep_writev(sqe, b->fd, iov, n, r->offset);
		break;
	case BLKBE_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLKBE_DISCARD:
		io_uring_prep_fallocate(sqe, b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)r->len);
		break;
	case BLKBE_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, b->fd,
					(r->unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) |
						FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	rc = io_uring_submit(&b->ring);
	pthread_mutex_unlock(&b->sq_lock);
	return rc < 0 ? rc : 0;
}

/*
 * The ring may only carry the opcodes uring_submit()/uring_stop() use, with
 * no SQE flags: seccomp does not see io_uring requests, so an unrestricted
 * ring would let a compromised VMM open files or sockets past bhyve's
 * sandbox (docs/bhyve.8, SECURITY). Restrictions are registered on a
 * disabled ring, which is then enabled.
 */
static int uring_restrict(struct io_uring *ring)
{
	static const uint8_t ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				       IORING_OP_FALLOCATE, IORING_OP_NOP };
	struct io_uring_restriction res[sizeof(ops)];

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	/* Raw io_uring_register(2): Debian's liburing 2.3 exports no wrapper. */
	if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
		    (unsigned)sizeof(ops)) < 0 ||
	    syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
		    0) < 0)
		return -errno;
	return 0;
}

static int uring_start(struct blkbe *b)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	int rc = io_uring_queue_init_params(BLKBE_URING_DEPTH, &b->ring, &p);

	if (rc < 0)
		return rc;
	if ((rc = uring_restrict(&b->ring)) < 0) {
		io_uring_queue_exit(&b->ring);
		return rc;
	}
	pthread_mutex_init(&b->sq_lock, NULL);
	rc = pthread_create(&b->cq_thread, NULL, uring_main, b);
	if (rc) {
		pthread_mutex_destroy(&b->sq_lock);
		io_uring_queue_exit(&b->ring);
		return -rc;
	}
	pthread_setname_np(b->cq_thread, "blk-uring");
	b->use_uring = true;
	return 0;
}

static void uring_stop(struct blkbe *b)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&b->sq_lock);
	sqe = io_uring_get_sqe(&b->ring);
	if (sqe) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
		io_uring_submit(&b->ring);
	}
	pthread_mutex_unlock(&b->sq_lock);
	if (sqe)
		pthread_join(b->cq_thread, NULL);
	else
		pthread_cancel(b->cq_thread);
	io_uring_queue_exit(&b->ring);
	pthread_mutex_destroy(&b->sq_lock);
}
#endif

static int workers_start(struct blkbe *b)
{
	for (unsigned i = 0; i < BLKBE_WORKERS; i++) {
		int rc = pthread_create(&b->workers[i], NULL, worker_main, b);
		if (rc) {
			if (i == 0)
				return -rc;
			break;
		}
		pthread_setname_np(b->workers[i], "blk-worker");
		b->nworkers++;
	}
	return 0;
}

static void workers_stop(struct blkbe *b)
{
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	b->nworkers = 0;
}

static int probe(struct blkbe *b, char *err, size_t errlen)
{
	struct stat st;
	uint64_t sz;
	int lsz = 512;
	unsigned int psz = 512;

	if (fstat(b->fd, &st) < 0) {
		snprintf(err, errlen, "disk image %s: %s", b->path, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
		b->lsec = 512;
		b->psec = 512;
		b->dio_align = 4096;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &sz) < 0) {
			snprintf(err, errlen, "disk image %s: BLKGETSIZE64: %s", b->path,
				 strerror(errno));
			return -errno;
		}
		if (ioctl(b->fd, BLKSSZGET, &lsz) < 0 || lsz < 512)
			lsz = 512;
		if (ioctl(b->fd, BLKPBSZGET, &psz) < 0 || psz < (unsigned)lsz)
			psz = (unsigned)lsz;
		b->size = sz;
		b->lsec = (unsigned)lsz;
		b->psec = psz;
		b->dio_align = (unsigned)MAX(lsz, 512);
	} else {
		snprintf(err, errlen, "disk image %s: not a regular file or block device",
			 b->path);
		return -EINVAL;
	}
	return 0;
}

struct blkbe *blkbe_open(const struct blkbe_opts *o, char *err, size_t errlen)
{
	struct blkbe *b;
	struct flock fl = { .l_whence = SEEK_SET };
	int flags = O_CLOEXEC | (o->ro ? O_RDONLY : O_RDWR);

	if (o->nocache)
		flags |= O_DIRECT;
	if (o->sync)
		flags |= O_SYNC;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto err_nomem;
	b->sync = o->sync;
	b->path = strdup(o->path);
	if (!b->path)
		goto err_free;
	b->fd = open(o->path, flags);
	if (b->fd < 0) {
		snprintf(err, errlen, "disk image %s: %s", o->path, strerror(errno));
		goto err_path;
	}
	struct statfs sfs;
	if (fstatfs(b->fd, &sfs) == 0 &&
	    ((unsigned long)sfs.f_type == TMPFS_MAGIC || (unsigned long)sfs.f_type == RAMFS_MAGIC))
		b->memfs = true;
	fl.l_type = o->ro ? F_RDLCK : F_WRLCK;
	if (fcntl(b->fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES) {
			snprintf(err, errlen, "disk image %s is in use by another process",
				 o->path);
			goto err_fd;
		}
		log_warn("disk image %s: cannot lock: %s", o->path, strerror(errno));
	}
	if (probe(b, err, errlen) < 0)
		goto err_fd;
	if (!o->nocache)
		b->dio_align = 0;
	if (o->lsec) {
		b->lsec = o->lsec;
		b->psec = o->psec ? o->psec : o->lsec;
	}
	b->ro = o->ro;
	b->can_delete = !o->ro && !o->nodelete;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	pthread_cond_init(&b->work, NULL);
#ifdef LHYVE_HAVE_URING
	if (!o->no_uring && uring_start(b) == 0)
		return b;
#endif
	if (workers_start(b) < 0) {
		snprintf(err, errlen, "disk image %s: cannot start I/O threads", o->path);
		goto err_sync;
	}
	return b;
err_sync:
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
err_fd:
	close(b->fd);
err_path:
	free(b->path);
err_free:
	free(b);
	return NULL;
err_nomem:
	snprintf(err, errlen, "disk image %s: out of memory", o->path);
	return NULL;
}

void blkbe_drain(struct blkbe *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->inflight)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void blkbe_close(struct blkbe *b)
{
	if (!b)
		return;
	blkbe_drain(b);
#ifdef LHYVE_HAVE_URING
	if (b->use_uring)
		uring_stop(b);
#endif
	workers_stop(b);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	close(b->fd);
	free(b->path);
	free(b);
}

/* O_DIRECT needs aligned buffers: bounce when the guest's are not. */
static int prepare_bounce(struct blkbe *b, struct blkbe_req *r)
{
	size_t total, off = 0;
	bool aligned = true;

	r->bounce = NULL;
	if (!b->dio_align || (r->op != BLKBE_READ && r->op != BLKBE_WRITE))
		return 0;
	for (unsigned i = 0; i < r->iovcnt; i++)
		if (((uintptr_t)r->iov[i].iov_base | r->iov[i].iov_len) & (b->dio_align - 1))
			aligned = false;
	if (aligned && r->iovcnt <= IOV_MAX)
		return 0;
	total = iov_total(r->iov, r->iovcnt);
	if (posix_memalign(&r->bounce, b->dio_align,
			   MAX(ALIGN_UP(total, (size_t)b->dio_align), (size_t)b->dio_align)))
		return -ENOMEM;
	r->bounce_len = total;
	r->biov.iov_base = r->bounce;
	r->biov.iov_len = total;
	if (r->op == BLKBE_WRITE)
		for (unsigned i = 0; i < r->iovcnt; i++) {
			memcpy((uint8_t *)r->bounce + off, r->iov[i].iov_base, r->iov[i].iov_len);
			off += r->iov[i].iov_len;
		}
	return 0;
}

/*
 * Buffered write on a file system with no RWF_NOWAIT for writes (ext4 here):
 * io_uring hands every such write to a kernel worker, and the worker runs
 * writes to one file one after the other, so each write pays two thread
 * wake-ups (~75 us per 4 KiB write on the CI host, against 3-30 us for a plain
 * pwrite into the page cache). Small ones are therefore written right here.
 * A write that still had to wait (dirty-page throttling, a journal commit)
 * turns this off for a while, so that the event loop is not held up again.
 */
static bool sync_write(struct blkbe *b, struct blkbe_req *r, size_t want)
{
	uint64_t t0 = now_ns(), dt;
	ssize_t n;

	if (t0 < __atomic_load_n(&b->sync_wr_off_until, __ATOMIC_RELAXED))
		return false;
	n = pwritev(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset);
	dt = now_ns() - t0;
	if (dt > BLKBE_INLINE_STALL_NS) {
		__atomic_store_n(&b->sync_wr_off_until, t0 + dt + BLKBE_INLINE_BACKOFF_NS,
				 __ATOMIC_RELAXED);
		log_debug("disk image %s: a buffered write waited %llu us; writes go to the "
			  "I/O engine for %u ms", b->path, (unsigned long long)(dt / 1000),
			  (unsigned)(BLKBE_INLINE_BACKOFF_NS / 1000000));
	}
	if (n < 0 || (size_t)n != want)
		return false; /* the engine redoes the whole write and reports its error */
	r->done(r, 0);
	return true;
}

/*
 * Fast path: a read the page cache can serve at once, or a buffered write
 * that needs no waiting, is done right here with RWF_NOWAIT and completed on
 * the caller's thread, skipping the queue, the kernel worker and the
 * completion thread. Anything that would block goes the normal way (the
 * asynchronous request simply redoes the whole transfer). Returns true if
 * the request was completed.
 */
static bool try_nowait(struct blkbe *b, struct blkbe_req *r)
{
	bool wr = r->op == BLKBE_WRITE;
	size_t want;
	ssize_t n;

	if (r->bounce || r->iovcnt == 0 || r->iovcnt > IOV_MAX ||
	    (r->op != BLKBE_READ && !(wr && !b->sync && !b->dio_align)))
		return false;
	want = iov_total(r->iov, r->iovcnt);
	if (b->memfs) {
		/* tmpfs and ramfs have no NOWAIT, and nothing there can block on I/O. */
		n = wr ? pwritev(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset) :
			 preadv(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset);
		if (n < 0 || (size_t)n != want)
			return false;
		r->done(r, 0);
		return true;
	}
	if (__atomic_load_n(&b->no_nowait[wr], __ATOMIC_RELAXED))
		return wr && want <= BLKBE_INLINE_WRITE_MAX && sync_write(b, r, want);
	if (wr)
		n = pwritev2(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset, RWF_NOWAIT);
	else
		n = preadv2(b->fd, r->iov, (int)r->iovcnt, (off_t)r->offset, RWF_NOWAIT);
	if (n < 0 && errno == EOPNOTSUPP) /* the file system has no NOWAIT: stop trying */
		__atomic_store_n(&b->no_nowait[wr], true, __ATOMIC_RELAXED);
	if (n < 0 || (size_t)n != want)
		return false; /* EAGAIN, EOPNOTSUPP, short: let the engine do it */
	r->done(r, 0);
	return true;
}

int blkbe_submit(struct blkbe *b, struct blkbe_req *r)
{
	int rc;

	if ((r->op == BLKBE_WRITE || r->op == BLKBE_DISCARD ||
	     r->op == BLKBE_WRITE_ZEROES) && b->ro)
		return -EROFS;
	if ((r->op == BLKBE_DISCARD || (r->op == BLKBE_WRITE_ZEROES && r->unmap)) &&
	    !b->can_delete)
		return -EOPNOTSUPP;
	rc = prepare_bounce(b, r);
	if (rc)
		return rc;
	if (try_nowait(b, r))
		return 0;
	r->next = NULL;
	pthread_mutex_lock(&b->lock);
	b->inflight++;
	if (!b->use_uring) {
		if (b->qtail)
			b->qtail->next = r;
		else
			b->qhead = r;
		b->qtail = r;
		pthread_cond_signal(&b->work);
	}
	pthread_mutex_unlock(&b->lock);
#ifdef LHYVE_HAVE_URING
	if (b->use_uring) {
		rc = uring_submit(b, r);
		if (rc < 0) {
			free(r->bounce);
			r->bounce = NULL;
			pthread_mutex_lock(&b->lock);
			if (--b->inflight == 0)
				pthread_cond_broadcast(&b->idle);
			pthread_mutex_unlock(&b->lock);
			return rc;
		}
	}
#endif
	return 0;
}

uint64_t blkbe_size(const struct blkbe *b) { return b->size; }
unsigned blkbe_lsec(const struct blkbe *b) { return b->lsec; }
unsigned blkbe_psec(const struct blkbe *b) { return b->psec; }
bool blkbe_ro(const struct blkbe *b) { return b->ro; }
bool blkbe_can_delete(const struct blkbe *b) { return b->can_delete; }
const char *blkbe_engine(const struct blkbe *b)
{
	return b->use_uring ? "io_uring" : "threads";
}
