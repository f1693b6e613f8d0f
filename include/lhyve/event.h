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

/* Run until evloop_stop(); returns 0. */
int evloop_run(struct evloop *loop);
/* Process ready events once, waiting at most timeout_ms (-1: forever). */
int evloop_run_once(struct evloop *loop, int timeout_ms);
void evloop_stop(struct evloop *loop);

#endif
