/* Unit tests: configuration tree, typed parsers, schema validation, man page. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"
#include "lhyve/config.h"
#include "lhyve/util.h"

static char *dump(struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_dump(c, f);
	fclose(f);
	return buf;
}

static void test_set_get(void)
{
	struct config *c = config_new();
	const char *old;

	CHECK(c != NULL);
	CHECK_EQ(config_set(c, "a.b.c", "1"), 0);
	CHECK_STR(config_get_raw(c, "a.b.c"), "1");
	CHECK_STR(config_get(c, "a.b.c"), "1");
	CHECK(config_has(c, "a.b"));
	CHECK(config_has(c, "a.b.c"));
	CHECK(!config_has(c, "a.b.d"));
	CHECK(config_get_raw(c, "a.b") == NULL);
	old = config_get_raw(c, "a.b.c");
	CHECK_EQ(config_set(c, "a.b.c", "2"), 0); /* last wins */
	CHECK_STR(config_get(c, "a.b.c"), "2");
	CHECK_STR(old, "1"); /* old string still valid until free */
	/* Malformed keys */
	CHECK_EQ(config_set(c, "", "x"), -EINVAL);
	CHECK_EQ(config_set(c, ".a", "x"), -EINVAL);
	CHECK_EQ(config_set(c, "a.", "x"), -EINVAL);
	CHECK_EQ(config_set(c, "a..b", "x"), -EINVAL);
	CHECK_EQ(config_set(c, "a b", "x"), -EINVAL);
	CHECK_EQ(config_set(c, "a", NULL), -EINVAL);
	CHECK(config_get_raw(c, "a..b") == NULL);
	CHECK(config_get_raw(c, "a.b.c.") == NULL);
	/* Value on interior node, children under a leaf */
	CHECK_EQ(config_set(c, "a.b", "x"), -EINVAL);
	CHECK_EQ(config_set(c, "a.b.c.d", "x"), -EINVAL);
	CHECK(!config_has(c, "a.b.c.d"));
	/* Unset prunes empty parents */
	CHECK_EQ(config_unset(c, "a.b.c"), 0);
	CHECK(!config_has(c, "a"));
	CHECK_EQ(config_unset(c, "a.b.c"), -ENOENT);
	CHECK_EQ(config_set(c, "a", "leaf"), 0); /* now allowed */
	CHECK_STR(config_get(c, "a"), "leaf");
	config_free(c);
}

static void test_kv(void)
{
	struct config *c = config_new();

	CHECK_EQ(config_set_kv(c, "x.y=1=2"), 0);
	CHECK_STR(config_get_raw(c, "x.y"), "1=2");
	CHECK_EQ(config_set_kv(c, "x.y="), -EINVAL);
	CHECK_EQ(config_set_kv(c, "=v"), -EINVAL);
	CHECK_EQ(config_set_kv(c, "novalue"), -EINVAL);
	CHECK_EQ(config_set_kv(c, "a b=c"), -EINVAL);
	CHECK_STR(config_get_raw(c, "x.y"), "1=2");
	config_free(c);
}

static int collect(void *opaque, const char *name)
{
	char *s = opaque;
	strcat(s, name);
	strcat(s, ";");
	return 0;
}

static int stop_at_b(void *opaque, const char *name)
{
	(void)opaque;
	return strcmp(name, "b") == 0 ? 42 : 0;
}

static void test_order_dump(void)
{
	struct config *c = config_new();
	char names[128] = "";
	char *d;

	config_set(c, "z", "1");
	config_set(c, "pci.0.3.0.device", "lpc");
	config_set(c, "a", "2");
	config_set(c, "pci.0.0.0.device", "hostbridge");
	config_set(c, "pci.0.3.0.path", "%(z)");
	config_set(c, "z", "3"); /* keeps its place */
	d = dump(c);
	CHECK_STR(d, "z=3\npci.0.3.0.device=lpc\npci.0.3.0.path=%(z)\n"
		     "pci.0.0.0.device=hostbridge\na=2\n");
	free(d);
	CHECK_EQ(config_foreach_child(c, "", collect, names), 0);
	CHECK_STR(names, "z;pci;a;");
	names[0] = '\0';
	CHECK_EQ(config_foreach_child(c, "pci.0", collect, names), 0);
	CHECK_STR(names, "3;0;");
	CHECK_EQ(config_foreach_child(c, "nope", collect, names), -ENOENT);
	config_set(c, "q.a", "1");
	config_set(c, "q.b", "1");
	config_set(c, "q.c", "1");
	CHECK_EQ(config_foreach_child(c, "q", stop_at_b, NULL), 42);
	/* Removing a middle child keeps the order of the rest and appends new ones. */
	CHECK_EQ(config_unset(c, "q.b"), 0);
	config_set(c, "q.d", "1");
	config_set(c, "q.c", "2");
	names[0] = '\0';
	config_foreach_child(c, "q", collect, names);
	CHECK_STR(names, "a;c;d;");
	config_free(c);
}

static void test_expand(void)
{
	struct config *c = config_new();
	char err[128] = "";
	const char *p1, *p2;

	config_set(c, "name", "vm1");
	config_set(c, "dir", "/var/%(name)");
	config_set(c, "disk", "%(dir)/disk.img");
	config_set(c, "pct", "100%% sure, 5% off");
	config_set(c, "loop1", "%(loop2)");
	config_set(c, "loop2", "x%(loop1)");
	config_set(c, "self", "%(self)");
	config_set(c, "unset", "%(nothere)");
	config_set(c, "open", "%(name");
	config_set(c, "empty", "%()");
	config_set(c, "twice", "%(name)-%(name)");
	CHECK_STR(config_get(c, "disk"), "/var/vm1/disk.img");
	CHECK_STR(config_get_raw(c, "disk"), "%(dir)/disk.img");
	CHECK_STR(config_get(c, "pct"), "100% sure, 5% off");
	CHECK_STR(config_get(c, "twice"), "vm1-vm1");
	CHECK(config_get(c, "loop1") == NULL);
	CHECK(config_get_err(c, "loop1", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "loop") != NULL);
	CHECK(config_get(c, "self") == NULL);
	CHECK(config_get_err(c, "unset", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "nothere") != NULL);
	CHECK(config_get(c, "open") == NULL);
	CHECK(config_get(c, "empty") == NULL);
	CHECK(config_get(c, "missing") == NULL);
	/* A loop does not poison later lookups. */
	CHECK_STR(config_get(c, "disk"), "/var/vm1/disk.img");
	/* Pointers stay valid when the expansion changes. */
	p1 = config_get(c, "disk");
	config_set(c, "name", "vm2");
	p2 = config_get(c, "disk");
	CHECK_STR(p1, "/var/vm1/disk.img");
	CHECK_STR(p2, "/var/vm2/disk.img");
	CHECK(config_get(c, "disk") == p2); /* cached */
	/* Reference to an interior node fails. */
	config_set(c, "n.a", "1");
	config_set(c, "refn", "%(n)");
	CHECK(config_get(c, "refn") == NULL);
	config_free(c);
}

static void test_bool(void)
{
	static const char *const t[] = { "true", "TRUE", "on", "On", "yes", "YES", "1" };
	static const char *const f[] = { "false", "False", "off", "OFF", "no", "No", "0" };
	static const char *const bad[] = { "", "maybe", "2", "tru", "yes ", " 1", "01" };
	struct config *c = config_new();
	bool b;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		b = false;
		CHECK_EQ(config_parse_bool(t[i], &b), 0);
		CHECK(b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		b = true;
		CHECK_EQ(config_parse_bool(f[i], &b), 0);
		CHECK(!b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(config_parse_bool(bad[i], &b), -EINVAL);
	CHECK_EQ(config_get_bool(c, "x", true, &b), 0);
	CHECK(b);
	config_set(c, "y", "off");
	config_set(c, "x", "%(y)");
	CHECK_EQ(config_get_bool(c, "x", true, &b), 0);
	CHECK(!b);
	config_set(c, "x", "perhaps");
	CHECK_EQ(config_get_bool(c, "x", true, &b), -EINVAL);
	config_set(c, "x", "%(loop)");
	config_set(c, "loop", "%(x)");
	CHECK_EQ(config_get_bool(c, "x", true, &b), -EINVAL);
	config_free(c);
}

static void test_uint(void)
{
	struct config *c = config_new();
	uint64_t v;

	CHECK_EQ(config_get_uint(c, "n", 7, &v), 0);
	CHECK_EQ(v, 7);
	config_set(c, "n", "0x10");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), 0);
	CHECK_EQ(v, 16);
	config_set(c, "n", "010");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), 0);
	CHECK_EQ(v, 8);
	config_set(c, "n", "18446744073709551615");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	config_set(c, "n", "18446744073709551616");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), -EINVAL);
	config_set(c, "n", "-1");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), -EINVAL);
	config_set(c, "n", " 1");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), -EINVAL);
	config_set(c, "n", "12abc");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), -EINVAL);
	config_set(c, "n", "");
	CHECK_EQ(config_get_uint(c, "n", 7, &v), -EINVAL);
	config_free(c);
}

static void test_memsize(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "256", 256 * MiB }, { "1", MiB },       { "512M", 512 * MiB },
		{ "512m", 512 * MiB }, { "2G", 2 * GiB }, { "2g", 2 * GiB },
		{ "1T", 1024 * GiB }, { "1t", 1024 * GiB }, { "4096K", 4 * MiB },
		{ "4096k", 4 * MiB }, { "16777215T", 16777215ULL * 1024 * GiB },
	};
	static const char *const bad[] = {
		"", "0", "0G", "M", "12X", "1GB", "1.5G", "-1", " 1", "1 ",
		"0x10", "16777216T", "17592186044416", "99999999999999999999999",
	};
	struct config *c = config_new();
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = 0;
		CHECK_EQ(config_parse_memsize(good[i].s, &v), 0);
		CHECK_EQ(v, good[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(config_parse_memsize(bad[i], &v), -EINVAL);
	CHECK_EQ(config_get_memsize(c, "memory.size", 256 * MiB, &v), 0);
	CHECK_EQ(v, 256 * MiB);
	config_set(c, "memory.size", "1G");
	CHECK_EQ(config_get_memsize(c, "memory.size", 256 * MiB, &v), 0);
	CHECK_EQ(v, GiB);
	config_set(c, "memory.size", "lots");
	CHECK_EQ(config_get_memsize(c, "memory.size", 256 * MiB, &v), -EINVAL);
	config_free(c);
}

static void add_cpu(void *opaque, unsigned cpu)
{
	uint64_t *mask = opaque;
	if (cpu < 64)
		*mask |= 1ULL << cpu;
}

static void test_cpuset(void)
{
	uint64_t m = 0;

	CHECK_EQ(config_parse_cpuset("0,2-3", add_cpu, &m), 0);
	CHECK_EQ(m, 0xd);
	m = 0;
	CHECK_EQ(config_parse_cpuset("5", add_cpu, &m), 0);
	CHECK_EQ(m, 0x20);
	CHECK_EQ(config_parse_cpuset("1023", NULL, NULL), 0);
	CHECK_EQ(config_parse_cpuset("1024", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("3-2", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("1,", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset(",1", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("1-", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("a", NULL, NULL), -EINVAL);
	CHECK_EQ(config_parse_cpuset("1 2", NULL, NULL), -EINVAL);
}

/* Validate one key=value on a fresh tree; return rc, message in err. */
static int validate1(const char *key, const char *value, char *err, size_t errlen)
{
	struct config *c = config_new();
	int rc;

	config_set(c, key, value);
	rc = config_validate(c, err, errlen);
	config_free(c);
	return rc;
}

static void test_validate_values(void)
{
	static const struct {
		const char *key, *value;
		int ok;
	} cases[] = {
		{ "name", "vm1", 1 }, { "name", "my vm", 1 }, { "name", ".hidden", 0 },
		{ "name", "a/b", 0 }, { "name", "", 0 }, { "name", "tab\there", 0 },
		{ "cpus", "4", 1 }, { "cpus", "0", 0 }, { "cpus", "256", 0 },
		{ "cpus", "255", 1 }, { "cores", "x", 0 }, { "threads", "1", 1 },
		{ "memory.size", "2G", 1 }, { "memory.size", "0", 0 },
		{ "memory.size", "2Q", 0 }, { "memory.wired", "yes", 1 },
		{ "memory.guest_in_core", "maybe", 0 }, { "x86.x2apic", "on", 1 },
		{ "x86.nested_workarounds", "auto", 1 },
		{ "x86.nested_workarounds", "false", 1 },
		{ "x86.nested_workarounds", "sometimes", 0 },
		{ "uuid", "01234567-89ab-cdef-0123-456789ABCDEF", 1 },
		{ "uuid", "01234567-89ab-cdef-0123-456789abcde", 0 },
		{ "uuid", "01234567x89ab-cdef-0123-456789abcdef", 0 },
		{ "uuid", "01234567-89ab-cdef-0123-456789abcdefa", 0 },
		{ "uuid", "g1234567-89ab-cdef-0123-456789abcdef", 0 },
		{ "vcpu.0.cpuset", "0,2-3", 1 }, { "vcpu.12.cpuset", "1", 1 },
		{ "vcpu.0.cpuset", "x", 0 }, { "vcpu.x.cpuset", "1", -1 },
		{ "vcpu.01.cpuset", "1", -1 }, { "vcpu.0.cpusets", "1", -1 },
		{ "lpc.com1.path", "stdio", 1 }, { "lpc.com4.path", "/dev/pts/1", 1 },
		{ "lpc.com5.path", "stdio", -1 }, { "lpc.bootrom", "x", -1 },
		{ "bios.vendor", "ACME", 1 }, { "chassis.sku", "1", 1 },
		{ "board.location", "slot 1", 1 }, { "system.family_name", "f", 1 },
		{ "boot.kernel", "/boot/vmlinuz", 1 }, { "boot.cmdline", "console=ttyS0", 1 },
		{ "config.dump", "1", 1 }, { "config.dump", "2", 0 },
		{ "acpi_tables", "false", 1 }, { "virtio_msix", "no", 1 },
		{ "memory.sise", "1G", -1 }, { "x86", "1", -1 }, { "foo", "bar", -1 },
		{ "rtc.use_localtime", "false", 1 }, { "destroy_on_poweroff", "x", 0 },
	};
	char err[256], want[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = validate1(cases[i].key, cases[i].value, err, sizeof(err));
		if (cases[i].ok == 1) {
			CHECK_EQ(rc, 0);
			if (rc)
				fprintf(stderr, "  %s=%s: %s\n", cases[i].key, cases[i].value, err);
		} else if (cases[i].ok == 0) {
			CHECK_EQ(rc, -EINVAL);
			snprintf(want, sizeof(want), "invalid value '%s' for key '%s' (expected ",
				 cases[i].value, cases[i].key);
			CHECK(strncmp(err, want, strlen(want)) == 0);
			if (strncmp(err, want, strlen(want)) != 0)
				fprintf(stderr, "  got: %s\n", err);
		} else {
			CHECK_EQ(rc, -EINVAL);
			snprintf(want, sizeof(want), "unknown configuration key '%s'",
				 cases[i].key);
			CHECK_STR(err, want);
		}
	}
	CHECK_EQ(validate1("x86.x2apic", "maybe", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid value 'maybe' for key 'x86.x2apic' "
		       "(expected a boolean: true/false, on/off, yes/no or 1/0)");
	CHECK_EQ(validate1("x86.nested_workarounds", "x", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid value 'x' for key 'x86.nested_workarounds' "
		       "(expected one of auto, true, false)");
}

static void test_validate_tree(void)
{
	struct config *c = config_new();
	char err[256] = "";

	CHECK_EQ(config_validate(c, err, sizeof(err)), 0); /* empty tree */
	config_set(c, "name", "vm");
	config_set(c, "memory.size", "%(sz)");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "memory.size") != NULL && strstr(err, "sz") != NULL);
	config_set(c, "sz", "1G"); /* now sz itself is an unknown key */
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'sz'");
	config_unset(c, "sz");
	config_set(c, "bios.version", "2G");
	config_set(c, "memory.size", "%(bios.version)");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0);
	config_set(c, "bios.version", "lots");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid value 'lots' for key 'memory.size' (expected a memory size: "
		       "a number with an optional K, M, G or T suffix, default M)");
	config_set(c, "bios.version", "1");
	/* Loops */
	config_set(c, "board.version", "%(chassis.version)");
	config_set(c, "chassis.version", "%(board.version)");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "loop") != NULL);
	config_unset(c, "board.version");
	config_unset(c, "chassis.version");
	CHECK_EQ(config_validate(c, NULL, 0), 0);
	/* Topology */
	config_set(c, "cpus", "4");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0);
	config_set(c, "cores", "2");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "cpu topology (1 sockets, 2 cores, 1 threads) does not match 4 vCPUs");
	config_set(c, "sockets", "2");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0);
	config_free(c);
}

static void test_topology(void)
{
	struct config *c = config_new();
	struct config_topology t;
	char err[128];

	CHECK_EQ(config_get_topology(c, &t, err, sizeof(err)), 0);
	CHECK(t.cpus == 1 && t.sockets == 1 && t.cores == 1 && t.threads == 1);
	config_set(c, "cpus", "6");
	CHECK_EQ(config_get_topology(c, &t, err, sizeof(err)), 0);
	CHECK(t.cpus == 6 && t.sockets == 6 && t.cores == 1 && t.threads == 1);
	config_unset(c, "cpus");
	config_set(c, "cores", "4");
	config_set(c, "threads", "2");
	CHECK_EQ(config_get_topology(c, &t, err, sizeof(err)), 0);
	CHECK(t.cpus == 8 && t.sockets == 1 && t.cores == 4 && t.threads == 2);
	config_set(c, "sockets", "255");
	CHECK_EQ(config_get_topology(c, &t, err, sizeof(err)), -EINVAL);
	config_free(c);
}

static void test_pci_validate(void)
{
	struct config *c = config_new();
	char err[256];

	config_set(c, "pci.0.0.0.device", "hostbridge");
	config_set(c, "pci.0.0.0.pcireg.vendor", "0x1234");
	config_set(c, "pci.0.31.0.device", "lpc");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0);
	config_set(c, "pci.0.0.0.bogus", "1");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'pci.0.0.0.bogus'");
	config_unset(c, "pci.0.0.0.bogus");
	config_set(c, "pci.0.4.0.path", "/x"); /* no device on the node */
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'pci.0.4.0.path'");
	config_unset(c, "pci.0.4.0.path");
	config_set(c, "pci.0.4.0.device", "warp-drive");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "invalid value 'warp-drive' for key 'pci.0.4.0.device' (expected",
		      40) == 0);
	config_unset(c, "pci.0.4.0");
	config_set(c, "dev", "hostbridge");
	config_set(c, "pci.0.5.0.device", "%(bios.vendor)");
	config_set(c, "bios.vendor", "amd_hostbridge");
	config_set(c, "pci.0.5.0.pcireg.revid", "1");
	config_unset(c, "dev");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0); /* expanded device name */
	config_set(c, "pci.0.32.0.device", "lpc");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'pci.0.32.0.device'");
	config_unset(c, "pci.0.32");
	config_set(c, "pci.0.1.8.device", "lpc");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	config_unset(c, "pci.0.1");
	config_set(c, "pci.256.1.0.device", "lpc");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	config_unset(c, "pci.256");
	config_set(c, "pci.255.1.7.device", "lpc");
	CHECK_EQ(config_validate(c, err, sizeof(err)), 0);
	config_set(c, "pci.x", "1");
	CHECK_EQ(config_validate(c, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "unknown configuration key 'pci.x'");
	config_free(c);
}

static void test_schema_table(void)
{
	const struct config_key_info *ki;
	size_t n = 0;

	for (size_t i = 0; (ki = config_schema_at(i)); i++, n++) {
		CHECK(ki->desc && ki->desc[0]);
		if (ki->type == CONFIG_T_UINT)
			CHECK(ki->min <= ki->max);
		if (ki->type == CONFIG_T_ENUM)
			CHECK(ki->choices && ki->choices[0]);
		/* A default must pass its own check. */
		if (ki->def) {
			char why[128];
			CHECK_EQ(config_schema_check(ki, ki->def, why, sizeof(why)), 0);
		}
	}
	CHECK_EQ(n, 55);
	CHECK(config_schema_find("vcpu.3.cpuset") != NULL);
	CHECK(config_schema_find("vcpu.3") == NULL);
	CHECK(config_schema_find("pci.0.0.0.device") == NULL);
}

/* Every schema key is documented in docs/bhyve_config.5 (when run from the tree). */
static void test_man_page(void)
{
	FILE *f = fopen("docs/bhyve_config.5", "r");
	const struct config_key_info *ki;
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	int ch;

	if (!f) {
		printf("(docs/bhyve_config.5 not found: man page check skipped)\n");
		return;
	}
	m = open_memstream(&text, &len);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(f);
	fclose(m);
	for (size_t i = 0; (ki = config_schema_at(i)); i++) {
		char key[128], line[160];
		size_t j;
		for (j = 0; ki->pattern[j] && j < sizeof(key) - 1; j++)
			key[j] = ki->pattern[j] == '*' ? 'N' : ki->pattern[j];
		key[j] = '\0';
		snprintf(line, sizeof(line), ".It Va %s", key);
		CHECK(strstr(text, line) != NULL);
		if (!strstr(text, line))
			fprintf(stderr, "  not documented: %s\n", key);
	}
	free(text);
}

int main(void)
{
	RUN(test_set_get);
	RUN(test_kv);
	RUN(test_order_dump);
	RUN(test_expand);
	RUN(test_bool);
	RUN(test_uint);
	RUN(test_memsize);
	RUN(test_cpuset);
	RUN(test_validate_values);
	RUN(test_validate_tree);
	RUN(test_topology);
	RUN(test_pci_validate);
	RUN(test_schema_table);
	RUN(test_man_page);
	return unit_report();
}
