/*
 * bhyve(8) command line -> configuration tree. Every flag is a shorthand
 * that sets keys; values are checked later by config_validate() except
 * where bhyve itself rejects them while parsing (-c, -p, -s, -l, -o, -k).
 *
 * Not thread-safe: uses getopt(3), whose state is process-global; call it
 * from the main thread only. The getopt state is reset on every call.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lhyve/cli.h"
#include "lhyve/config.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"

#define CLI_EX_USAGE 64 /* EX_USAGE: bad option value */
#define CLI_EX_ERROR 4  /* bhyve's generic error status */

/* '+': stop at the first non-option; ':': report a missing argument as ':'. */
static const char cli_optstring[] = "+:aehuwxACDHIMPSWYk:f:o:p:G:c:s:m:n:l:K:U:r:";

static const struct {
	char flag;
	const char *key;
	const char *value;
} cli_bool_flags[] = {
	{ 'a', "x86.x2apic", "false" },
	{ 'x', "x86.x2apic", "true" },
	{ 'C', "memory.guest_in_core", "true" },
	{ 'D', "destroy_on_poweroff", "true" },
	{ 'e', "x86.strictio", "true" },
	{ 'H', "x86.vmexit_on_hlt", "true" },
	{ 'P', "x86.vmexit_on_pause", "true" },
	{ 'S', "memory.wired", "true" },
	{ 'u', "rtc.use_localtime", "false" },
	{ 'W', "virtio_msix", "false" },
	{ 'w', "x86.strictmsr", "false" },
	{ 'Y', "x86.mptable", "false" },
};

static const struct {
	char flag;
	const char *what;
} cli_unimplemented[] = {
	{ 'G', "gdb debug server" },
	{ 'f', "fw_cfg file" },
	{ 'K', "VNC keyboard layout" },
	{ 'r', "snapshot restore" },
	{ 'n', "NUMA domain" },
	{ 'M', "monitor mode" },
};

void cli_usage(FILE *f)
{
	fputs("Usage: bhyve [-aCDeHhPSuWwxY]\n"
	      "       [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n"
	      "       [-k config_file] [-l lpcdev[,conf]]\n"
	      "       [-m memsize[K|k|M|m|G|g|T|t]] [-o var=value]\n"
	      "       [-p vcpu:hostcpu] [-s slot,emulation[,conf]] [-U uuid] vmname\n"
	      "       bhyve -l help\n"
	      "       bhyve -s help\n"
	      "       -a: local APIC in xAPIC mode (the default)\n"
	      "       -C: include guest memory in core dumps\n"
	      "       -c: number of vCPUs and CPU topology\n"
	      "       -D: destroy the VM on guest power-off (always done)\n"
	      "       -e: exit on access to an unemulated I/O port\n"
	      "       -H: exit from the guest on HLT (no effect on KVM)\n"
	      "       -h: show this help\n"
	      "       -k: read key=value configuration lines from a file\n"
	      "       -l: LPC device configuration (see -l help)\n"
	      "       -m: guest memory size (default unit: MiB)\n"
	      "       -o: set a configuration variable (bhyve_config(5))\n"
	      "       -P: exit from the guest on PAUSE (no effect on KVM)\n"
	      "       -p: pin a vCPU to a host CPU\n"
	      "       -S: wire (lock) guest memory\n"
	      "       -s: PCI slot configuration (see -s help)\n"
	      "       -U: SMBIOS system UUID\n"
	      "       -u: RTC keeps UTC time\n"
	      "       -W: use MSI instead of MSI-X for virtio devices\n"
	      "       -w: ignore accesses to unimplemented MSRs\n"
	      "       -x: local APIC in x2APIC mode\n"
	      "       -Y: do not build an MP table\n",
	      f);
}

void cli_set_defaults(struct config *cfg)
{
	/* Constant keys and values: these cannot fail except on ENOMEM. */
	config_set(cfg, "acpi_tables", "true");
	config_set(cfg, "acpi_tables_in_memory", "true");
	config_set(cfg, "memory.size", "256M");
	config_set(cfg, "x86.strictmsr", "true");
}

/* Decimal number in [min, max] spanning exactly s[0..len). */
static bool cli_number(const char *s, size_t len, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* -c [[cpus=]n][,sockets=n][,cores=n][,threads=n] */
static int cli_topology(struct config *cfg, const char *opt)
{
	unsigned long v[4] = { 1, 1, 1, 1 }; /* cpus sockets cores threads */
	static const char *const names[4] = { "cpus", "sockets", "cores", "threads" };
	bool ncpus_set = false, topo_set = false;
	const char *p = opt;
	char buf[16];

	/* "" means one vCPU; otherwise walk the comma-separated items. */
	while (*opt) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		int idx = -1;

		if (!eq) {
			idx = 0;
			eq = p - 1;
		} else {
			for (int i = 0; i < 4; i++)
				if ((size_t)(eq - p) == strlen(names[i]) &&
				    memcmp(p, names[i], strlen(names[i])) == 0)
					idx = i;
			if (idx < 0)
				return -EINVAL;
		}
		if (!cli_number(eq + 1, len - (size_t)(eq + 1 - p), 1, CONFIG_MAX_CPUS, &v[idx]))
			return -EINVAL;
		if (idx == 0)
			ncpus_set = true;
		else
			topo_set = true;
		if (!end)
			break;
		p = end + 1;
	}
	if (!topo_set)
		v[1] = v[0];
	if (v[1] * v[2] * v[3] > CONFIG_MAX_CPUS)
		return -EINVAL;
	if (ncpus_set && v[0] != v[1] * v[2] * v[3])
		return -EINVAL;
	v[0] = v[1] * v[2] * v[3];
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "%lu", v[i]);
		if (config_set(cfg, names[i], buf))
			return -EINVAL;
	}
	return 0;
}

/* -p vcpu:hostcpu, appended to vcpu.N.cpuset */
static int cli_pin(struct config *cfg, const char *opt)
{
	const char *colon = strchr(opt, ':'), *old;
	unsigned long vcpu, host;
	char key[40], *val;
	int rc;

	if (!colon || !cli_number(opt, (size_t)(colon - opt), 0, CONFIG_MAX_CPUS - 1, &vcpu) ||
	    !cli_number(colon + 1, strlen(colon + 1), 0, CONFIG_CPUSET_MAX - 1, &host))
		return -EINVAL;
	snprintf(key, sizeof(key), "vcpu.%lu.cpuset", vcpu);
	old = config_get_raw(cfg, key);
	if (old)
		rc = asprintf(&val, "%s,%lu", old, host);
	else
		rc = asprintf(&val, "%lu", host);
	if (rc < 0)
		return -ENOMEM;
	rc = config_set(cfg, key, val);
	free(val);
	return rc;
}

/* -s slot,emulation[,conf]; returns CLI_CONTINUE or an exit status. */
static int cli_pci_slot(struct config *cfg, const char *opt, FILE *out, FILE *err)
{
	unsigned long num[3], bus = 0, slot, func = 0;
	const struct pci_model *m;
	char *str, *emul, *conf = NULL, *p, node[32], msg[200] = "";
	int nparts = 0, ret = CLI_EX_ERROR, rc;

	if (strcmp(opt, "help") == 0) {
		for (size_t i = 0; (m = pci_model_at(i)); i++)
			fprintf(out, "%-16s %s\n", m->name, m->desc ? m->desc : "");
		return 0;
	}
	str = strdup(opt);
	if (!str) {
		fprintf(err, "bhyve: out of memory\n");
		return CLI_EX_ERROR;
	}
	emul = strchr(str, ',');
	if (!emul)
		goto bad_slot;
	*emul++ = '\0';
	p = strchr(emul, ',');
	if (p) {
		*p = '\0';
		conf = p + 1;
	}
	for (p = str;;) {
		char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (nparts == 3 || !cli_number(p, len, 0, 255, &num[nparts]))
			goto bad_slot;
		nparts++;
		if (!colon)
			break;
		p = colon + 1;
	}
	slot = num[nparts == 3 ? 1 : 0];
	if (nparts == 3)
		bus = num[0];
	if (nparts >= 2)
		func = num[nparts - 1];
	if (slot > 31 || func > 7)
		goto bad_slot;
	snprintf(node, sizeof(node), "pci.%lu.%lu.%lu", bus, slot, func);
	if (config_has(cfg, node)) {
		fprintf(err, "bhyve: pci slot %lu:%lu:%lu already occupied\n", bus, slot, func);
		goto out;
	}
	m = pci_model_find(emul);
	if (!m) {
		fprintf(err, "bhyve: pci slot %lu:%lu:%lu: unknown device \"%s\"\n", bus, slot,
			func, emul);
		goto out;
	}
	{
		char key[48];
		snprintf(key, sizeof(key), "%s.device", node);
		if (config_set(cfg, key, emul)) {
			fprintf(err, "bhyve: pci slot %lu:%lu:%lu: cannot set device\n", bus, slot,
				func);
			goto out;
		}
	}
	if (m->legacy_config)
		rc = m->legacy_config(cfg, node, conf, msg, sizeof(msg));
	else
		rc = pci_legacy_config_generic(cfg, node, conf, msg, sizeof(msg));
	if (rc) {
		fprintf(err, "bhyve: pci slot %lu:%lu:%lu: %s\n", bus, slot, func,
			msg[0] ? msg : "invalid configuration");
		goto out;
	}
	ret = CLI_CONTINUE;
	goto out;
bad_slot:
	fprintf(err, "bhyve: invalid PCI slot info field \"%s\"\n", opt);
out:
	free(str);
	return ret;
}

/* -l help | comN,backend; returns CLI_CONTINUE or an exit status. */
static int cli_lpc(struct config *cfg, const char *opt, FILE *out, FILE *err)
{
	const char *comma = strchr(opt, ',');
	char key[32];

	if (strcmp(opt, "help") == 0) {
		for (int i = 1; i <= 4; i++)
			fprintf(out, "com%d\n", i);
		return 0;
	}
	if (comma && comma - opt == 4 && strncasecmp(opt, "com", 3) == 0 &&
	    opt[3] >= '1' && opt[3] <= '4' && comma[1] != '\0') {
		snprintf(key, sizeof(key), "lpc.com%c.path", opt[3]);
		if (config_set(cfg, key, comma + 1) == 0)
			return CLI_CONTINUE;
	}
	fprintf(err, "bhyve: invalid lpc device configuration '%s'\n", opt);
	return CLI_EX_USAGE;
}

static bool cli_blank(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* -k file: key=value lines; returns CLI_CONTINUE or an exit status. */
static int cli_config_file(struct config *cfg, const char *path, FILE *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = CLI_CONTINUE;

	if (!f) {
		fprintf(err, "bhyve: cannot read configuration file '%s': %s\n", path,
			strerror(errno));
		return CLI_EX_ERROR;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *s = line;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#' || cli_blank(s))
			continue;
		if ((size_t)len != strlen(line) || config_set_kv(cfg, line)) {
			fprintf(err, "bhyve: configuration file '%s' line %zu: invalid line\n",
				path, lineno);
			ret = CLI_EX_USAGE;
			goto out;
		}
	}
	if (ferror(f)) {
		fprintf(err, "bhyve: cannot read configuration file '%s': %s\n", path,
			strerror(errno));
		ret = CLI_EX_ERROR;
	}
out:
	free(line);
	fclose(f);
	return ret;
}

static int cli_usage_error(FILE *err)
{
	cli_usage(err);
	return 1;
}

static int cli_flag(int ch, struct config *cfg, FILE *out, FILE *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_bool_flags); i++) {
		if (cli_bool_flags[i].flag == ch) {
			if (config_set(cfg, cli_bool_flags[i].key, cli_bool_flags[i].value)) {
				fprintf(err, "bhyve: cannot set '%s'\n", cli_bool_flags[i].key);
				return CLI_EX_ERROR;
			}
			return CLI_CONTINUE;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(cli_unimplemented); i++) {
		if (cli_unimplemented[i].flag == ch) {
			fprintf(err, "bhyve: option -%c (%s) is not implemented\n", ch,
				cli_unimplemented[i].what);
			return 1;
		}
	}
	switch (ch) {
	case 'A': /* ACPI tables are always built */
	case 'I': /* an I/O APIC is always present */
		return CLI_CONTINUE;
	case 'c':
		if (cli_topology(cfg, optarg) == 0)
			return CLI_CONTINUE;
		fprintf(err, "bhyve: invalid cpu topology '%s'\n", optarg);
		return CLI_EX_USAGE;
	case 'm':
		if (config_set(cfg, "memory.size", optarg) == 0)
			return CLI_CONTINUE;
		fprintf(err, "bhyve: invalid memory size '%s'\n", optarg);
		return CLI_EX_USAGE;
	case 'o':
		if (config_set_kv(cfg, optarg) == 0)
			return CLI_CONTINUE;
		fprintf(err, "bhyve: invalid configuration option '%s'\n", optarg);
		return CLI_EX_USAGE;
	case 'k':
		return cli_config_file(cfg, optarg, err);
	case 'p':
		if (cli_pin(cfg, optarg) == 0)
			return CLI_CONTINUE;
		fprintf(err, "bhyve: invalid vcpu pinning configuration '%s'\n", optarg);
		return CLI_EX_USAGE;
	case 's':
		return cli_pci_slot(cfg, optarg, out, err);
	case 'l':
		return cli_lpc(cfg, optarg, out, err);
	case 'U':
		if (config_set(cfg, "uuid", optarg) == 0)
			return CLI_CONTINUE;
		fprintf(err, "bhyve: invalid uuid '%s'\n", optarg);
		return CLI_EX_USAGE;
	case 'h':
		cli_usage(out);
		return 0;
	case ':':
		fprintf(err, "bhyve: option requires an argument -- '%c'\n", optopt);
		return cli_usage_error(err);
	default:
		if (isprint(optopt))
			fprintf(err, "bhyve: invalid option -- '%c'\n", optopt);
		else
			fprintf(err, "bhyve: invalid option\n");
		return cli_usage_error(err);
	}
}

int cli_parse(int argc, char **argv, struct config *cfg, FILE *out, FILE *err)
{
	int ch, ret;

	optind = 0; /* glibc: full re-initialisation of getopt */
	opterr = 0;
	while ((ch = getopt(argc, argv, cli_optstring)) != -1) {
		ret = cli_flag(ch, cfg, out, err);
		if (ret != CLI_CONTINUE)
			return ret;
	}
	if (argc - optind > 1)
		return cli_usage_error(err);
	if (argc - optind == 1) {
		if (config_set(cfg, "name", argv[optind])) {
			fprintf(err, "bhyve: invalid VM name '%s'\n", argv[optind]);
			return CLI_EX_USAGE;
		}
	} else if (!config_get_raw(cfg, "name")) {
		return cli_usage_error(err);
	}
	return CLI_CONTINUE;
}
