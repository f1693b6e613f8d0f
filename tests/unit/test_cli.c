/* Unit tests: bhyve(8) command line -> configuration tree. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "unit.h"
#include "lhyve/cli.h"
#include "lhyve/config.h"
#include "lhyve/util.h"

struct run {
	struct config *cfg;
	int rc;
	char *out, *err;
};

static void run_free(struct run *r)
{
	config_free(r->cfg);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Parse "bhyve <args...>" (NULL-terminated) on a tree with the defaults. */
static void run_args(struct run *r, ...)
{
	char *argv[64];
	int argc = 0;
	size_t olen = 0, elen = 0;
	FILE *out, *err;
	va_list ap;

	memset(r, 0, sizeof(*r));
	argv[argc++] = (char *)"bhyve";
	va_start(ap, r);
	for (char *a; (a = va_arg(ap, char *)) && argc < 63;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	r->cfg = config_new();
	cli_set_defaults(r->cfg);
	out = open_memstream(&r->out, &olen);
	err = open_memstream(&r->err, &elen);
	r->rc = cli_parse(argc, argv, r->cfg, out, err);
	fclose(out);
	fclose(err);
}

#define RUN_ARGS(r, ...) run_args(r, __VA_ARGS__, (char *)NULL)

/* rc and exact one-line message on err. */
static void expect_err(struct run *r, int rc, const char *msg)
{
	char line[512];

	CHECK_EQ(r->rc, rc);
	snprintf(line, sizeof(line), "bhyve: %s\n", msg);
	CHECK_STR(r->err, line);
}

static const char *get(struct run *r, const char *key)
{
	return config_get(r->cfg, key);
}

static void test_defaults(void)
{
	struct run r;

	RUN_ARGS(&r, "vm0");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "name"), "vm0");
	CHECK_STR(get(&r, "acpi_tables"), "true");
	CHECK_STR(get(&r, "acpi_tables_in_memory"), "true");
	CHECK_STR(get(&r, "memory.size"), "256M");
	CHECK_STR(get(&r, "x86.strictmsr"), "true");
	CHECK_STR(r.out, "");
	CHECK_STR(r.err, "");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
}

static void test_bool_flags(void)
{
	static const struct {
		const char *flag, *key, *value;
	} t[] = {
		{ "-a", "x86.x2apic", "false" },	{ "-x", "x86.x2apic", "true" },
		{ "-C", "memory.guest_in_core", "true" }, { "-D", "destroy_on_poweroff", "true" },
		{ "-e", "x86.strictio", "true" },	{ "-H", "x86.vmexit_on_hlt", "true" },
		{ "-P", "x86.vmexit_on_pause", "true" }, { "-S", "memory.wired", "true" },
		{ "-u", "rtc.use_localtime", "false" },	{ "-W", "virtio_msix", "false" },
		{ "-w", "x86.strictmsr", "false" },	{ "-Y", "x86.mptable", "false" },
	};
	struct run r;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		RUN_ARGS(&r, t[i].flag, "vm");
		CHECK_EQ(r.rc, CLI_CONTINUE);
		CHECK_STR(get(&r, t[i].key), t[i].value);
		CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
		run_free(&r);
	}
	/* Grouped flags, no-ops, last wins between -a and -x. */
	RUN_ARGS(&r, "-AIHPa", "-x", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "x86.x2apic"), "true");
	CHECK_STR(get(&r, "x86.vmexit_on_hlt"), "true");
	CHECK(!config_has(r.cfg, "A"));
	run_free(&r);
	RUN_ARGS(&r, "-x", "-a", "vm");
	CHECK_STR(get(&r, "x86.x2apic"), "false");
	run_free(&r);
	/* -o after a flag overrides it and vice versa. */
	RUN_ARGS(&r, "-w", "-o", "x86.strictmsr=true", "vm");
	CHECK_STR(get(&r, "x86.strictmsr"), "true");
	run_free(&r);
	RUN_ARGS(&r, "-o", "x86.strictmsr=yes", "-w", "vm");
	CHECK_STR(get(&r, "x86.strictmsr"), "false");
	run_free(&r);
}

static void test_topology(void)
{
	static const struct {
		const char *arg;
		const char *cpus, *sockets, *cores, *threads;
	} good[] = {
		{ "4", "4", "4", "1", "1" },
		{ "cpus=4", "4", "4", "1", "1" },
		{ "", "1", "1", "1", "1" },
		{ "sockets=2,cores=2", "4", "2", "2", "1" },
		{ "8,sockets=2,cores=2,threads=2", "8", "2", "2", "2" },
		{ "cpus=8,threads=2,cores=4", "8", "1", "4", "2" },
		{ "cores=3", "3", "1", "3", "1" },
		{ "threads=2", "2", "1", "1", "2" },
		{ "255", "255", "255", "1", "1" },
		{ "sockets=5,cores=51", "255", "5", "51", "1" },
	};
	static const char *const bad[] = {
		"0", "4,cores=3", "cpus=4,sockets=2", "x", "4,", ",4", "cpus=", "cpus",
		"sockets=0", "256", "4x", "-1", "cpus=2,", "bogus=2", "sockets=16,cores=16",
		"cpus=4,cpus", " 4",
	};
	struct run r;
	char msg[128];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		RUN_ARGS(&r, "-c", good[i].arg, "vm");
		CHECK_EQ(r.rc, CLI_CONTINUE);
		CHECK_STR(get(&r, "cpus"), good[i].cpus);
		CHECK_STR(get(&r, "sockets"), good[i].sockets);
		CHECK_STR(get(&r, "cores"), good[i].cores);
		CHECK_STR(get(&r, "threads"), good[i].threads);
		CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
		if (r.rc != CLI_CONTINUE)
			fprintf(stderr, "  -c '%s': %s", good[i].arg, r.err);
		run_free(&r);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		RUN_ARGS(&r, "-c", bad[i], "vm");
		snprintf(msg, sizeof(msg), "invalid cpu topology '%s'", bad[i]);
		expect_err(&r, 64, msg);
		run_free(&r);
	}
	/* Last -c wins. */
	RUN_ARGS(&r, "-c", "sockets=2,cores=2", "-c", "2", "vm");
	CHECK_STR(get(&r, "cpus"), "2");
	CHECK_STR(get(&r, "sockets"), "2");
	CHECK_STR(get(&r, "cores"), "1");
	run_free(&r);
}

static void test_memory_uuid(void)
{
	struct run r;
	char err[256];

	RUN_ARGS(&r, "-m", "2G", "-m", "1024", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "memory.size"), "1024");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	RUN_ARGS(&r, "-m", "lots", "vm"); /* rejected by validation */
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_EQ(config_validate(r.cfg, err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "invalid value 'lots' for key 'memory.size' (expected", 50) == 0);
	run_free(&r);
	RUN_ARGS(&r, "-U", "0b5ab8e4-4a0e-11ee-9b2b-000000000001", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "uuid"), "0b5ab8e4-4a0e-11ee-9b2b-000000000001");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	RUN_ARGS(&r, "-U", "not-a-uuid", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_EQ(config_validate(r.cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'uuid'") != NULL);
	run_free(&r);
}

static void test_o(void)
{
	struct run r;

	RUN_ARGS(&r, "-o", "bios.vendor=ACME", "-o", "bios.vendor=Other", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "bios.vendor"), "Other");
	run_free(&r);
	RUN_ARGS(&r, "-o", "name=fromkey"); /* name given by key: no positional needed */
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "name"), "fromkey");
	run_free(&r);
	RUN_ARGS(&r, "-o", "name=fromkey", "pos"); /* positional wins */
	CHECK_STR(get(&r, "name"), "pos");
	run_free(&r);
	RUN_ARGS(&r, "-o", "bios.vendor=", "vm");
	expect_err(&r, 64, "invalid configuration option 'bios.vendor='");
	run_free(&r);
	RUN_ARGS(&r, "-o", "novalue", "vm");
	expect_err(&r, 64, "invalid configuration option 'novalue'");
	run_free(&r);
	RUN_ARGS(&r, "-o", "=x", "vm");
	expect_err(&r, 64, "invalid configuration option '=x'");
	run_free(&r);
	RUN_ARGS(&r, "-o", "memory.size.x=1", "vm"); /* memory.size is a leaf */
	expect_err(&r, 64, "invalid configuration option 'memory.size.x=1'");
	run_free(&r);
	/* Unknown keys pass parsing and fail validation. */
	RUN_ARGS(&r, "-o", "memory.sise=1G", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	{
		char err[128];
		CHECK_EQ(config_validate(r.cfg, err, sizeof(err)), -EINVAL);
		CHECK_STR(err, "unknown configuration key 'memory.sise'");
	}
	run_free(&r);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_cli_XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	return path;
}

static void test_k(void)
{
	char *p1 = write_tmp("# comment\n\nname=vm-from-file\n  # indented comment\n"
			     "memory.size=1G\nbios.vendor=file\r\n   \n"
			     "lpc.com1.path=stdio\nbios.version=%(name)");
	char *p2 = write_tmp("memory.size=2G\nbad line here\n");
	char *p3 = write_tmp("memory.size = 2G\n");
	char *p4 = write_tmp("a=b\nbios.vendor=\n");
	struct run r;
	char msg[256];

	RUN_ARGS(&r, "-k", p1);
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "name"), "vm-from-file");
	CHECK_STR(get(&r, "memory.size"), "1G");
	CHECK_STR(get(&r, "bios.vendor"), "file");
	CHECK_STR(get(&r, "bios.version"), "vm-from-file");
	CHECK_STR(get(&r, "lpc.com1.path"), "stdio");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	/* -k and -o apply in command-line order. */
	RUN_ARGS(&r, "-o", "memory.size=4G", "-k", p1, "vm");
	CHECK_STR(get(&r, "memory.size"), "1G");
	CHECK_STR(get(&r, "name"), "vm");
	run_free(&r);
	RUN_ARGS(&r, "-k", p1, "-o", "memory.size=4G", "-m", "3G", "vm");
	CHECK_STR(get(&r, "memory.size"), "3G");
	run_free(&r);
	RUN_ARGS(&r, "-k", p1, "-o", "memory.size=4G", "vm");
	CHECK_STR(get(&r, "memory.size"), "4G");
	run_free(&r);
	RUN_ARGS(&r, "-k", p2, "vm");
	snprintf(msg, sizeof(msg), "configuration file '%s' line 2: invalid line", p2);
	expect_err(&r, 64, msg);
	run_free(&r);
	RUN_ARGS(&r, "-k", p3, "vm");
	snprintf(msg, sizeof(msg), "configuration file '%s' line 1: invalid line", p3);
	expect_err(&r, 64, msg);
	run_free(&r);
	RUN_ARGS(&r, "-k", p4, "vm");
	snprintf(msg, sizeof(msg), "configuration file '%s' line 2: invalid line", p4);
	expect_err(&r, 64, msg);
	run_free(&r);
	RUN_ARGS(&r, "-k", "/nonexistent/file.conf", "vm");
	expect_err(&r, 4, "cannot read configuration file '/nonexistent/file.conf': "
			  "No such file or directory");
	run_free(&r);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	unlink(p4);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
}

static void test_p(void)
{
	struct run r;
	char msg[128];
	static const char *const bad[] = {
		"1", "1:", ":1", "a:1", "1:b", "-1:1", "1:-1", "255:0", "0:1024", "1:2:3", "",
	};

	RUN_ARGS(&r, "-c", "4", "-p", "0:2", "-p", "1:3", "-p", "0:5", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "vcpu.0.cpuset"), "2,5");
	CHECK_STR(get(&r, "vcpu.1.cpuset"), "3");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	RUN_ARGS(&r, "-o", "vcpu.3.cpuset=0-1", "-p", "3:7", "vm");
	CHECK_STR(get(&r, "vcpu.3.cpuset"), "0-1,7");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		RUN_ARGS(&r, "-p", bad[i], "vm");
		snprintf(msg, sizeof(msg), "invalid vcpu pinning configuration '%s'", bad[i]);
		expect_err(&r, 64, msg);
		run_free(&r);
	}
}

static void test_s(void)
{
	struct run r;
	char err[256];

	RUN_ARGS(&r, "-s", "help");
	CHECK_EQ(r.rc, 0);
	CHECK(strstr(r.out, "hostbridge") != NULL);
	CHECK(strstr(r.out, "lpc") != NULL);
	run_free(&r);
	RUN_ARGS(&r, "-s", "0,hostbridge", "-s", "31:0,lpc", "-s", "1:4:2,hostbridge,x=1,y",
		 "-s", "5,amd_hostbridge,/some/path,pcireg.vendor=0x1022", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(r.err, "");
	CHECK_STR(get(&r, "pci.0.0.0.device"), "hostbridge");
	CHECK_STR(get(&r, "pci.0.31.0.device"), "lpc");
	CHECK_STR(get(&r, "pci.1.4.2.device"), "hostbridge");
	CHECK_STR(get(&r, "pci.1.4.2.x"), "1");
	CHECK_STR(get(&r, "pci.1.4.2.y"), "true");
	CHECK_STR(get(&r, "pci.0.5.0.path"), "/some/path");
	CHECK_STR(get(&r, "pci.0.5.0.pcireg.vendor"), "0x1022");
	/* x, y and path are not hostbridge keys: validation rejects the first in tree order. */
	CHECK_EQ(config_validate(r.cfg, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'pci.0.5.0.path'");
	run_free(&r);
	RUN_ARGS(&r, "-s", "0,hostbridge,pcireg.vendor=0x8086", "-s", "31,lpc", "vm");
	CHECK_EQ(config_validate(r.cfg, err, sizeof(err)), 0);
	run_free(&r);
	/* The unknown-device message libvirt greps for. */
	RUN_ARGS(&r, "-s", "0,e1000", "vm");
	expect_err(&r, 4, "pci slot 0:0:0: unknown device \"e1000\"");
	run_free(&r);
	RUN_ARGS(&r, "-s", "2:3:4,nvme,/dev/null", "vm");
	expect_err(&r, 4, "pci slot 2:3:4: unknown device \"nvme\"");
	run_free(&r);
	RUN_ARGS(&r, "-s", "0,hostbridge", "-s", "0:0,lpc", "vm");
	expect_err(&r, 4, "pci slot 0:0:0 already occupied");
	run_free(&r);
	RUN_ARGS(&r, "-o", "pci.0.3.0.device=lpc", "-s", "3,lpc", "vm");
	expect_err(&r, 4, "pci slot 0:3:0 already occupied");
	run_free(&r);
	static const char *const bad[] = {
		"32,lpc", "0:8,lpc", "256:0:0,lpc", "x,lpc", "1:2:3:4,lpc", "lpc",
		",lpc", "1:,lpc", "-1,lpc", " 1,lpc", "0x1,lpc", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char msg[128];
		RUN_ARGS(&r, "-s", bad[i], "vm");
		snprintf(msg, sizeof(msg), "invalid PCI slot info field \"%s\"", bad[i]);
		expect_err(&r, 4, msg);
		run_free(&r);
	}
	RUN_ARGS(&r, "-s", "255:31:7,lpc", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "pci.255.31.7.device"), "lpc");
	run_free(&r);
}

static void test_l(void)
{
	struct run r;

	RUN_ARGS(&r, "-l", "help");
	CHECK_EQ(r.rc, 0);
	CHECK_STR(r.out, "com1\ncom2\ncom3\ncom4\n");
	run_free(&r);
	RUN_ARGS(&r, "-l", "com1,stdio", "-l", "COM2,/dev/pts/3", "-l", "Com4,tcp=1.2.3.4:5,x",
		 "-l", "com1,/dev/null", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "lpc.com1.path"), "/dev/null");
	CHECK_STR(get(&r, "lpc.com2.path"), "/dev/pts/3");
	CHECK_STR(get(&r, "lpc.com4.path"), "tcp=1.2.3.4:5,x");
	CHECK(!config_has(r.cfg, "lpc.com3"));
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	run_free(&r);
	static const char *const bad[] = {
		"bootrom", "bootrom,/usr/share/uefi.fd", "tpm,swtpm,/tmp/s", "pc-testdev",
		"com5,stdio", "com1", "com1,", "com0,stdio", "com11,stdio", "", "xyz",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char msg[128];
		RUN_ARGS(&r, "-l", bad[i], "vm");
		snprintf(msg, sizeof(msg), "invalid lpc device configuration '%s'", bad[i]);
		expect_err(&r, 64, msg);
		run_free(&r);
	}
}

static void test_usage_and_errors(void)
{
	static const struct {
		const char *flag, *arg, *msg;
	} unimpl[] = {
		{ "-G", "1234", "option -G (gdb debug server) is not implemented" },
		{ "-f", "name,string=x", "option -f (fw_cfg file) is not implemented" },
		{ "-K", "us", "option -K (VNC keyboard layout) is not implemented" },
		{ "-r", "/tmp/snap", "option -r (snapshot restore) is not implemented" },
		{ "-n", "id=0,size=1G,cpus=0", "option -n (NUMA domain) is not implemented" },
		{ "-M", NULL, "option -M (monitor mode) is not implemented" },
	};
	struct run r;

	RUN_ARGS(&r, "-h");
	CHECK_EQ(r.rc, 0);
	CHECK(strncmp(r.out, "Usage: bhyve [-aCDeHhPSuWwxY]\n"
			     "       [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n",
		      90) == 0);
	CHECK(strstr(r.out, "-u:") != NULL);
	CHECK(strstr(r.out, "-c vcpus") == NULL);
	CHECK(strstr(r.out, "-G") == NULL);
	CHECK_STR(r.err, "");
	run_free(&r);
	for (size_t i = 0; i < ARRAY_SIZE(unimpl); i++) {
		if (unimpl[i].arg)
			RUN_ARGS(&r, unimpl[i].flag, unimpl[i].arg, "vm");
		else
			RUN_ARGS(&r, unimpl[i].flag, "vm");
		expect_err(&r, 1, unimpl[i].msg);
		run_free(&r);
	}
	/* Unknown option and missing argument: message, usage on err, exit 1. */
	RUN_ARGS(&r, "-q", "vm");
	CHECK_EQ(r.rc, 1);
	CHECK(strncmp(r.err, "bhyve: invalid option -- 'q'\nUsage: bhyve", 41) == 0);
	CHECK_STR(r.out, "");
	run_free(&r);
	RUN_ARGS(&r, "vm", "-c");
	CHECK_EQ(r.rc, 1); /* stops at "vm": two positional arguments */
	CHECK(strncmp(r.err, "Usage: bhyve", 12) == 0);
	run_free(&r);
	RUN_ARGS(&r, "-m");
	CHECK_EQ(r.rc, 1);
	CHECK(strncmp(r.err, "bhyve: option requires an argument -- 'm'\nUsage:", 48) == 0);
	run_free(&r);
	/* Names: none, two. */
	RUN_ARGS(&r, "-H");
	CHECK_EQ(r.rc, 1);
	CHECK(strncmp(r.err, "Usage: bhyve", 12) == 0);
	run_free(&r);
	RUN_ARGS(&r, "vm1", "vm2");
	CHECK_EQ(r.rc, 1);
	CHECK(strncmp(r.err, "Usage: bhyve", 12) == 0);
	run_free(&r);
	/* "--" ends options. */
	RUN_ARGS(&r, "-H", "--", "-vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "name"), "-vm");
	run_free(&r);
	/* Repeated parsing works (getopt state reset). */
	RUN_ARGS(&r, "-x", "vm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	CHECK_STR(get(&r, "x86.x2apic"), "true");
	run_free(&r);
}

static void test_config_dump(void)
{
	struct run r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	RUN_ARGS(&r, "-c", "2", "-m", "1G", "-H", "-s", "0,hostbridge", "-s", "31,lpc", "-l",
		 "com1,stdio", "-o", "config.dump=1", "-p", "1:0", "myvm");
	CHECK_EQ(r.rc, CLI_CONTINUE);
	f = open_memstream(&buf, &len);
	config_dump(r.cfg, f);
	fclose(f);
	CHECK_STR(buf, "acpi_tables=true\n"
		       "acpi_tables_in_memory=true\n"
		       "memory.size=1G\n"
		       "x86.strictmsr=true\n"
		       "x86.vmexit_on_hlt=true\n"
		       "cpus=2\n"
		       "sockets=2\n"
		       "cores=1\n"
		       "threads=1\n"
		       "pci.0.0.0.device=hostbridge\n"
		       "pci.0.31.0.device=lpc\n"
		       "lpc.com1.path=stdio\n"
		       "config.dump=1\n"
		       "vcpu.1.cpuset=0\n"
		       "name=myvm\n");
	CHECK_EQ(config_validate(r.cfg, NULL, 0), 0);
	{
		bool dumpit = false;
		CHECK_EQ(config_get_bool(r.cfg, "config.dump", false, &dumpit), 0);
		CHECK(dumpit);
	}
	free(buf);
	run_free(&r);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_bool_flags);
	RUN(test_topology);
	RUN(test_memory_uuid);
	RUN(test_o);
	RUN(test_k);
	RUN(test_p);
	RUN(test_s);
	RUN(test_l);
	RUN(test_usage_and_errors);
	RUN(test_config_dump);
	return unit_report();
}
