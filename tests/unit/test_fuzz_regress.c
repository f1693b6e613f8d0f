/*
 * Replays every committed fuzz input through the same entry points the
 * libFuzzer harnesses use (tests/fuzz/fuzz_*.c are #included here, built
 * with the ordinary compiler and no libFuzzer): the seed corpora in
 * tests/fuzz/corpus/<name>/ and the inputs of crashes that were found and
 * fixed in tests/fuzz/regress/<name>/. A regression shows up as a crash or
 * hang here, or as a sanitizer report under `make check SANITIZE=1`.
 * LHYVE_FUZZ_DIR overrides the tests/fuzz directory (default: relative to
 * the current directory, the repository root under `make check`).
 */
#include <dirent.h>
#include <sys/stat.h>

#include "../fuzz/fuzz_bzimage.c"
#include "../fuzz/fuzz_cli.c"
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_ctl.c"
#include "../fuzz/fuzz_i8042.c"
#include "../fuzz/fuzz_ioapic.c"
#include "../fuzz/fuzz_multiboot.c"
#include "../fuzz/fuzz_pci.c"
#include "../fuzz/fuzz_pic.c"
#include "../fuzz/fuzz_pit.c"
#include "../fuzz/fuzz_pm.c"
#include "../fuzz/fuzz_pvh.c"
#include "../fuzz/fuzz_rtc.c"
#include "../fuzz/fuzz_uart.c"
#include "../fuzz/fuzz_virtio_blk.c"
#include "../fuzz/fuzz_virtio_console.c"
#include "../fuzz/fuzz_virtio_net.c"
#include "../fuzz/fuzz_virtio_pci.c"
#include "../fuzz/fuzz_virtio_rnd.c"
#include "../fuzz/fuzz_virtqueue.c"

static const struct {
	const char *name;
	int (*fn)(const uint8_t *data, size_t size);
} harnesses[] = {
	{ "bzimage", fuzz_bzimage },
	{ "cli", fuzz_cli },
	{ "config", fuzz_config },
	{ "ctl", fuzz_ctl },
	{ "i8042", fuzz_i8042 },
	{ "ioapic", fuzz_ioapic },
	{ "multiboot", fuzz_multiboot },
	{ "pci", fuzz_pci },
	{ "pic", fuzz_pic },
	{ "pit", fuzz_pit },
	{ "pm", fuzz_pm },
	{ "pvh", fuzz_pvh },
	{ "rtc", fuzz_rtc },
	{ "uart", fuzz_uart },
	{ "virtio_blk", fuzz_virtio_blk },
	{ "virtio_console", fuzz_virtio_console },
	{ "virtio_net", fuzz_virtio_net },
	{ "virtio_pci", fuzz_virtio_pci },
	{ "virtio_rnd", fuzz_virtio_rnd },
	{ "virtqueue", fuzz_virtqueue },
};

static unsigned replayed;

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* Replay every regular file in dir through fn; 0 files is fine. */
static void replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t))
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		size_t len = 0;
		uint8_t *buf;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		buf = read_all(path, &len);
		CHECK(buf != NULL);
		if (!buf)
			continue;
		CHECK_EQ(fn(buf, len), 0);
		free(buf);
		replayed++;
	}
	closedir(d);
}

static void test_replay(void)
{
	const char *base = getenv("LHYVE_FUZZ_DIR");
	char dir[512];

	if (!base)
		base = "tests/fuzz";
	snprintf(dir, sizeof(dir), "%s/corpus", base);
	CHECK(access(dir, F_OK) == 0); /* run from the repository root */
	for (size_t i = 0; i < ARRAY_SIZE(harnesses); i++) {
		unit_current = harnesses[i].name;
		snprintf(dir, sizeof(dir), "%s/corpus/%s", base, harnesses[i].name);
		replay_dir(dir, harnesses[i].fn);
		snprintf(dir, sizeof(dir), "%s/regress/%s", base, harnesses[i].name);
		replay_dir(dir, harnesses[i].fn);
	}
	/* Empty and tiny inputs for every harness. */
	static const uint8_t tiny[4] = { 0xff, 0, 0x80, 1 };
	for (size_t i = 0; i < ARRAY_SIZE(harnesses); i++)
		for (size_t n = 0; n <= sizeof(tiny); n++)
			CHECK_EQ(harnesses[i].fn(tiny, n), 0);
}

int main(void)
{
	fuzz_quiet();
	RUN(test_replay);
	fprintf(stderr, "replayed %u fuzz inputs\n", replayed);
	return unit_report();
}
