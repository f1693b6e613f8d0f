/*
 * epoll event loop (see lhyve/event.h). Locking: the handler table is
 * protected by loop->lock; callbacks are called without it held, so they
 * may add or remove watches. A removed watch is never called afterwards
 * (dispatch re-checks the entry under the lock by generation).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lhyve/event.h"
#include "lhyve/log.h"

struct ev_watch {
	int fd;
	ev_fd_fn fn;
	void *opaque;
	uint64_t gen;
	struct ev_watch *next;
};

struct ev_poller {
	struct evloop *loop;
	ev_poll_fn poll, end;
	void *opaque;
	uint64_t window_ns;
	uint64_t last;  /* CLOCK_MONOTONIC ns of the last work; atomic */
	bool active;    /* loop thread only */
	struct ev_poller *next;
};

struct evloop {
	int epfd;
	int stopfd;
	int stop; /* atomic */
	pthread_mutex_t lock;
	struct ev_watch *watches;
	uint64_t next_gen;
	struct ev_poller *pollers; /* changed only while the loop is not running */
	unsigned nactive;          /* active pollers; loop thread only */
};

struct ev_timer {
	struct evloop *loop;
	int fd;
	ev_timer_fn fn;
	void *opaque;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	loop->next_gen = 1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stopfd < 0)
		goto err;
	ev.data.u64 = 0; /* generation 0 = the stop eventfd */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0)
		goto err;
	return loop;
err:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	free(loop);
	return NULL;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	/* Pollers belong to their owners, which free them before the loop. */
	while (loop->watches) {
		struct ev_watch *w = loop->watches;
		loop->watches = w->next;
		free(w);
	}
	close(loop->epfd);
	close(loop->stopfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int ev_add_fd(struct evloop *loop, int fd, uint32_t events, ev_fd_fn fn, void *opaque)
{
	struct ev_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	pthread_mutex_lock(&loop->lock);
	w->gen = loop->next_gen++;
	ev.data.u64 = w->gen;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		pthread_mutex_unlock(&loop->lock);
		free(w);
		return e;
	}
	w->next = loop->watches;
	loop->watches = w;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct ev_watch *find_fd(struct evloop *loop, int fd, struct ev_watch ***link)
{
	for (struct ev_watch **pp = &loop->watches; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

int ev_mod_fd(struct evloop *loop, int fd, uint32_t events)
{
	int rc = 0;
	struct ev_watch *w;

	pthread_mutex_lock(&loop->lock);
	w = find_fd(loop, fd, NULL);
	if (!w) {
		rc = -ENOENT;
	} else {
		struct epoll_event ev = { .events = events, .data.u64 = w->gen };
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			rc = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

int ev_del_fd(struct evloop *loop, int fd)
{
	struct ev_watch **link, *w;
	int rc = 0;

	pthread_mutex_lock(&loop->lock);
	w = find_fd(loop, fd, &link);
	if (!w) {
		rc = -ENOENT;
	} else {
		*link = w->next;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		free(w);
	}
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

static void timer_cb(void *opaque, uint32_t events)
{
	struct ev_timer *t = opaque;
	uint64_t n;

	if (read(t->fd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n > 0)
		t->fn(t->opaque);
}

struct ev_timer *ev_timer_new(struct evloop *loop, ev_timer_fn fn, void *opaque)
{
	struct ev_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->fn = fn;
	t->opaque = opaque;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0 || ev_add_fd(loop, t->fd, EPOLLIN, timer_cb, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

int ev_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { (time_t)(first_ns / 1000000000ULL), (long)(first_ns % 1000000000ULL) },
		.it_interval = { (time_t)(period_ns / 1000000000ULL), (long)(period_ns % 1000000000ULL) },
	};

	if (first_ns == 0)
		memset(&its, 0, sizeof(its));
	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void ev_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	ev_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}

static uint64_t ev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct ev_poller *ev_poller_new(struct evloop *loop, ev_poll_fn poll, ev_poll_fn end,
				void *opaque, uint64_t window_ns)
{
	struct ev_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->loop = loop;
	p->poll = poll;
	p->end = end;
	p->opaque = opaque;
	p->window_ns = window_ns;
	pthread_mutex_lock(&loop->lock);
	p->next = loop->pollers;
	loop->pollers = p;
	pthread_mutex_unlock(&loop->lock);
	return p;
}

void ev_poller_start(struct ev_poller *p)
{
	__atomic_store_n(&p->last, ev_now_ns(), __ATOMIC_RELAXED);
	if (!p->active) {
		p->active = true;
		p->loop->nactive++;
	}
}

void ev_poller_touch(struct ev_poller *p)
{
	__atomic_store_n(&p->last, ev_now_ns(), __ATOMIC_RELAXED);
}

void ev_poller_free(struct ev_poller *p)
{
	struct evloop *loop;

	if (!p)
		return;
	loop = p->loop;
	pthread_mutex_lock(&loop->lock);
	for (struct ev_poller **pp = &loop->pollers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->active)
		loop->nactive--;
	pthread_mutex_unlock(&loop->lock);
	free(p);
}

/*
 * One round over the active pollers (loop thread). A round that found no
 * work yields the CPU: kernel threads doing the I/O we wait for (io_uring
 * workers, writeback, the network stack) may need it.
 */
static void ev_run_pollers(struct evloop *loop)
{
	uint64_t now = 0;
	bool work = false;

	for (struct ev_poller *p = loop->pollers; p; p = p->next) {
		if (!p->active)
			continue;
		if (p->poll(p->opaque)) {
			now = ev_now_ns();
			__atomic_store_n(&p->last, now, __ATOMIC_RELAXED);
			work = true;
			continue;
		}
		if (!now)
			now = ev_now_ns();
		if (now - __atomic_load_n(&p->last, __ATOMIC_RELAXED) < p->window_ns)
			continue;
		if (p->end(p->opaque)) {
			__atomic_store_n(&p->last, now, __ATOMIC_RELAXED);
			continue;
		}
		p->active = false;
		loop->nactive--;
	}
	if (!work && loop->nactive)
		sched_yield();
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, loop->nactive ? 0 : timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint64_t gen = evs[i].data.u64;
		ev_fd_fn fn = NULL;
		void *opaque = NULL;

		if (gen == 0) {
			uint64_t v;
			if (read(loop->stopfd, &v, sizeof(v)) < 0) {
				/* nothing to drain */
			}
			continue;
		}
		pthread_mutex_lock(&loop->lock);
		for (struct ev_watch *w = loop->watches; w; w = w->next)
			if (w->gen == gen) {
				fn = w->fn;
				opaque = w->opaque;
				break;
			}
		pthread_mutex_unlock(&loop->lock);
		if (fn)
			fn(opaque, evs[i].events);
	}
	if (loop->nactive)
		ev_run_pollers(loop);
	return n;
}

int evloop_run(struct evloop *loop)
{
	while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
		int rc = evloop_run_once(loop, -1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	uint64_t one = 1;

	__atomic_store_n(&loop->stop, 1, __ATOMIC_RELEASE);
	if (write(loop->stopfd, &one, sizeof(one)) < 0) {
		/* counter saturated: the loop is waking anyway */
	}
}
