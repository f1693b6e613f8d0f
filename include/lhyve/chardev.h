/*
 * Console backends (what `-l comN,<backend>` names): "stdio" (raw terminal,
 * restored at close and at exit), a host path (tty or file), "tcp=addr:port"
 * (server, one client at a time, later clients are closed at once), "pty"
 * (a new pty pair; the slave path is reported by chardev_pty_path), and a
 * null-modem path ".../nmdmXA" (any directory, base name nmdm<X>A or
 * nmdm<X>B): a pty pair whose slave is published as a symlink at the other
 * letter's path (/dev/nmdm0A -> /dev/nmdm0B), removed again at close.
 *
 * Every chardev also keeps the last 64 KiB of output (history), can copy
 * all output to a log file, and takes up to 4 attached clients (sockets):
 * each gets the history, then live output; their input is merged with the
 * backend's input.
 *
 * Input is buffered inside the chardev; the device pulls it with
 * chardev_read() and is told on the event loop thread when new input arrived.
 * Output never blocks the caller: what the backend cannot take is dropped.
 * Thread-safe: vCPU threads write/read while the loop thread fills buffers.
 */
#ifndef LHYVE_CHARDEV_H
#define LHYVE_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chardev;
struct evloop;

/* Open the backend named by spec; NULL with a message in err on failure. */
struct chardev *chardev_open(const char *spec, struct evloop *loop, char *err,
			     size_t errlen);
/*
 * Call on the loop thread or when the loop is not running. pty/nmdm: while
 * a client has the slave open and has not read all output, this waits for
 * it (up to 2 s, less when it stops reading): closing the master would
 * discard the unread rest.
 */
void chardev_close(struct chardev *cd);

/*
 * Like chardev_open but over already open fds (test hook; also usable for
 * a socket handed in by a parent). Takes ownership of both (in == out is
 * fine; -1 means none). They are switched to non-blocking mode.
 */
struct chardev *chardev_open_fds(int in_fd, int out_fd, struct evloop *loop,
				 char *err, size_t errlen);
/* Local TCP port of a "tcp=" backend (useful with port 0); -1 otherwise. */
int chardev_local_port(struct chardev *cd);

/*
 * Called (on the loop thread, without the chardev lock held) whenever new
 * input becomes available and when a peer connects or disconnects. The
 * callback may call chardev_read()/chardev_write()/chardev_connected().
 */
void chardev_set_notify(struct chardev *cd, void (*fn)(void *opaque),
			void *opaque);
/* Up to n buffered input bytes; 0 if none. Never blocks. */
size_t chardev_read(struct chardev *cd, void *buf, size_t n);
/* Bytes of input buffered now. */
size_t chardev_pending(struct chardev *cd);
/* Write output; returns bytes accepted (the rest is dropped). Never blocks. */
size_t chardev_write(struct chardev *cd, const void *buf, size_t n);
/* True when a peer is connected (always true for stdio/path). */
bool chardev_connected(struct chardev *cd);

/* Restore every terminal a stdio chardev put in raw mode (signal-safe). */
void chardev_restore_terminals(void);

/*
 * Backend kind ("stdio", "file", "tty", "tcp", "pty", "nmdm", "fds") and
 * endpoint ("-", a path, "addr:port", the pty slave; nmdm: "LINK SLAVE").
 */
void chardev_describe(struct chardev *cd, char *kind, size_t kindlen, char *endpoint,
		      size_t eplen);
/* Slave device of a pty/nmdm backend, NULL otherwise. */
const char *chardev_pty_path(struct chardev *cd);
/* Copy all output from now on to path (created 0600, truncated). 0 or -errno. */
int chardev_set_log(struct chardev *cd, const char *path);
/* The newest up to n bytes of output, oldest first; returns the count. */
size_t chardev_history(struct chardev *cd, void *buf, size_t n);
/*
 * Attach a connected socket as a client: it gets the history, then live
 * output (bytes it cannot take at once are dropped); what it sends is
 * console input. early: input already read from it (may be NULL). Takes
 * ownership of fd on success; -EBUSY when 4 clients are attached.
 */
int chardev_attach(struct chardev *cd, int fd, const void *early, size_t nearly);
/* Counters: input bytes, output bytes, attached clients. */
void chardev_stats(struct chardev *cd, uint64_t *in, uint64_t *out, unsigned *clients);

#endif
