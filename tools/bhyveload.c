/*
 * bhyveload: the first step of FreeBSD's two-step boot, for Linux kernels.
 * It records a boot spec (kernel, initrd, command line, memory size) in the
 * VM's registry entry; a following `bhyve ... NAME` without boot.kernel
 * boots it. See docs/bhyveload.8.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/registry.h"

struct bload {
	const char *hostdir;  /* -h as given */
	char hostroot[PATH_MAX]; /* realpath of -h */
	const char *kernel, *initrd, *cmdline; /* -e values */
	const char *disk;
	uint64_t memsize;
	const char *name;
};

static void bload_usage(void)
{
	fprintf(stderr,
		"usage: bhyveload [-CS] [-c cons-dev] [-d disk-path] [-e name=value]\n"
		"                 [-h host-path] [-m memsize[K|M|G|T]] vmname\n"
		"  -e kernel=PATH, -e initrd=PATH, -e cmdline=TEXT (see bhyveload(8))\n");
}

/*
 * Resolve a kernel/initrd path: "host0:P" or (with -h) any P is looked up
 * inside the host directory and may not leave it; without -h, P is a host
 * path. Must be a readable regular file. 0 with the absolute path in out.
 */
static int bload_resolve(const struct bload *b, const char *what, const char *p, char *out)
{
	char joined[PATH_MAX * 2];
	struct stat st;
	bool host = false;

	if (!strncmp(p, "host0:", 6)) {
		p += 6;
		host = true;
		if (!b->hostdir) {
			fprintf(stderr, "bhyveload: %s=host0:%s needs -h host-path\n", what, p);
			return -EINVAL;
		}
	}
	if (b->hostdir || host) {
		while (*p == '/')
			p++;
		snprintf(joined, sizeof(joined), "%s/%s", b->hostroot, p);
	} else {
		snprintf(joined, sizeof(joined), "%s", p);
	}
	if (!realpath(joined, out)) {
		fprintf(stderr, "bhyveload: %s %s: %s\n", what, joined, strerror(errno));
		return -errno;
	}
	if (b->hostdir) {
		size_t rl = strlen(b->hostroot);
		if (strncmp(out, b->hostroot, rl) != 0 || (out[rl] != '/' && rl > 1)) {
			fprintf(stderr, "bhyveload: %s %s leaves the host directory %s\n", what, p,
				b->hostdir);
			return -EPERM;
		}
	}
	if (stat(out, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "bhyveload: %s %s is not a regular file\n", what, out);
		return -EINVAL;
	}
	if (access(out, R_OK) < 0) {
		fprintf(stderr, "bhyveload: %s %s: %s\n", what, out, strerror(errno));
		return -errno;
	}
	return 0;
}

/* dir/prefix* with exactly one match (e.g. vmlinuz-6.1.0); 0 or -ENOENT. */
static int bload_glob_one(const char *dir, const char *prefix, char *out, size_t len)
{
	struct dirent *de;
	int found = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (found++ == 0 && snprintf(out, len, "%s/%s", dir, de->d_name) >= (int)len)
			found = 2; /* does not fit: treat as ambiguous */
	}
	closedir(d);
	return found == 1 ? 0 : -ENOENT;
}

static bool bload_is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Default kernel in -h: boot/vmlinuz, vmlinuz, boot/bzImage, bzImage, then
 * the only boot/vmlinuz-* or vmlinuz-* (what `make install INSTALL_PATH=`
 * leaves). Also picks a matching initrd next to it when none was given.
 */
static int bload_default_kernel(const struct bload *b, char *kernel, char *initrd)
{
	static const char *const names[] = { "boot/vmlinuz", "vmlinuz", "boot/bzImage",
					     "bzImage", NULL };
	char p[PATH_MAX * 2], dir[PATH_MAX * 2];

	initrd[0] = '\0';
	for (unsigned i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", b->hostroot, names[i]);
		if (bload_is_file(p))
			return bload_resolve(b, "kernel", names[i], kernel);
	}
	for (unsigned i = 0; i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s%s", b->hostroot, i ? "" : "/boot");
		if (bload_glob_one(dir, "vmlinuz-", p, sizeof(p)) < 0)
			continue;
		if (bload_resolve(b, "kernel", p + strlen(b->hostroot), kernel) < 0)
			return -EINVAL;
		if (!b->initrd) {
			const char *ver = strrchr(kernel, '/') + strlen("/vmlinuz-");
			char cand[PATH_MAX * 2];
			int n = snprintf(cand, sizeof(cand), "%s/initrd.img-%s", dir, ver);
			if (n < (int)sizeof(cand) && !bload_is_file(cand))
				n = snprintf(cand, sizeof(cand), "%s/initramfs-%s.img", dir, ver);
			if (n < (int)sizeof(cand) && bload_is_file(cand) &&
			    bload_resolve(b, "initrd", cand + strlen(b->hostroot), initrd) < 0)
				return -EINVAL;
		}
		return 0;
	}
	fprintf(stderr, "bhyveload: no kernel found in %s (looked for boot/vmlinuz, vmlinuz, "
		"boot/bzImage, bzImage and a single [boot/]vmlinuz-*); use -e kernel=PATH\n",
		b->hostdir);
	return -ENOENT;
}

static int bload_setenv(struct bload *b, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv) {
		fprintf(stderr, "bhyveload: -e %s: expected name=value\n", kv);
		return -EINVAL;
	}
	if (strpbrk(kv, "\n\r")) {
		fprintf(stderr, "bhyveload: -e values cannot contain newlines\n");
		return -EINVAL;
	}
	size_t nl = (size_t)(eq - kv);
	if (nl == 6 && !strncmp(kv, "kernel", 6))
		b->kernel = eq + 1;
	else if (nl == 6 && !strncmp(kv, "initrd", 6))
		b->initrd = eq + 1;
	else if (nl == 7 && !strncmp(kv, "cmdline", 7))
		b->cmdline = eq + 1;
	else
		fprintf(stderr, "bhyveload: -e %.*s: ignored (lhyve knows kernel=, initrd=, "
			"cmdline=)\n", (int)nl, kv);
	return 0;
}

int main(int argc, char **argv)
{
	struct bload b = { .memsize = 256ULL << 20 };
	struct registry_bootspec *bs;
	struct registry *r;
	char err[512];
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "CSc:d:e:h:l:m:")) != -1) {
		switch (opt) {
		case 'C':
		case 'S':
			break; /* bhyve's own -C/-S decide; accepted for compatibility */
		case 'c':
			break; /* no interactive loader stage: nothing uses a loader console */
		case 'd':
			if (access(optarg, R_OK) < 0) {
				fprintf(stderr, "bhyveload: -d %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			b.disk = optarg;
			break;
		case 'e':
			if (bload_setenv(&b, optarg) < 0)
				return 1;
			break;
		case 'h':
			b.hostdir = optarg;
			break;
		case 'l':
			fprintf(stderr, "bhyveload: -l: lhyve has no userboot loaders; it boots Linux "
				"kernels directly (-h, -e kernel=)\n");
			return 1;
		case 'm':
			if (config_parse_memsize(optarg, &b.memsize) < 0 || b.memsize == 0) {
				fprintf(stderr, "bhyveload: invalid memory size '%s'\n", optarg);
				return 1;
			}
			break;
		default:
			bload_usage();
			return 1;
		}
	}
	if (optind != argc - 1) {
		bload_usage();
		return 1;
	}
	b.name = argv[optind];
	if (!registry_name_ok(b.name)) {
		fprintf(stderr, "bhyveload: invalid VM name '%s'\n", b.name);
		return 1;
	}
	if (b.hostdir) {
		struct stat st;
		if (!realpath(b.hostdir, b.hostroot) || stat(b.hostroot, &st) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "bhyveload: -h %s: not a directory\n", b.hostdir);
			return 1;
		}
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs) {
		fprintf(stderr, "bhyveload: out of memory\n");
		return 1;
	}
	bs->memsize = b.memsize;
	if (b.kernel) {
		if (bload_resolve(&b, "kernel", b.kernel, bs->kernel) < 0)
			goto out;
	} else if (b.hostdir) {
		if (bload_default_kernel(&b, bs->kernel, bs->initrd) < 0)
			goto out;
	} else if (b.disk) {
		fprintf(stderr, "bhyveload: -d %s: lhyve cannot read a kernel out of a disk image; "
			"give the kernel with -h host-path or -e kernel=PATH\n", b.disk);
		goto out;
	} else {
		fprintf(stderr, "bhyveload: nothing to boot: give -h host-path or -e kernel=PATH\n");
		goto out;
	}
	if (b.initrd && bload_resolve(&b, "initrd", b.initrd, bs->initrd) < 0)
		goto out;
	snprintf(bs->cmdline, sizeof(bs->cmdline), "%s", b.cmdline ? b.cmdline : "console=ttyS0");
	if (b.cmdline && strlen(b.cmdline) >= sizeof(bs->cmdline)) {
		fprintf(stderr, "bhyveload: cmdline longer than %zu bytes\n", sizeof(bs->cmdline) - 1);
		goto out;
	}
	if (registry_lock(b.name, true, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "bhyveload: %s\n", err);
		goto out;
	}
	int wrc = registry_bootspec_write(r, bs);
	if (wrc < 0) {
		fprintf(stderr, "bhyveload: cannot write the boot spec of VM '%s': %s\n", b.name,
			strerror(-wrc));
		registry_release(r);
		goto out;
	}
	registry_release(r);
	rc = 0;
out:
	free(bs);
	return rc;
}
