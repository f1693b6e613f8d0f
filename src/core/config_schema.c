/*
 * The schema of known configuration keys and config_validate().
 * docs/bhyve_config.5 documents exactly these keys (test_config checks it).
 * No state: only const tables.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/config.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"

#define VM_NAME_MAX 128

static const char *const nested_choices[] = { "auto", "true", "false", NULL };
static const char *const seccomp_choices[] = { "true", "false", "log", NULL };

#define K_BOOL(k, d, text) { .pattern = k, .type = CONFIG_T_BOOL, .def = d, .desc = text }
#define K_STR(k, d, text) { .pattern = k, .type = CONFIG_T_STRING, .def = d, .desc = text }
#define K_CPUS(k, text) \
	{ .pattern = k, .type = CONFIG_T_UINT, .min = 1, .max = CONFIG_MAX_CPUS, .def = "1", \
	  .desc = text }
#define K_SMBIOS(k, text) K_STR(k, NULL, "SMBIOS " text " string")

static const struct config_key_info config_schema[] = {
	{ .pattern = "name", .type = CONFIG_T_NAME,
	  .desc = "name of the virtual machine (the positional vmname argument)" },
	K_CPUS("cpus", "number of vCPUs (default: sockets * cores * threads)"),
	{ .pattern = "sockets", .type = CONFIG_T_UINT, .min = 1, .max = CONFIG_MAX_CPUS,
	  .def = "1", .desc = "number of CPU sockets (cpus when only cpus is set)" },
	K_CPUS("cores", "number of cores per socket"),
	K_CPUS("threads", "number of threads per core"),
	{ .pattern = "memory.size", .type = CONFIG_T_MEMSIZE, .def = "256M",
	  .desc = "guest RAM size" },
	K_BOOL("memory.guest_in_core", "false", "include guest RAM in core dumps"),
	K_BOOL("memory.wired", "false", "lock guest RAM in host memory (mlock)"),
	K_BOOL("destroy_on_poweroff", "false",
	       "on power-off, remove the registry entry and bhyveload's boot spec"),
	K_BOOL("x86.strictio", "false", "exit on access to an unemulated I/O port"),
	K_BOOL("x86.vmexit_on_hlt", "false", "accepted; no effect on KVM"),
	K_BOOL("x86.vmexit_on_pause", "false", "accepted; no effect on KVM"),
	K_BOOL("x86.strictmsr", "true", "inject #GP on access to an unknown MSR"),
	K_BOOL("x86.x2apic", "false", "advertise x2APIC mode"),
	K_BOOL("x86.mptable", "true", "build an MP table"),
	{ .pattern = "x86.nested_workarounds", .type = CONFIG_T_ENUM,
	  .choices = nested_choices, .def = "auto",
	  .desc = "hide CPUID features the host's KVM instruction emulator cannot run" },
	K_BOOL("rtc.use_localtime", "true", "RTC keeps host local time (false: UTC)"),
	{ .pattern = "uuid", .type = CONFIG_T_UUID,
	  .desc = "SMBIOS system UUID (default: derived from host name and VM name)" },
	K_BOOL("virtio_msix", "true", "use MSI-X (false: MSI) for virtio devices"),
	{ .pattern = "virtio.poll_us", .type = CONFIG_T_UINT, .min = 0, .max = 1000000,
	  .def = "50",
	  .desc = "after a virtio-blk or virtio-net transmit kick, poll the queue this many "
		  "microseconds with kicks off (0: never poll)" },
	K_BOOL("acpi_tables", "true", "build ACPI tables"),
	K_BOOL("acpi_tables_in_memory", "true", "accepted; ACPI tables are always in memory"),
	K_STR("lpc.com1.path", NULL, "backend of serial port COM1"),
	K_STR("lpc.com2.path", NULL, "backend of serial port COM2"),
	K_STR("lpc.com3.path", NULL, "backend of serial port COM3"),
	K_STR("lpc.com4.path", NULL, "backend of serial port COM4"),
	{ .pattern = "vcpu.*.cpuset", .type = CONFIG_T_CPUSET,
	  .desc = "host CPUs the vCPU thread is pinned to" },
	K_SMBIOS("bios.vendor", "BIOS vendor"),
	K_SMBIOS("bios.version", "BIOS version"),
	K_SMBIOS("bios.release_date", "BIOS release date"),
	K_SMBIOS("system.family_name", "system family"),
	K_SMBIOS("system.manufacturer", "system manufacturer"),
	K_SMBIOS("system.product_name", "system product name"),
	K_SMBIOS("system.serial_number", "system serial number"),
	K_SMBIOS("system.sku", "system SKU number"),
	K_SMBIOS("system.version", "system version"),
	K_SMBIOS("board.manufacturer", "baseboard manufacturer"),
	K_SMBIOS("board.product_name", "baseboard product name"),
	K_SMBIOS("board.version", "baseboard version"),
	K_SMBIOS("board.serial_number", "baseboard serial number"),
	K_SMBIOS("board.asset_tag", "baseboard asset tag"),
	K_SMBIOS("board.location", "baseboard location in chassis"),
	K_SMBIOS("chassis.manufacturer", "chassis manufacturer"),
	K_SMBIOS("chassis.version", "chassis version"),
	K_SMBIOS("chassis.serial_number", "chassis serial number"),
	K_SMBIOS("chassis.asset_tag", "chassis asset tag"),
	K_SMBIOS("chassis.sku", "chassis SKU number"),
	K_BOOL("config.dump", "false", "print the configuration and exit"),
	K_STR("boot.kernel", NULL, "kernel for direct boot (bzImage, PVH ELF or multiboot ELF)"),
	K_STR("boot.initrd", NULL, "initial ramdisk for direct boot"),
	K_STR("boot.cmdline", NULL, "kernel command line for direct boot"),
	{ .pattern = "sandbox.seccomp", .type = CONFIG_T_ENUM, .choices = seccomp_choices,
	  .def = "true",
	  .desc = "system call filter after setup (log: forbidden calls fail and are logged)" },
	K_STR("sandbox.user", NULL, "user (name or uid) bhyve runs as after setup"),
	K_STR("sandbox.group", NULL, "group (name or gid) bhyve runs as after setup"),
	K_BOOL("sandbox.test_forbidden", "false",
	       "test hook: make a forbidden system call after entering the sandbox"),
};

const struct config_key_info *config_schema_at(size_t i)
{
	return i < ARRAY_SIZE(config_schema) ? &config_schema[i] : NULL;
}

/* A decimal number without sign or leading zeros, at most 5 digits. */
static bool schema_number(const char *s, size_t len)
{
	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool schema_match(const char *pat, const char *key)
{
	while (*pat) {
		const char *pd = strchr(pat, '.'), *kd = strchr(key, '.');
		size_t plen = pd ? (size_t)(pd - pat) : strlen(pat);
		size_t klen = kd ? (size_t)(kd - key) : strlen(key);

		if (plen == 1 && pat[0] == '*') {
			if (!schema_number(key, klen))
				return false;
		} else if (plen != klen || memcmp(pat, key, plen) != 0) {
			return false;
		}
		if (!pd || !kd)
			return !pd && !kd;
		pat = pd + 1;
		key = kd + 1;
	}
	return false;
}

const struct config_key_info *config_schema_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_schema); i++)
		if (schema_match(config_schema[i].pattern, key))
			return &config_schema[i];
	return NULL;
}

static bool schema_uuid_ok(const char *s)
{
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

static bool schema_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > VM_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int config_schema_check(const struct config_key_info *ki, const char *value, char *err,
			size_t errlen)
{
	uint64_t u;
	bool b;
	int n;

	switch (ki->type) {
	case CONFIG_T_STRING:
		return 0;
	case CONFIG_T_BOOL:
		if (config_parse_bool(value, &b) == 0)
			return 0;
		snprintf(err, errlen, "a boolean: true/false, on/off, yes/no or 1/0");
		return -EINVAL;
	case CONFIG_T_UINT:
		if (config_parse_uint(value, &u) == 0 && u >= ki->min && u <= ki->max)
			return 0;
		snprintf(err, errlen, "an integer from %llu to %llu",
			 (unsigned long long)ki->min, (unsigned long long)ki->max);
		return -EINVAL;
	case CONFIG_T_MEMSIZE:
		if (config_parse_memsize(value, &u) == 0)
			return 0;
		snprintf(err, errlen, "a memory size: a number with an optional K, M, G or T "
			 "suffix, default M");
		return -EINVAL;
	case CONFIG_T_UUID:
		if (schema_uuid_ok(value))
			return 0;
		snprintf(err, errlen, "a UUID like 01234567-89ab-cdef-0123-456789abcdef");
		return -EINVAL;
	case CONFIG_T_CPUSET:
		if (config_parse_cpuset(value, NULL, NULL) == 0)
			return 0;
		snprintf(err, errlen, "a list of host CPUs below %d like 0,2-3",
			 CONFIG_CPUSET_MAX);
		return -EINVAL;
	case CONFIG_T_ENUM:
		for (const char *const *ch = ki->choices; *ch; ch++)
			if (strcmp(*ch, value) == 0)
				return 0;
		n = snprintf(err, errlen, "one of");
		for (const char *const *ch = ki->choices; *ch && n >= 0 && (size_t)n < errlen; ch++)
			n += snprintf(err + n, errlen - (size_t)n, "%s %s",
				      ch == ki->choices ? "" : ",", *ch);
		return -EINVAL;
	case CONFIG_T_NAME:
		if (schema_name_ok(value))
			return 0;
		snprintf(err, errlen, "1-%d printable characters, no '/', not starting with '.'",
			 VM_NAME_MAX);
		return -EINVAL;
	}
	snprintf(err, errlen, "a known type");
	return -EINVAL;
}

struct validate_ctx {
	struct config *c;
	char *err;
	size_t errlen;
};

/* Parse "pci.B.S.F." at the start of key; return the rest (device key) or NULL. */
static const char *validate_pci_node(const char *key, char *node, size_t nodelen)
{
	static const unsigned limits[3] = { 255, 31, 7 };
	const char *p = key + 4;

	for (int i = 0; i < 3; i++) {
		const char *dot = strchr(p, '.');
		size_t len;

		if (!dot)
			return NULL;
		len = (size_t)(dot - p);
		if (!schema_number(p, len) || strtoul(p, NULL, 10) > limits[i])
			return NULL;
		p = dot + 1;
	}
	if (!*p || (size_t)(p - key) > nodelen)
		return NULL;
	memcpy(node, key, (size_t)(p - key - 1));
	node[p - key - 1] = '\0';
	return p;
}

static int validate_pci(struct validate_ctx *v, const char *key, const char *value)
{
	char node[32], devkey[64], why[160];
	const struct pci_model *m;
	const char *rest = validate_pci_node(key, node, sizeof(node)), *dev;

	if (!rest)
		goto unknown;
	snprintf(devkey, sizeof(devkey), "%s.device", node);
	if (strcmp(rest, "device") == 0) {
		if (pci_model_find(value))
			return 0;
		snprintf(v->err, v->errlen, "invalid value '%s' for key '%s' (expected a PCI "
			 "device model; see bhyve -s help)", value, key);
		return -EINVAL;
	}
	dev = config_get_err(v->c, devkey, why, sizeof(why));
	if (!dev || !(m = pci_model_find(dev)) || !pci_model_key_ok(m, rest))
		goto unknown;
	return 0;
unknown:
	snprintf(v->err, v->errlen, "unknown configuration key '%s'", key);
	return -EINVAL;
}

static int validate_leaf(void *opaque, const char *key, const char *raw)
{
	struct validate_ctx *v = opaque;
	const struct config_key_info *ki = NULL;
	char why[200];
	const char *value;

	if (strncmp(key, "pci.", 4) != 0) {
		ki = config_schema_find(key);
		if (!ki) {
			snprintf(v->err, v->errlen, "unknown configuration key '%s'", key);
			return -EINVAL;
		}
	}
	value = config_get_err(v->c, key, why, sizeof(why));
	if (!value) {
		snprintf(v->err, v->errlen, "cannot expand value '%s' of key '%s': %s", raw, key,
			 why);
		return -EINVAL;
	}
	if (!ki)
		return validate_pci(v, key, value);
	if (config_schema_check(ki, value, why, sizeof(why))) {
		snprintf(v->err, v->errlen, "invalid value '%s' for key '%s' (expected %s)",
			 value, key, why);
		return -EINVAL;
	}
	return 0;
}

int config_validate(struct config *c, char *err, size_t errlen)
{
	char dummy[1];
	struct validate_ctx v = { .c = c, .err = err ? err : dummy,
				  .errlen = err ? errlen : sizeof(dummy) };
	struct config_topology t;
	int rc;

	if (v.errlen)
		v.err[0] = '\0';
	rc = config_foreach_leaf(c, validate_leaf, &v);
	if (rc)
		return -EINVAL;
	if (config_get_topology(c, &t, v.err, v.errlen))
		return -EINVAL;
	return 0;
}
