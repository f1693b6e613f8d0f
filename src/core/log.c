/* The leveled logger (see lhyve/log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lhyve/log.h"

/*
 * Process-wide logger settings: written once during start-up, before any
 * thread is created, read-only afterwards (the one documented exception to
 * the no-mutable-globals rule).
 */
static struct {
	const char *prog;
	enum log_level level;
	FILE *file;
} logger = { "lhyve", LOG_WARN, NULL };

void log_init(const char *prog)
{
	const char *env = getenv("LHYVE_LOG");

	logger.prog = prog;
	if (env) {
		if (!strcasecmp(env, "debug"))
			logger.level = LOG_DEBUG;
		else if (!strcasecmp(env, "info"))
			logger.level = LOG_INFO;
		else if (!strcasecmp(env, "warn"))
			logger.level = LOG_WARN;
		else if (!strcasecmp(env, "error"))
			logger.level = LOG_ERR;
	}
}

void log_set_level(enum log_level level) { logger.level = level; }
enum log_level log_get_level(void) { return logger.level; }
void log_set_file(FILE *f) { logger.file = f; }

void log_printf(enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > logger.level && !logger.file)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level <= logger.level) {
		/* The stdio console keeps OPOST on, so "\n" is enough on a raw tty. */
		fprintf(stderr, "%s: %s\n", logger.prog, msg);
	}
	if (logger.file) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(logger.file, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, logger.prog, msg);
		fflush(logger.file);
	}
}

bool ratelimit_allow(struct ratelimit *rl)
{
	uint64_t t = now_ns();

	if (rl->window_start == 0 || t - rl->window_start >= rl->interval_ns) {
		if (rl->suppressed)
			log_printf(LOG_WARN, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start = t;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < rl->burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}
