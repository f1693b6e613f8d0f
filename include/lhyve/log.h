/*
 * The one leveled logger. Every message goes to stderr as "<prog>: <text>\n"
 * (and, once set, also to a log file). The program name and level are the
 * only process-wide mutable state in lhyve; they are set once at start-up
 * before any thread exists.
 */
#ifndef LHYVE_LOG_H
#define LHYVE_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "util.h"

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set the prefix printed before every message (e.g. "bhyve"). */
void log_init(const char *prog);
/* Messages above this level are dropped (default LOG_WARN; LHYVE_LOG=debug env). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also append messages (timestamped) to this file; NULL stops. */
void log_set_file(FILE *f);
void log_printf(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_err(...) log_printf(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

/*
 * Rate limiting for messages a guest can trigger: at most `burst` messages
 * per `interval_ns`; the number suppressed is reported with the next one.
 * Not thread-safe by itself: keep one per device softc under its lock.
 */
struct ratelimit {
	uint64_t interval_ns;
	unsigned burst;
	uint64_t window_start;
	unsigned count;
	unsigned suppressed;
};
#define RATELIMIT_INIT { 5000000000ULL, 10, 0, 0, 0 }
bool ratelimit_allow(struct ratelimit *rl);

#define log_rl(rl, level, ...)                                   \
	do {                                                     \
		if (ratelimit_allow(rl))                         \
			log_printf(level, __VA_ARGS__);          \
	} while (0)

#endif
