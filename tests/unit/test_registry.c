/* Runtime registry: claim, lock, boot spec, lookup, listing, stale entries. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "lhyve/registry.h"

static char rundir[64];

static bool exists(const char *name, const char *file)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s%s%s", rundir, name, file ? "/" : "", file ? file : "");
	return access(p, F_OK) == 0;
}

static void test_names(void)
{
	CHECK(registry_name_ok("vm1"));
	CHECK(registry_name_ok("a.b-c_d"));
	CHECK(!registry_name_ok(""));
	CHECK(!registry_name_ok(".hidden"));
	CHECK(!registry_name_ok("a/b"));
	CHECK(!registry_name_ok("tab\there"));
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!registry_name_ok(longname));

	char out[16];
	CHECK_EQ(registry_kv("a=1\nbb=22\nb=3\n", "b", out, sizeof(out)), 0);
	CHECK_STR(out, "3");
	CHECK_EQ(registry_kv("a=1\n", "b", out, sizeof(out)), -ENOENT);
	CHECK_EQ(registry_kv("a=0123456789012345678\n", "a", out, sizeof(out)), -ENAMETOOLONG);
}

static int count_cb(void *opaque, const struct registry_entry *e)
{
	(*(int *)opaque)++;
	return 0;
}

static void test_claim(void)
{
	struct registry *r = NULL, *r2 = NULL;
	struct registry_entry e;
	char err[256] = "", buf[64];
	struct stat st;
	int n = 0;

	CHECK_EQ(registry_claim("one", &r, err, sizeof(err)), 0);
	CHECK(stat(registry_dir(r), &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(registry_read_file(registry_dir(r), "pid", buf, sizeof(buf)) > 0);
	CHECK_EQ(atol(buf), getpid());
	/* A second claim (another open file description) is refused. */
	CHECK_EQ(registry_claim("one", &r2, err, sizeof(err)), -EBUSY);
	snprintf(buf, sizeof(buf), "already running (pid %ld)", (long)getpid());
	CHECK(strstr(err, buf) != NULL);
	CHECK_EQ(registry_lock("one", false, &r2, err, sizeof(err)), -EBUSY);
	CHECK_EQ(registry_lookup("one", &e), 0);
	CHECK_EQ(e.state, REGISTRY_RUNNING);
	CHECK_EQ(e.pid, getpid());
	CHECK_EQ(registry_foreach(count_cb, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(registry_write_file(r, "consoles", "com1 stdio -\n", 13), 0);
	CHECK(exists("one", "consoles"));
	registry_release(r);
	CHECK(!exists("one", NULL));
	CHECK_EQ(registry_lookup("one", &e), -ENOENT);
	CHECK_EQ(registry_lock("one", false, &r2, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "does not exist") != NULL);
	CHECK_EQ(registry_claim("bad/name", &r2, err, sizeof(err)), -EINVAL);
}

static void test_bootspec(void)
{
	struct registry *r = NULL;
	struct registry_bootspec bs, got;
	struct registry_entry e;
	char err[256] = "";

	memset(&bs, 0, sizeof(bs));
	snprintf(bs.kernel, sizeof(bs.kernel), "/boot/vmlinuz");
	snprintf(bs.cmdline, sizeof(bs.cmdline), "console=ttyS0 root=/dev/vda");
	bs.memsize = 512ULL << 20;
	CHECK_EQ(registry_lock("prep", true, &r, err, sizeof(err)), 0);
	CHECK_EQ(registry_bootspec_write(r, &bs), 0);
	registry_release(r);
	CHECK(exists("prep", "bootspec"));
	CHECK_EQ(registry_lookup("prep", &e), 0);
	CHECK_EQ(e.state, REGISTRY_PREPARED);
	CHECK_EQ(e.pid, 0);
	CHECK_EQ(registry_bootspec_read(e.dir, &got), 0);
	CHECK_STR(got.kernel, "/boot/vmlinuz");
	CHECK_STR(got.initrd, "");
	CHECK_STR(got.cmdline, "console=ttyS0 root=/dev/vda");
	CHECK_EQ(got.memsize, 512ULL << 20);

	/* A bhyve run keeps the spec; its runtime files go. */
	CHECK_EQ(registry_claim("prep", &r, err, sizeof(err)), 0);
	CHECK_EQ(registry_write_file(r, "info", "vcpus=1\n", 8), 0);
	registry_release(r);
	CHECK(exists("prep", "bootspec") && !exists("prep", "info"));

	/* Invalid specs are refused; a malformed file is reported. */
	CHECK_EQ(registry_lock("prep", false, &r, err, sizeof(err)), 0);
	snprintf(bs.cmdline, sizeof(bs.cmdline), "two\nlines");
	CHECK_EQ(registry_bootspec_write(r, &bs), -EINVAL);
	bs.cmdline[0] = '\0';
	bs.memsize = 0;
	CHECK_EQ(registry_bootspec_write(r, &bs), -EINVAL);
	CHECK_EQ(registry_write_file(r, "bootspec", "kernel=/k\nmemsize=12x\n", 22), 0);
	CHECK_EQ(registry_bootspec_read(registry_dir(r), &got), -EINVAL);
	registry_destroy(r);
	CHECK(!exists("prep", NULL));
	CHECK_EQ(registry_bootspec_read("/nonexistent", &got), -ENOENT);
}

static void test_stale(void)
{
	struct registry *r = NULL;
	struct registry_entry e;
	char err[256], link[128], target[128];
	pid_t pid;
	int status, n = 0;

	/* A child claims and dies without cleaning up (like SIGKILL). */
	snprintf(link, sizeof(link), "%s/nmdm9B", rundir);
	snprintf(target, sizeof(target), "/dev/pts/4242");
	pid = fork();
	if (pid == 0) {
		char text[300];
		if (registry_claim("dead", &r, err, sizeof(err)) < 0)
			_exit(1);
		snprintf(text, sizeof(text), "com1 nmdm %s %s\n", link, target);
		registry_write_file(r, "consoles", text, strlen(text));
		registry_write_file(r, "ctl.sock", "", 0);
		if (symlink(target, link) < 0)
			_exit(2);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(exists("dead", "ctl.sock"));
	CHECK_EQ(registry_lookup("dead", &e), -ESTALE);
	CHECK(!exists("dead", NULL));
	CHECK(access(link, F_OK) < 0 && errno == ENOENT);
	struct stat st;
	CHECK(lstat(link, &st) < 0); /* the dangling link went too */

	/* The same left-overs are reused by the next claim. */
	pid = fork();
	if (pid == 0)
		_exit(registry_claim("dead2", &r, err, sizeof(err)) < 0);
	CHECK(waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == 0);
	CHECK(exists("dead2", "pid"));
	CHECK_EQ(registry_claim("dead2", &r, err, sizeof(err)), 0);
	registry_release(r);
	CHECK(!exists("dead2", NULL));

	/* Listing removes stale entries and skips junk names. */
	char p[200];
	snprintf(p, sizeof(p), "%s/junk", rundir);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/.hidden", rundir);
	CHECK(mkdir(p, 0700) == 0);
	CHECK_EQ(registry_foreach(count_cb, &n), 0);
	CHECK_EQ(n, 0);
	CHECK(!exists("junk", NULL));
	CHECK(exists(".hidden", NULL));
	rmdir(p);
}

int main(void)
{
	snprintf(rundir, sizeof(rundir), "/tmp/lhyve-test-reg.XXXXXX");
	if (!mkdtemp(rundir))
		return 1;
	setenv("BHYVE_RUNDIR", rundir, 1);
	RUN(test_names);
	RUN(test_claim);
	RUN(test_bootspec);
	RUN(test_stale);
	rmdir(rundir);
	return unit_report();
}
