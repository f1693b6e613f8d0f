/*
 * Runtime registry of VMs (see lhyve/registry.h).
 *
 * Locking: the flock on an entry's "pid" file. Whoever removes the pid file
 * (bhyve at exit, a tool cleaning a stale entry) does it while holding the
 * lock; a locker that then finds its open pid file unlinked (inode check)
 * retries, so two processes never both believe they own one entry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhyve/registry.h"

#define REG_NAME_MAX 128
#define REG_RETRIES 16

struct registry {
	char dir[PATH_MAX];
	char pidfile[PATH_MAX];
	int lockfd;
	/*
	 * The owner (registry_claim) remembers the consoles file it wrote, so
	 * its clean-up at exit reads no file by path (bhyve's sandbox forbids
	 * opening files then). NULL for tools: they read the file.
	 */
	bool owner;
	char *consoles;
};

/* Files a running bhyve owns; removed at exit and when found stale. */
static const char *const reg_runtime_files[] = {
	"config", "info", "consoles", "ctl.sock", NULL,
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

bool registry_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > REG_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

const char *registry_state_name(enum registry_state s)
{
	switch (s) {
	case REGISTRY_RUNNING:
		return "running";
	case REGISTRY_PREPARED:
		return "prepared";
	case REGISTRY_STALE:
		break;
	}
	return "stale";
}

static int reg_join(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

ssize_t registry_read_file(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n, got = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	if (reg_join(path, sizeof(path), dir, file) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

int registry_kv(const char *text, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t vl = strcspn(v, "\n");
			if (vl >= outlen)
				return -ENAMETOOLONG;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Remove the /dev/nmdmNB-style links an owner published: listed in `known`
 * (the owner's own copy) or, when NULL, in the consoles file (dead owner).
 */
static void reg_unlink_published(const char *dir, const char *known)
{
	char text[2048], port[16], kind[16], link[PATH_MAX], target[PATH_MAX], cur[PATH_MAX];
	const char *p = known ? known : text;

	if (!known && registry_read_file(dir, "consoles", text, sizeof(text)) <= 0)
		return;
	while (p && *p) {
		char line[2 * PATH_MAX + 64];
		size_t l = strcspn(p, "\n");

		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			if (sscanf(line, "%15s %15s %4095s %4095s", port, kind, link, target) == 4 &&
			    strcmp(kind, "nmdm") == 0) {
				ssize_t n = readlink(link, cur, sizeof(cur) - 1);
				if (n > 0) {
					cur[n] = '\0';
					if (strcmp(cur, target) == 0)
						unlink(link);
				}
			}
		}
		p = p[l] ? p + l + 1 : NULL;
	}
}

static void reg_remove_runtime(const char *dir, const char *known)
{
	char path[PATH_MAX];

	reg_unlink_published(dir, known);
	for (unsigned i = 0; reg_runtime_files[i]; i++)
		if (reg_join(path, sizeof(path), dir, reg_runtime_files[i]) == 0)
			unlink(path);
}

/* Remove every file of the entry except the lock file (caller holds it). */
static void reg_remove_all(const char *dir, const char *known)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX];

	reg_unlink_published(dir, known); /* the runtime files go with the rest */
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "pid"))
			continue;
		if (reg_join(path, sizeof(path), dir, de->d_name) == 0)
			unlink(path);
	}
	closedir(d);
}

static bool reg_has_bootspec(const char *dir)
{
	char path[PATH_MAX];

	return reg_join(path, sizeof(path), dir, "bootspec") == 0 && access(path, F_OK) == 0;
}

/*
 * Open and lock dir/pid. create: make dir and pid file if missing. Returns
 * the locked fd, -EBUSY (pid of the holder in *holder) or -errno.
 */
static int reg_lock_dir(const char *dir, const char *pidfile, bool create, long *holder)
{
	for (int tries = 0; tries < REG_RETRIES; tries++) {
		struct stat a, b;
		int fd;

		if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(pidfile, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
		if (fd < 0) {
			if (errno == ENOENT && create)
				continue; /* the directory went away under us */
			return -errno;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			char buf[32] = "";
			ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			*holder = strtol(buf, NULL, 10);
			close(fd);
			return -EBUSY;
		}
		if (fstat(fd, &a) == 0 && stat(pidfile, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd); /* unlinked by its previous owner meanwhile: retry */
		if (!create)
			return -ENOENT;
	}
	return -EAGAIN;
}

static int reg_open(const char *name, bool create, struct registry **out, char *err,
		    size_t errlen)
{
	char rundir[PATH_MAX];
	struct registry *r;
	long holder = 0;
	int rc;

	if (!registry_name_ok(name)) {
		snprintf(err, errlen, "invalid VM name '%s'", name);
		return -EINVAL;
	}
	if ((rc = registry_rundir(rundir, sizeof(rundir))) < 0) {
		snprintf(err, errlen, "cannot create run directory %s: %s", rundir, strerror(-rc));
		return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->lockfd = -1;
	if (reg_join(r->dir, sizeof(r->dir), rundir, name) < 0 ||
	    reg_join(r->pidfile, sizeof(r->pidfile), r->dir, "pid") < 0) {
		snprintf(err, errlen, "VM name too long for the run directory");
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	rc = reg_lock_dir(r->dir, r->pidfile, create, &holder);
	if (rc == -EBUSY) {
		if (holder > 0)
			snprintf(err, errlen, "VM '%s' is already running (pid %ld)", name, holder);
		else
			snprintf(err, errlen, "VM '%s' is busy (another tool holds it)", name);
		goto err_free;
	}
	if (rc == -ENOENT && !create) {
		snprintf(err, errlen, "VM '%s' does not exist", name);
		goto err_free;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", r->pidfile, strerror(-rc));
		goto err_free;
	}
	r->lockfd = rc;
	*out = r;
	return 0;
err_free:
	free(r);
	return rc;
}

int registry_lock(const char *name, bool create, struct registry **out, char *err,
		  size_t errlen)
{
	return reg_open(name, create, out, err, errlen);
}

int registry_claim(const char *name, struct registry **out, char *err, size_t errlen)
{
	struct registry *r;
	char pid[32];
	int rc, len;

	rc = reg_open(name, true, &r, err, errlen);
	if (rc < 0)
		return rc;
	reg_remove_runtime(r->dir, NULL); /* whatever a killed owner left */
	r->owner = true;
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(r->lockfd, 0) < 0 || pwrite(r->lockfd, pid, (size_t)len, 0) != len) {
		rc = -errno;
		snprintf(err, errlen, "cannot write %s: %s", r->pidfile, strerror(errno));
		registry_release(r);
		return rc;
	}
	*out = r;
	return 0;
}

const char *registry_dir(const struct registry *r) { return r->dir; }

int registry_path(const struct registry *r, const char *file, char *buf, size_t len)
{
	return reg_join(buf, len, r->dir, file);
}

int registry_write_file(struct registry *r, const char *file, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *p = data;
	int fd, rc = 0;

	if (reg_join(path, sizeof(path), r->dir, file) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	if (rc == 0 && r->owner && strcmp(file, "consoles") == 0) {
		char *copy = strndup(data, (size_t)(p - (const char *)data));
		if (copy) {
			free(r->consoles);
			r->consoles = copy;
		}
	}
	return rc;
}

/* What the clean-up of r's entry uses as the list of published links. */
static const char *reg_known_consoles(const struct registry *r)
{
	if (!r->owner)
		return NULL;
	return r->consoles ? r->consoles : "";
}

void registry_remove_file(struct registry *r, const char *file)
{
	char path[PATH_MAX];

	if (reg_join(path, sizeof(path), r->dir, file) == 0)
		unlink(path);
}

static void reg_close(struct registry *r, bool keep)
{
	if (!keep) {
		reg_remove_all(r->dir, reg_known_consoles(r));
		unlink(r->pidfile); /* under the lock: see the inode check */
		rmdir(r->dir);
	}
	close(r->lockfd);
	free(r->consoles);
	free(r);
}

void registry_release(struct registry *r)
{
	if (!r)
		return;
	if (reg_has_bootspec(r->dir)) {
		reg_remove_runtime(r->dir, reg_known_consoles(r));
		if (ftruncate(r->lockfd, 0) < 0) {
			/* harmless: the pid is only read while the lock is held */
		}
		reg_close(r, true);
	} else {
		reg_close(r, false);
	}
}

void registry_destroy(struct registry *r)
{
	if (r)
		reg_close(r, false);
}

/* ---- boot spec ---- */

static bool bs_clean(const char *s)
{
	return !strpbrk(s, "\n\r");
}

int registry_bootspec_write(struct registry *r, const struct registry_bootspec *bs)
{
	size_t cap = sizeof(*bs) + 128;
	char *buf;
	int n, rc;

	if (!bs->kernel[0] || !bs_clean(bs->kernel) || !bs_clean(bs->initrd) ||
	    !bs_clean(bs->cmdline) || bs->memsize == 0)
		return -EINVAL;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	n = snprintf(buf, cap, "kernel=%s\ninitrd=%s\ncmdline=%s\nmemsize=%llu\n", bs->kernel,
		     bs->initrd, bs->cmdline, (unsigned long long)bs->memsize);
	rc = n < 0 || (size_t)n >= cap ? -ENAMETOOLONG
				       : registry_write_file(r, "bootspec", buf, (size_t)n);
	free(buf);
	return rc;
}

int registry_bootspec_read(const char *dir, struct registry_bootspec *bs)
{
	size_t cap = sizeof(*bs) + 128;
	char *buf, num[32], *end;
	ssize_t n;
	int rc = -EINVAL;

	memset(bs, 0, sizeof(*bs));
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	n = registry_read_file(dir, "bootspec", buf, cap);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (registry_kv(buf, "kernel", bs->kernel, sizeof(bs->kernel)) < 0 || !bs->kernel[0] ||
	    registry_kv(buf, "memsize", num, sizeof(num)) < 0)
		goto out;
	registry_kv(buf, "initrd", bs->initrd, sizeof(bs->initrd));
	registry_kv(buf, "cmdline", bs->cmdline, sizeof(bs->cmdline));
	errno = 0;
	bs->memsize = strtoull(num, &end, 10);
	if (errno || *end || end == num || bs->memsize == 0)
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---- lookup and listing ---- */

/* State of the entry at dir; a stale entry is removed (returns STALE). */
static enum registry_state reg_probe(const char *dir, long *pid)
{
	char pidfile[PATH_MAX];
	long holder = 0;
	int fd;

	*pid = 0;
	if (reg_join(pidfile, sizeof(pidfile), dir, "pid") < 0)
		return REGISTRY_STALE;
	fd = reg_lock_dir(dir, pidfile, false, &holder);
	if (fd == -EBUSY) {
		*pid = holder;
		/* A tool holding the lock briefly writes no pid: not running. */
		if (holder > 0 && (kill((pid_t)holder, 0) == 0 || errno != ESRCH))
			return REGISTRY_RUNNING;
		*pid = 0;
		return reg_has_bootspec(dir) ? REGISTRY_PREPARED : REGISTRY_STALE;
	}
	if (fd == -ENOENT) {
		/* No lock file: only a bootspec-holding entry has none. */
		if (reg_has_bootspec(dir))
			return REGISTRY_PREPARED;
		if (access(dir, F_OK) == 0) {
			/* Lock it (creating the file) to clean it safely. */
			fd = reg_lock_dir(dir, pidfile, true, &holder);
			if (fd == -EBUSY) {
				*pid = holder;
				return holder > 0 ? REGISTRY_RUNNING : REGISTRY_STALE;
			}
		}
	}
	if (fd < 0)
		return REGISTRY_STALE;
	if (reg_has_bootspec(dir)) {
		reg_remove_runtime(dir, NULL);
		close(fd);
		return REGISTRY_PREPARED;
	}
	reg_remove_all(dir, NULL);
	unlink(pidfile);
	rmdir(dir);
	close(fd);
	return REGISTRY_STALE;
}

int registry_lookup(const char *name, struct registry_entry *e)
{
	char rundir[PATH_MAX];
	struct stat st;
	int rc;

	if (!registry_name_ok(name))
		return -EINVAL;
	if ((rc = registry_rundir(rundir, sizeof(rundir))) < 0)
		return rc;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (reg_join(e->dir, sizeof(e->dir), rundir, name) < 0)
		return -ENAMETOOLONG;
	if (lstat(e->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	e->state = reg_probe(e->dir, &e->pid);
	return e->state == REGISTRY_STALE ? -ESTALE : 0;
}

static int reg_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int registry_foreach(int (*fn)(void *opaque, const struct registry_entry *e), void *opaque)
{
	char rundir[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc;

	if ((rc = registry_rundir(rundir, sizeof(rundir))) < 0)
		return rc;
	d = opendir(rundir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!registry_name_ok(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*names));
			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), reg_cmp);
	for (size_t i = 0; i < n; i++) {
		struct registry_entry e;
		if (rc == 0 && registry_lookup(names[i], &e) == 0)
			rc = fn(opaque, &e);
		free(names[i]);
	}
	free(names);
	return rc;
}
