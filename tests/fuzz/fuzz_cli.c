/*
 * bhyve(8) command line (src/cli.c): argv built from the input (one
 * argument per NUL-separated field, at most 32), parsed into a fresh
 * configuration tree which is then validated and dumped. Every -s/-l/-o/-p
 * /-c/-m/-U/... option parser runs on fuzzed text.
 *
 * -k reads a file: to keep the harness away from host files, inputs that
 * pass -k themselves are skipped, and when the first byte's bit 0 is set
 * the harness writes the rest of the input after a 0xff byte into a file
 * in its temporary directory and appends "-k <file>" itself.
 */
#include <fcntl.h>

#include "fuzz.h"
#include "lhyve/cli.h"
#include "lhyve/config.h"

#define FZ_CLI_MAXARGS 32

/* True if getopt could see option 'k' in arg (an option cluster). */
static bool fz_cli_has_k(const char *arg)
{
	return arg[0] == '-' && arg[1] != '-' && strchr(arg, 'k');
}

FUZZ_TARGET(cli)
{
	char *argv[FZ_CLI_MAXARGS + 4];
	int argc = 0;
	struct fz in;
	char *ob = NULL, *eb = NULL, kpath[128] = "";
	size_t ol = 0, el = 0;

	fz_init(&in, data, size);
	uint8_t flags = fz_u8(&in);
	const uint8_t *conf = memchr(data, 0xff, size);
	size_t argbytes = conf ? (size_t)(conf - data) : size;
	argv[argc++] = strdup("bhyve");
	in.n = argbytes;
	bool skip = false;
	while (fz_left(&in) && argc < FZ_CLI_MAXARGS) {
		argv[argc] = fz_str(&in, 0, 512);
		if (fz_cli_has_k(argv[argc]))
			skip = true;
		argc++;
	}
	if ((flags & 1) && conf && !skip) {
		snprintf(kpath, sizeof(kpath), "%s/fuzz.conf", fz_tmpdir());
		int fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		size_t n = size - argbytes - 1;
		if (fd < 0 || (n && write(fd, conf + 1, n) != (ssize_t)n))
			abort();
		close(fd);
		/* Before the VM name (getopt stops at the first non-option). */
		memmove(argv + 3, argv + 1, (size_t)(argc - 1) * sizeof(argv[0]));
		argv[1] = strdup("-k");
		argv[2] = strdup(kpath);
		argc += 2;
	}
	argv[argc] = NULL;
	if (!skip) {
		struct config *cfg = config_new();
		FILE *out = open_memstream(&ob, &ol), *err = open_memstream(&eb, &el);
		char msg[512];
		if (!cfg || !out || !err)
			abort();
		cli_set_defaults(cfg);
		int rc = cli_parse(argc, argv, cfg, out, err);
		if (rc == CLI_CONTINUE) {
			config_validate(cfg, msg, sizeof(msg));
			config_dump(cfg, out);
		}
		fclose(out);
		fclose(err);
		free(ob);
		free(eb);
		config_free(cfg);
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
