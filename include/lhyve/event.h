/*
 * The event loop: epoll over file descriptors, timerfd timers and an eventfd
 * used to stop the loop. Callbacks run on the loop's thread. All functions
 * except evloop_run/evloop_run_once may be called from any thread.
 */
#ifndef LHYVE_EVENT_H
#define LHYVE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct ev_timer;
struct ev_poller;

/* events: EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR bits as delivered by epoll. */
typedef void (*ev_fd_fn)(void *opaque, uint32_t events);
typedef void (*ev_timer_fn)(void *opaque);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);

/* Watch fd for `events` (EPOLLIN, EPOLLOUT...), level-triggered. */
int ev_add_fd(struct evloop *loop, int fd, uint32_t events, ev_fd_fn fn,
	      void *opaque);
int ev_mod_fd(struct evloop *loop, int fd, uint32_t events);
int ev_del_fd(struct evloop *loop, int fd);

/* Timers (CLOCK_MONOTONIC timerfd). */
struct ev_timer *ev_timer_new(struct evloop *loop, ev_timer_fn fn, void *opaque);
/* Fire after first_ns, then every period_ns (0: once). first_ns 0 disarms. */
int ev_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t period_ns);
void ev_timer_free(struct ev_timer *t);

/*
 * Pollers: busy-polling on the loop thread instead of sleeping in epoll,
 * for work that arrives faster than a wake-up (a guest adding virtqueue
 * buffers with its kicks suppressed). While at least one poller is active
 * the loop waits with timeout 0 and calls every active poller's `poll` after
 * each round of fd events; `poll` returns true when it found work. A poller
 * that found nothing for `window_ns` (since it was started, last found work,
 * or was touched) gets `end`, which must re-arm the normal wake-up (turn
 * kicks back on) and return true if work arrived meanwhile: polling then
 * goes on, otherwise the poller becomes inactive.
 *
 * ev_poller_new/ev_poller_free: only while the loop is not running (device
 * creation and teardown). ev_poller_start: on the loop thread (from a
 * callback). ev_poller_touch: any thread; renews the window of an active
 * poller (e.g. an I/O completed, so the guest will soon add more work).
 */
typedef bool (*ev_poll_fn)(void *opaque);
struct ev_poller *ev_poller_new(struct evloop *loop, ev_poll_fn poll, ev_poll_fn end,
				void *opaque, uint64_t window_ns);
void ev_poller_start(struct ev_poller *p);
void ev_poller_touch(struct ev_poller *p);
void ev_poller_free(struct ev_poller *p);

/* Run until evloop_stop(); returns 0. */
int evloop_run(struct evloop *loop);
/* Process ready events once, waiting at most timeout_ms (-1: forever). */
int evloop_run_once(struct evloop *loop, int timeout_ms);
void evloop_stop(struct evloop *loop);

#endif
