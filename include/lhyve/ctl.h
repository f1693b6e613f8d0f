/*
 * The per-VM control socket (ctl.sock in the registry entry) and its client.
 *
 * Protocol (see docs/design.md): the client sends one request line of at
 * most CTL_REQ_MAX bytes including the '\n' (printable ASCII words); the
 * server answers "OK <n>\n" followed by exactly n bytes of body, or
 * "ERR <errno> <message>\n". Requests on one connection are answered in
 * order. "console comN" answers "OK 0\n" and turns the connection into the
 * raw console stream (history, then live output; input goes to the UART).
 *
 * Commands: help, info, stats [CPU], regs CPU, nmi CPU, reset, poweroff,
 * destroy, console comN.
 *
 * Threads: the server lives entirely on the VM's event-loop thread (accept,
 * reads, replies, vcpu_call()); it has no lock of its own.
 */
#ifndef LHYVE_CTL_H
#define LHYVE_CTL_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_REQ_MAX 256
#define CTL_MAX_CONNS 16
#define CTL_BACKLOG 64 /* listen backlog: bursts of clients wait here */
#define CTL_BODY_MAX (1024 * 1024)

struct ctl;
struct vm;

/*
 * Listen on path (an existing file there is replaced: the caller owns the
 * registry entry) and serve requests on vm->loop. NULL with err on failure.
 */
struct ctl *ctl_start(struct vm *vm, const char *path, char *err, size_t errlen);
/* Close the listener and every connection; removes the socket file. Loop thread or loop stopped. */
void ctl_stop(struct ctl *c);
/* True once a client asked for "destroy" (bhyve then removes the whole entry). */
bool ctl_destroyed(const struct ctl *c);

/* ---- client side (ctl_client.c), for bhyvectl ---- */

/* Connect to the control socket at path; fd or -errno (message in err). */
int ctl_client_connect(const char *path, char *err, size_t errlen);
/*
 * Send one request and read the reply. 0 with a malloc'ed NUL-terminated
 * body (*body, *len; free it) on OK; on ERR -errno from the reply with its
 * message in err; -EIO/-EPROTO/... with a message on transport errors.
 */
int ctl_client_request(int fd, const char *req, char **body, size_t *len, char *err,
		       size_t errlen);

#endif
