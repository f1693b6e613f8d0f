/*
 * Block backends for disk emulations: a regular file or a host block device,
 * with asynchronous requests through io_uring (when built with
 * LHYVE_HAVE_URING and the kernel allows it) or a pool of worker threads.
 *
 * Threading: blkbe_submit may be called from any thread (one at a time per
 * backend is not required); completions call req->done on a backend thread,
 * or on the submitting thread, before blkbe_submit returns, when the page
 * cache served the request at once (RWF_NOWAIT fast path).
 * blkbe_drain/blkbe_close wait until every submitted request's done() has
 * returned. done() must not call blkbe_drain/blkbe_close.
 */
#ifndef LHYVE_BLOCK_H
#define LHYVE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct blkbe;

struct blkbe_opts {
	const char *path;
	bool ro;       /* open read-only */
	bool nocache;  /* O_DIRECT (unaligned guest buffers are bounced) */
	bool sync;     /* O_SYNC */
	bool nodelete; /* no discard / write-zeroes deallocation */
	unsigned lsec, psec; /* sector sizes to present; 0: from the backend */
	bool no_uring; /* force the worker-thread engine (tests) */
};

enum blkbe_op {
	BLKBE_READ,
	BLKBE_WRITE,
	BLKBE_FLUSH,        /* fdatasync */
	BLKBE_DISCARD,      /* punch hole [offset, offset+len) */
	BLKBE_WRITE_ZEROES, /* zero [offset, offset+len); unmap: may deallocate */
};

struct blkbe_req {
	enum blkbe_op op;
	uint64_t offset;
	uint64_t len;            /* DISCARD/WRITE_ZEROES only */
	bool unmap;
	const struct iovec *iov; /* READ/WRITE buffers */
	unsigned iovcnt;
	/* Completion: result 0 or -errno. Called on a backend thread. */
	void (*done)(struct blkbe_req *r, int result);
	/* Private to the backend. */
	struct blkbe_req *next;
	void *bounce;
	size_t bounce_len;
	struct iovec biov;
};

/*
 * Open the image; NULL and one line in err on failure, e.g.
 * "disk image /x.img: No such file or directory" or
 * "disk image /x.img is in use by another process".
 * Writable images take an OFD write lock, read-only ones a read lock.
 */
struct blkbe *blkbe_open(const struct blkbe_opts *o, char *err, size_t errlen);
/* Drain and close. */
void blkbe_close(struct blkbe *b);
/* Queue a request; 0, or -errno (done() will then not be called). */
int blkbe_submit(struct blkbe *b, struct blkbe_req *r);
/* Wait until all submitted requests completed. */
void blkbe_drain(struct blkbe *b);

uint64_t blkbe_size(const struct blkbe *b);     /* bytes */
unsigned blkbe_lsec(const struct blkbe *b);     /* logical sector size */
unsigned blkbe_psec(const struct blkbe *b);     /* physical sector size */
bool blkbe_ro(const struct blkbe *b);
bool blkbe_can_delete(const struct blkbe *b);   /* discard/zeroes supported */
const char *blkbe_engine(const struct blkbe *b); /* "io_uring" or "threads" */

#endif
