/*
 * Console backends (what `-l comN,<backend>` names): "stdio" (raw terminal,
 * restored at close and at exit), a host path (tty or file), "tcp=addr:port"
 * (server, one client at a time, later clients are closed at once).
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
#include <sys/types.h>

struct chardev;
struct evloop;

/* Open the backend named by spec; NULL with a message in err on failure. */
struct chardev *chardev_open(const char *spec, struct evloop *loop, char *err,
			     size_t errlen);
/* Call on the loop thread or when the loop is not running. */
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

#endif
