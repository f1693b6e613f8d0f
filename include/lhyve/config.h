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

#endif
