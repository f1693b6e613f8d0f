/* Runtime registry of running VMs (see lhyve/registry.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhyve/registry.h"

struct registry {
	char dir[PATH_MAX];
	char pidfile[PATH_MAX];
	int lockfd;
};

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int registry_rundir(char *buf, size_t len)
{
	const char *env = getenv("BHYVE_RUNDIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/bhyve");
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/bhyve", xdg);
	else
		n = snprintf(buf, len, "/tmp/bhyve-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return mkdir_p(buf, 0700);
}

int registry_claim(const char *name, struct registry **out, char *err, size_t errlen)
{
	char rundir[PATH_MAX];
	struct registry *r;
	int rc;

	if ((rc = registry_rundir(rundir, sizeof(rundir))) < 0) {
		snprintf(err, errlen, "cannot create run directory %s: %s", rundir, strerror(-rc));
		return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lockfd = -1;
	if (snprintf(r->dir, sizeof(r->dir), "%s/%s", rundir, name) >= (int)sizeof(r->dir) ||
	    snprintf(r->pidfile, sizeof(r->pidfile), "%s/pid", r->dir) >= (int)sizeof(r->pidfile)) {
		snprintf(err, errlen, "VM name too long for the run directory");
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", r->dir, strerror(errno));
		goto err_free;
	}
	r->lockfd = open(r->pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lockfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", r->pidfile, strerror(errno));
		goto err_free;
	}
	if (flock(r->lockfd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(r->lockfd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "VM '%s' is already running (pid %s)", name,
			 *buf ? buf : "unknown");
		close(r->lockfd);
		free(r);
		return -EBUSY;
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(r->lockfd, 0) < 0 || pwrite(r->lockfd, pid, (size_t)len, 0) != len) {
		rc = -errno;
		snprintf(err, errlen, "cannot write %s: %s", r->pidfile, strerror(errno));
		goto err_close;
	}
	*out = r;
	return 0;
err_close:
	unlink(r->pidfile);
	rmdir(r->dir);
	close(r->lockfd);
err_free:
	free(r);
	return rc;
}

const char *registry_dir(const struct registry *r) { return r->dir; }

void registry_release(struct registry *r)
{
	if (!r)
		return;
	unlink(r->pidfile);
	rmdir(r->dir);
	close(r->lockfd);
	free(r);
}
