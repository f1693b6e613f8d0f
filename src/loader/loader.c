/*
 * Direct kernel boot: reading the kernel and initrd files, format detection
 * and dispatch, and the helpers shared by the format loaders (placement in
 * guest RAM, command line, error formatting). See lhyve/loader.h.
 *
 * No state is kept between calls; the loader runs once per boot on the
 * main thread before any vCPU runs, so it needs no locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhyve/loader.h"
#include "lhyve/x86_platform.h"
#include "elf_load.h"

void loader_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *loader_kname(const struct boot_spec *spec)
{
	return spec && spec->kernel ? spec->kernel : "<memory>";
}

const char *loader_iname(const struct boot_spec *spec)
{
	return spec && spec->initrd ? spec->initrd : "<memory>";
}

const char *loader_basename(const char *path)
{
	const char *s;

	if (!path)
		return "";
	s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static unsigned long long loader_mib(uint64_t bytes)
{
	return (unsigned long long)((bytes + MiB - 1) / MiB);
}

static uint64_t loader_ram_size(const struct guest_mem *gm)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < gm->nregions && i < GM_MAX_REGIONS; i++)
		total += gm->region[i].size;
	return total;
}

int loader_read_file(const char *what, const char *path, uint64_t max,
		     uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t done = 0, size;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		loader_errf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		loader_errf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		loader_errf(err, errlen, "%s %s: not a regular file", what, path);
		goto err_close;
	}
	if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX - 1) {
		ret = -EFBIG;
		if (!strcmp(what, "initrd"))
			loader_errf(err, errlen,
				    "initrd %s (%llu MiB) does not fit in guest RAM",
				    path, loader_mib((uint64_t)st.st_size));
		else
			loader_errf(err, errlen,
				    "%s %s (%llu MiB) is larger than guest RAM (%llu MiB)",
				    what, path, loader_mib((uint64_t)st.st_size),
				    loader_mib(max));
		goto err_close;
	}
	size = (size_t)st.st_size;
	b = malloc(size ? size : 1);
	if (!b) {
		ret = -ENOMEM;
		loader_errf(err, errlen, "%s %s: out of memory (%llu MiB)", what,
			    path, loader_mib(size));
		goto err_close;
	}
	while (done < size) {
		ssize_t n = read(fd, b + done, size - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			loader_errf(err, errlen, "%s %s: %s", what, path,
				    strerror(errno));
			goto err_free;
		}
		if (n == 0) {
			ret = -EIO;
			loader_errf(err, errlen, "%s %s: file shrank while reading",
				    what, path);
			goto err_free;
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = size;
	return 0;

err_free:
	free(b);
err_close:
	close(fd);
	return ret;
}

int loader_initrd_get(const struct boot_spec *spec, const struct guest_mem *gm,
		      struct loader_blob *b, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int ret;

	memset(b, 0, sizeof(*b));
	if (spec->initrd_data) {
		b->data = spec->initrd_data;
		b->len = spec->initrd_size;
		b->present = true;
		return 0;
	}
	if (!spec->initrd)
		return 0;
	ret = loader_read_file("initrd", spec->initrd, loader_ram_size(gm), &buf,
			       &len, err, errlen);
	if (ret < 0)
		return ret;
	b->data = buf;
	b->len = len;
	b->owned = buf;
	b->present = true;
	return 0;
}

void loader_blob_free(struct loader_blob *b)
{
	free(b->owned);
	memset(b, 0, sizeof(*b));
}

bool loader_in_ram(const struct guest_mem *gm, const struct e820_map *e820,
		   uint64_t addr, uint64_t size)
{
	if (size == 0 || addr + size < addr)
		return false;
	if (!gm_ptr(gm, addr, size))
		return false;
	for (unsigned i = 0; i < e820->n && i < E820_MAX; i++) {
		const struct e820_entry *e = &e820->e[i];
		if (e->type != E820_RAM || e->addr + e->size < e->addr)
			continue;
		if (addr >= e->addr && addr + size <= e->addr + e->size)
			return true;
	}
	return false;
}

int loader_place_high(const struct guest_mem *gm, const struct e820_map *e820,
		      uint64_t size, uint64_t limit,
		      const struct loader_range *avoid, unsigned navoid,
		      uint64_t *addr)
{
	bool found = false;
	uint64_t best = 0;

	if (size == 0 || size > limit)
		return -ENOSPC;
	for (unsigned i = 0; i < e820->n && i < E820_MAX; i++) {
		const struct e820_entry *e = &e820->e[i];
		uint64_t lo, top;

		if (e->type != E820_RAM || e->addr + e->size < e->addr)
			continue;
		lo = MAX(e->addr, LOADER_LOW_RESERVED);
		top = MIN(e->addr + e->size, limit);
		/* Each step lowers top below an avoided range, so this ends. */
		for (;;) {
			uint64_t cand;
			unsigned j;

			if (top < lo || top - lo < size)
				break;
			cand = ALIGN_DOWN(top - size, LOADER_PAGE);
			if (cand < lo)
				break;
			for (j = 0; j < navoid; j++)
				if (cand < avoid[j].end && avoid[j].start < cand + size)
					break;
			if (j < navoid) {
				top = avoid[j].start;
				continue;
			}
			if (gm_ptr(gm, cand, size) && (!found || cand > best)) {
				best = cand;
				found = true;
			}
			break;
		}
	}
	if (!found)
		return -ENOSPC;
	*addr = best;
	return 0;
}

int loader_initrd_nofit(const struct boot_spec *spec, uint64_t len, char *err,
			size_t errlen)
{
	loader_errf(err, errlen, "initrd %s (%llu MiB) does not fit in guest RAM",
		    loader_iname(spec), loader_mib(len));
	return -ENOMEM;
}

int loader_initrd_put(const struct boot_spec *spec, struct guest_mem *gm,
		      const struct e820_map *e820, const struct loader_blob *rd,
		      uint64_t limit, const struct loader_range *avoid,
		      uint64_t *addr, char *err, size_t errlen)
{
	if (rd->len > UINT32_MAX ||
	    loader_place_high(gm, e820, rd->len, limit, avoid, 1, addr) < 0)
		return loader_initrd_nofit(spec, rd->len, err, errlen);
	if (gm_write(gm, *addr, rd->data, rd->len) < 0)
		return -EFAULT; /* placement checked gm_ptr */
	return 0;
}

int loader_cmdline_write(const struct boot_spec *spec, struct guest_mem *gm,
			 size_t maxlen, const char *proto, char *err, size_t errlen)
{
	const char *cl = spec->cmdline ? spec->cmdline : "";
	size_t n = strlen(cl);

	if (maxlen > PLAT_CMDLINE_MAX - 1)
		maxlen = PLAT_CMDLINE_MAX - 1;
	if (n > maxlen) {
		loader_errf(err, errlen,
			    "kernel %s: command line is %zu bytes, %s allows at most %zu",
			    loader_kname(spec), n, proto, maxlen);
		return -E2BIG;
	}
	if (gm_write(gm, PLAT_CMDLINE, cl, n + 1) < 0) {
		loader_errf(err, errlen,
			    "kernel %s: no guest RAM for the command line at 0x%x",
			    loader_kname(spec), PLAT_CMDLINE);
		return -EFAULT;
	}
	return 0;
}

int loader_load(const struct boot_spec *spec, struct guest_mem *gm,
		const struct e820_map *e820, uint64_t rsdp_gpa,
		struct boot_info *bi, char *err, size_t errlen)
{
	struct boot_spec s;
	uint8_t *kimg = NULL, *ibuf = NULL;
	size_t klen = 0, ilen = 0;
	uint64_t ram;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !spec->kernel || !gm || !e820 || !bi) {
		loader_errf(err, errlen, "loader: no kernel given");
		return -EINVAL;
	}
	memset(bi, 0, sizeof(*bi));
	ram = loader_ram_size(gm);
	ret = loader_read_file("kernel", spec->kernel, ram, &kimg, &klen, err,
			       errlen);
	if (ret < 0)
		goto err_out;
	if (klen == 0) {
		ret = -ENOEXEC;
		loader_errf(err, errlen, "kernel %s: empty file", spec->kernel);
		goto err_kernel;
	}
	s = *spec;
	if (!s.initrd_data && s.initrd) {
		ret = loader_read_file("initrd", s.initrd, ram, &ibuf, &ilen,
				       err, errlen);
		if (ret < 0)
			goto err_kernel;
		s.initrd_data = ibuf;
		s.initrd_size = ilen;
	}

	if (bzimage_probe(kimg, klen))
		ret = bzimage_load(kimg, klen, &s, gm, e820, rsdp_gpa, bi, err, errlen);
	else if (pvh_probe(kimg, klen))
		ret = pvh_load(kimg, klen, &s, gm, e820, rsdp_gpa, bi, err, errlen);
	else if (multiboot_probe(kimg, klen))
		ret = multiboot_load(kimg, klen, &s, gm, e820, rsdp_gpa, bi, err,
				     errlen);
	else {
		ret = -ENOEXEC;
		loader_errf(err, errlen,
			    "kernel %s: not a bzImage, PVH ELF or multiboot kernel",
			    spec->kernel);
	}

	free(ibuf);
err_kernel:
	free(kimg);
err_out:
	return ret;
}
