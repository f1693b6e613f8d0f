/*
 * The configuration tree of bhyve_config(5): dotted keys ("pci.0.3.0.device"),
 * string values, last setting wins. Every command-line flag is a shorthand
 * that sets keys. Values may reference other keys with %(key); "%%" is a
 * literal '%'. Not thread-safe: built and read on the main thread during
 * start-up, read-only afterwards.
 */
#ifndef LHYVE_CONFIG_H
#define LHYVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;

struct config *config_new(void);
void config_free(struct config *c);

/*
 * Set key to value (copied). Intermediate nodes are created. -EINVAL when
 * the key is malformed (empty component, leading/trailing dot) or when a
 * value would be stored on a node that has children (or vice versa).
 */
int config_set(struct config *c, const char *key, const char *value);
/* Parse "key=value" (as -o and -k lines give it); -EINVAL if no '=' or empty key/value. */
int config_set_kv(struct config *c, const char *kv);
int config_unset(struct config *c, const char *key);
bool config_has(const struct config *c, const char *key);
/* Value as set (no expansion), or NULL. */
const char *config_get_raw(const struct config *c, const char *key);
/*
 * Value with %(key) references expanded, or NULL if unset. The string is
 * owned by the tree and stays valid until the tree is freed. A reference to
 * an unset key or a reference loop makes the lookup fail: NULL and, if err
 * is non-NULL, a message.
 */
const char *config_get(struct config *c, const char *key);
/* Typed getters: 0 with *out set (def if unset); -EINVAL for a bad value. */
int config_get_bool(struct config *c, const char *key, bool def, bool *out);
int config_get_uint(struct config *c, const char *key, uint64_t def,
		    uint64_t *out); /* decimal, 0x hex, 0 octal */
/* Memory size: number with optional K/M/G/T suffix (either case); no suffix = MiB. */
int config_get_memsize(struct config *c, const char *key, uint64_t def, uint64_t *out);
/* Parsers shared with the command line. */
int config_parse_bool(const char *s, bool *out);
int config_parse_memsize(const char *s, uint64_t *out);

/* Print every leaf as "key=value\n" (unexpanded), in tree order. */
void config_dump(const struct config *c, FILE *f);
/* Call fn for each direct child name of node ("" = root), in insertion order. */
int config_foreach_child(const struct config *c, const char *node,
			 int (*fn)(void *opaque, const char *name), void *opaque);

/*
 * Check every leaf key and value against the schema of known keys (global
 * keys, LPC keys, and each PCI device model's keys). On the first problem
 * returns -EINVAL with one line in err, e.g.
 *   "unknown configuration key 'memory.sise'" or
 *   "invalid value 'maybe' for boolean key 'x86.x2apic'".
 */
int config_validate(struct config *c, char *err, size_t errlen);

/* --- Additions (config.c / config_schema.c) --- */

/* Longest key config_set accepts (characters). */
#define CONFIG_KEY_MAX 255

/*
 * Like config_get, but on failure (unset reference, loop, unterminated
 * "%(") writes one line into err (if non-NULL).
 */
const char *config_get_err(struct config *c, const char *key, char *err,
			   size_t errlen);
/*
 * Call fn(opaque, key, raw value) for every leaf in tree order; a nonzero
 * return from fn stops the walk and is returned. fn must not change the tree.
 */
int config_foreach_leaf(const struct config *c,
			int (*fn)(void *opaque, const char *key, const char *value),
			void *opaque);
/* Parse an unsigned integer: decimal, 0x hex, 0 octal; no sign, no blanks. */
int config_parse_uint(const char *s, uint64_t *out);
/* Parse a host CPU list such as "0,2-3" (each CPU < CONFIG_CPUSET_MAX). */
#define CONFIG_CPUSET_MAX 1024
int config_parse_cpuset(const char *s, void (*fn)(void *opaque, unsigned cpu),
			void *opaque);

/* vCPU topology from cpus/sockets/cores/threads, with bhyve's defaulting. */
struct config_topology {
	unsigned cpus, sockets, cores, threads;
};
#define CONFIG_MAX_CPUS 255
/* 0, or -EINVAL with a message when the keys are bad or inconsistent. */
int config_get_topology(struct config *c, struct config_topology *t, char *err,
			size_t errlen);

/* The schema of known keys (config_schema.c), also used for the man page. */
enum config_type {
	CONFIG_T_STRING,
	CONFIG_T_BOOL,
	CONFIG_T_UINT,    /* min..max */
	CONFIG_T_MEMSIZE,
	CONFIG_T_UUID,
	CONFIG_T_CPUSET,
	CONFIG_T_ENUM,    /* one of choices */
	CONFIG_T_NAME,    /* VM name */
};

struct config_key_info {
	/* Dotted key; a component "*" matches a decimal number. */
	const char *pattern;
	enum config_type type;
	uint64_t min, max;
	const char *const *choices; /* NULL terminated */
	const char *def;            /* default as text, NULL: none/unset */
	const char *desc;           /* one line */
};

/* i-th schema entry, NULL past the end (PCI device keys are not listed). */
const struct config_key_info *config_schema_at(size_t i);
/* Schema entry matching a full key, or NULL (also NULL for pci.* keys). */
const struct config_key_info *config_schema_find(const char *key);
/* 0 if value is valid for the entry; else -EINVAL and "(expected ...)" text in err. */
int config_schema_check(const struct config_key_info *ki, const char *value,
			char *err, size_t errlen);

#endif
