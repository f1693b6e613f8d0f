/*
 * Internals shared by chardev.c (backends, buffering, open/close) and
 * chardev_ext.c (pty/nmdm pairs, history, log file, attached clients).
 * Not a public interface: only these two files include it. Locking rules:
 * see chardev.c; functions marked "(lock held)" need cd->lock.
 */
#ifndef LHYVE_CHARDEV_INT_H
#define LHYVE_CHARDEV_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lhyve/chardev.h"
#include "lhyve/event.h"
#include "lhyve/log.h"

#define CD_IBUF_SIZE 4096
#define CD_OBUF_SIZE (64 * 1024)
#define CD_TTY_SLOTS 8
#define CD_POLL_NS 1000000ULL /* re-read interval for unpollable input */
#define CD_HIST_SIZE (64 * 1024)
#define CD_DRAIN_IDLE_NS 500000000ULL /* pty close: give up after this without progress */
#define CD_DRAIN_MAX_NS 2000000000ULL /* pty close: and after this in all */
#define CD_MAX_CLIENTS 4

enum cd_kind { CD_FDS, CD_STDIO, CD_PATH, CD_FILE, CD_TCP, CD_PTY, CD_NMDM };

struct cd_watch {
	int fd;
	uint32_t events; /* 0: not registered */
};

struct chardev;

/* An attached client (a connected socket); fd -1: slot free. */
struct cd_client {
	struct chardev *cd;
	int fd;
	struct cd_watch w;
	uint64_t dropped;
};

struct chardev {
	pthread_mutex_t lock;
	struct evloop *loop;
	enum cd_kind kind;
	char desc[96]; /* backend name for log lines */

	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output dropped */
	bool in_sock, out_sock;
	bool in_eof;   /* input ended (EOF/HUP/error): not watched any more */
	bool out_dead; /* output failed hard: dropped from now on */
	bool in_poll;  /* in_fd cannot be epolled: read it from a timer */
	struct ev_timer *in_timer;
	bool in_timer_armed;
	struct cd_watch w_in, w_out;

	int listen_fd; /* tcp */
	bool listen_watched;

	int tty_slot; /* cd_tty_saved index, -1: none */
	int out_restore_flags; /* fcntl flags to put back on out_fd, -1: none */

	uint8_t ibuf[CD_IBUF_SIZE];
	size_t ihead, ilen;
	uint8_t *obuf;
	size_t ohead, olen;

	void (*notify)(void *opaque);
	void *notify_opaque;
	struct ratelimit rl;

	/* pty / nmdm */
	int slave_fd;         /* held open so the master never sees a hangup */
	char pty_path[64];    /* slave device */
	char link_path[4096]; /* nmdm: the published other end, "" if none */

	/* history, log, clients, counters */
	uint8_t *hist;
	size_t hist_head, hist_len; /* hist_head: next write position */
	int log_fd;
	bool log_failed;
	struct cd_client clients[CD_MAX_CLIENTS];
	uint64_t bytes_in, bytes_out;
};

/* chardev.c */
struct chardev *cdi_alloc(struct evloop *loop, enum cd_kind kind, const char *desc);
/* Start watching input (timer polling for unpollable fds). */
int cdi_start(struct chardev *cd, char *err, size_t errlen);
/* Write out as much buffered output as the fd takes (lock held). */
void cdi_flush(struct chardev *cd);
/* Register exactly the epoll events needed now (lock held). */
int cdi_update_watches(struct chardev *cd);
/*
 * End of an input callback (lock held, released here): count the bytes that
 * arrived since cd->ilen was `before` and, if any did, call the consumer's
 * notify function after unlocking.
 */
void cdi_input_done(struct chardev *cd, size_t before);

/* chardev_ext.c */
/* Input from an attached client (loop thread; ev_fd_fn, opaque = client). */
void cdi_client_cb(void *opaque, uint32_t events);
/* Detach and close a client (lock held). */
void cdi_client_drop(struct chardev *cd, struct cd_client *c);
/* Every output byte: history, log, clients (lock held). */
void cdi_record(struct chardev *cd, const void *buf, size_t n);
/* Remove the published nmdm link if it still points at our pty. */
void cdi_unpublish(struct chardev *cd);
/* ".../nmdmXA|B": the other end's path in peer; false if spec is no nmdm path. */
bool cdi_nmdm_peer(const char *spec, char *peer, size_t len);
/*
 * Before a pty/nmdm master closes (lock held, loop not running): wait,
 * bounded, until a client that has the slave open has read the output.
 */
void cdi_pty_drain(struct chardev *cd);
/* Open a pty pair; link: publish the slave there (nmdm), NULL for "pty". */
struct chardev *cdi_open_pty(const char *spec, const char *link, struct evloop *loop,
			     char *err, size_t errlen);

#endif
