/*
 * The configuration tree (bhyve_config(5)): dotted keys, string values,
 * children kept in insertion order, last setting wins, %(key) expansion.
 *
 * Locking: none. The tree is built and read on the main thread during
 * start-up and only read afterwards (config_get caches expansions in the
 * nodes, so concurrent config_get calls need external serialisation).
 *
 * String lifetime: every string handed out (config_get_raw, config_get)
 * stays valid until config_free, even if the key is later set again or
 * unset: replaced strings are moved to a "retired" list instead of being
 * freed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/config.h"
#include "lhyve/util.h"

/* Nesting limit for %(key) references (loops are caught separately). */
#define CFG_EXPAND_DEPTH 64

struct cfg_str {
	struct cfg_str *next; /* in the retired list */
	char s[];
};

struct cfg_node {
	char *name;
	struct cfg_str *value;    /* leaf value; NULL for interior nodes */
	struct cfg_str *expanded; /* last expansion of value */
	bool busy;                /* being expanded (loop detection) */
	struct cfg_node *parent;
	struct cfg_node *child, *last_child, *next;
};

struct config {
	struct cfg_node root;
	struct cfg_str *retired;
};

/* Growable string buffer used during expansion. */
struct cfg_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static struct cfg_str *cfg_str_new(const char *s, size_t len)
{
	struct cfg_str *str = malloc(sizeof(*str) + len + 1);

	if (!str)
		return NULL;
	str->next = NULL;
	memcpy(str->s, s, len);
	str->s[len] = '\0';
	return str;
}

static void cfg_retire(struct config *c, struct cfg_str *str)
{
	if (!str)
		return;
	str->next = c->retired;
	c->retired = str;
}

struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->root.name = NULL;
	return c;
}

static void cfg_node_free(struct cfg_node *n)
{
	struct cfg_node *ch = n->child, *nx;

	while (ch) {
		nx = ch->next;
		cfg_node_free(ch);
		ch = nx;
	}
	free(n->value);
	free(n->expanded);
	free(n->name);
	free(n);
}

void config_free(struct config *c)
{
	struct cfg_node *ch, *nx;
	struct cfg_str *s, *sn;

	if (!c)
		return;
	for (ch = c->root.child; ch; ch = nx) {
		nx = ch->next;
		cfg_node_free(ch);
	}
	for (s = c->retired; s; s = sn) {
		sn = s->next;
		free(s);
	}
	free(c);
}

/* A key is valid if it has non-empty components of visible ASCII except '='. */
static bool cfg_key_ok(const char *key, size_t len)
{
	size_t comp = 0;

	if (len == 0 || len > CONFIG_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (ch == '.') {
			if (comp == 0)
				return false;
			comp = 0;
			continue;
		}
		if (ch <= ' ' || ch >= 0x7f || ch == '=')
			return false;
		comp++;
	}
	return comp != 0;
}

static struct cfg_node *cfg_child(const struct cfg_node *n, const char *name, size_t len)
{
	for (struct cfg_node *ch = n->child; ch; ch = ch->next)
		if (strlen(ch->name) == len && memcmp(ch->name, name, len) == 0)
			return ch;
	return NULL;
}

/* Node for key (key[0..len)), or NULL. len 0 is the root. */
static struct cfg_node *cfg_find(const struct config *c, const char *key, size_t len)
{
	const struct cfg_node *n = &c->root;
	size_t i = 0;

	if (len == 0)
		return (struct cfg_node *)n;
	while (n && i < len) {
		const char *dot = memchr(key + i, '.', len - i);
		size_t clen = dot ? (size_t)(dot - (key + i)) : len - i;
		if (clen == 0)
			return NULL;
		n = cfg_child(n, key + i, clen);
		i += clen + (dot ? 1 : 0);
		if (dot && i == len)
			return NULL; /* trailing dot */
	}
	return (struct cfg_node *)n;
}

static void cfg_unlink(struct cfg_node *n)
{
	struct cfg_node *p = n->parent, **pp;

	for (pp = &p->child; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	if (p->last_child == n) {
		p->last_child = NULL;
		for (struct cfg_node *ch = p->child; ch; ch = ch->next)
			p->last_child = ch;
	}
	n->next = NULL;
	n->parent = NULL;
}

/* Retire the strings of a subtree, then free its nodes. */
static void cfg_drop_subtree(struct config *c, struct cfg_node *n)
{
	struct cfg_node *ch = n->child, *nx;

	while (ch) {
		nx = ch->next;
		cfg_drop_subtree(c, ch);
		ch = nx;
	}
	cfg_retire(c, n->value);
	cfg_retire(c, n->expanded);
	free(n->name);
	free(n);
}

/* Remove now-empty interior ancestors of p (never the root). */
static void cfg_prune(struct config *c, struct cfg_node *p)
{
	while (p && p != &c->root && !p->child && !p->value) {
		struct cfg_node *up = p->parent;
		cfg_unlink(p);
		cfg_drop_subtree(c, p);
		p = up;
	}
}

int config_set(struct config *c, const char *key, const char *value)
{
	struct cfg_node *n = &c->root, *created = NULL;
	struct cfg_str *val;
	size_t len, i = 0;

	if (!c || !key || !value)
		return -EINVAL;
	len = strlen(key);
	if (!cfg_key_ok(key, len))
		return -EINVAL;
	val = cfg_str_new(value, strlen(value));
	if (!val)
		return -ENOMEM;
	while (i < len) {
		const char *dot = strchr(key + i, '.');
		size_t clen = dot ? (size_t)(dot - (key + i)) : len - i;
		bool last = !dot;
		struct cfg_node *ch = created ? NULL : cfg_child(n, key + i, clen);

		if (ch) {
			if ((!last && ch->value) || (last && ch->child))
				goto err_conflict;
		} else {
			ch = calloc(1, sizeof(*ch));
			if (!ch)
				goto err_nomem;
			ch->name = strndup(key + i, clen);
			if (!ch->name) {
				free(ch);
				goto err_nomem;
			}
			ch->parent = n;
			if (n->last_child)
				n->last_child->next = ch;
			else
				n->child = ch;
			n->last_child = ch;
			if (!created)
				created = ch;
		}
		n = ch;
		i += clen + (dot ? 1 : 0);
	}
	cfg_retire(c, n->value);
	n->value = val;
	return 0;

err_nomem:
	free(val);
	if (created) {
		struct cfg_node *p = created->parent;
		cfg_unlink(created);
		cfg_drop_subtree(c, created);
		cfg_prune(c, p);
	}
	return -ENOMEM;
err_conflict:
	free(val);
	return -EINVAL;
}

int config_set_kv(struct config *c, const char *kv)
{
	const char *eq;
	char *key;
	int rc;

	if (!kv)
		return -EINVAL;
	eq = strchr(kv, '=');
	if (!eq || eq == kv || eq[1] == '\0')
		return -EINVAL;
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return -ENOMEM;
	rc = config_set(c, key, eq + 1);
	free(key);
	return rc;
}

int config_unset(struct config *c, const char *key)
{
	struct cfg_node *n, *p;

	if (!key || !*key)
		return -EINVAL;
	n = cfg_find(c, key, strlen(key));
	if (!n || n == &c->root)
		return -ENOENT;
	p = n->parent;
	cfg_unlink(n);
	cfg_drop_subtree(c, n);
	cfg_prune(c, p);
	return 0;
}

bool config_has(const struct config *c, const char *key)
{
	struct cfg_node *n;

	if (!key || !*key)
		return false;
	n = cfg_find(c, key, strlen(key));
	return n && n != &c->root;
}

const char *config_get_raw(const struct config *c, const char *key)
{
	struct cfg_node *n;

	if (!key || !*key)
		return NULL;
	n = cfg_find(c, key, strlen(key));
	return n && n->value ? n->value->s : NULL;
}

static void buf_add(struct cfg_buf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		char *np;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void PRINTF_LIKE(3, 4) cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Append the expansion of n's value to b. "%%" is '%', "%(key)" is the
 * expansion of key, any other '%' is literal. Returns 0 or -EINVAL.
 */
static int cfg_expand(struct config *c, struct cfg_node *n, const char *key,
		      struct cfg_buf *b, int depth, char *err, size_t errlen)
{
	const char *s, *start;
	int rc = 0;

	if (!n || !n->value) {
		cfg_err(err, errlen, "reference to unset key '%s'", key);
		return -EINVAL;
	}
	if (n->busy) {
		cfg_err(err, errlen, "reference loop through key '%s'", key);
		return -EINVAL;
	}
	if (depth > CFG_EXPAND_DEPTH) {
		cfg_err(err, errlen, "references nested too deeply at key '%s'", key);
		return -EINVAL;
	}
	n->busy = true;
	s = start = n->value->s;
	while (*s) {
		if (s[0] != '%' || (s[1] != '%' && s[1] != '(')) {
			s++;
			continue;
		}
		buf_add(b, start, (size_t)(s - start));
		if (s[1] == '%') {
			buf_add(b, "%", 1);
			s += 2;
		} else {
			const char *name = s + 2, *close = strchr(name, ')');
			char ref[CONFIG_KEY_MAX + 1];
			size_t rlen;

			if (!close) {
				cfg_err(err, errlen, "unterminated '%%(' in value of key '%s'", key);
				rc = -EINVAL;
				goto out;
			}
			rlen = (size_t)(close - name);
			if (!cfg_key_ok(name, rlen)) {
				cfg_err(err, errlen, "bad reference '%%(%.*s)' in value of key '%s'",
					(int)MIN(rlen, 64), name, key);
				rc = -EINVAL;
				goto out;
			}
			memcpy(ref, name, rlen);
			ref[rlen] = '\0';
			rc = cfg_expand(c, cfg_find(c, ref, rlen), ref, b, depth + 1, err, errlen);
			if (rc)
				goto out;
			s = close + 1;
		}
		start = s;
	}
	buf_add(b, start, (size_t)(s - start));
out:
	n->busy = false;
	return rc;
}

const char *config_get_err(struct config *c, const char *key, char *err, size_t errlen)
{
	struct cfg_buf b = { 0 };
	struct cfg_node *n;
	struct cfg_str *str;

	if (!key || !*key)
		return NULL;
	n = cfg_find(c, key, strlen(key));
	if (!n || !n->value) {
		cfg_err(err, errlen, "key '%s' is not set", key);
		return NULL;
	}
	if (!strchr(n->value->s, '%'))
		return n->value->s;
	buf_add(&b, "", 0);
	if (cfg_expand(c, n, key, &b, 0, err, errlen)) {
		free(b.p);
		return NULL;
	}
	if (b.oom) {
		free(b.p);
		cfg_err(err, errlen, "out of memory expanding key '%s'", key);
		return NULL;
	}
	if (n->expanded && strcmp(n->expanded->s, b.p) == 0) {
		free(b.p);
		return n->expanded->s;
	}
	str = cfg_str_new(b.p, b.len);
	free(b.p);
	if (!str) {
		cfg_err(err, errlen, "out of memory expanding key '%s'", key);
		return NULL;
	}
	cfg_retire(c, n->expanded);
	n->expanded = str;
	return str->s;
}

const char *config_get(struct config *c, const char *key)
{
	return config_get_err(c, key, NULL, 0);
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_uint(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_memsize(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = MiB;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (*p) {
		switch (*p) {
		case 'k': case 'K': mult = KiB; break;
		case 'm': case 'M': mult = MiB; break;
		case 'g': case 'G': mult = GiB; break;
		case 't': case 'T': mult = 1024 * GiB; break;
		default: return -EINVAL;
		}
		if (p[1] != '\0')
			return -EINVAL;
	}
	if (v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

int config_parse_cpuset(const char *s, void (*fn)(void *opaque, unsigned cpu), void *opaque)
{
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		unsigned long a, b;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		a = strtoul(p, &end, 10);
		if (errno || a >= CONFIG_CPUSET_MAX)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			b = strtoul(p, &end, 10);
			if (errno || b >= CONFIG_CPUSET_MAX || b < a)
				return -EINVAL;
			p = end;
		}
		if (fn)
			for (unsigned long i = a; i <= b; i++)
				fn(opaque, (unsigned)i);
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}

/*
 * Shared front half of the typed getters: 1 with *v set, 0 if unset
 * (use the default), -EINVAL if the key is an interior node or does not expand.
 */
static int cfg_get_typed(struct config *c, const char *key, const char **v)
{
	struct cfg_node *n;

	if (!key || !*key)
		return -EINVAL;
	n = cfg_find(c, key, strlen(key));
	if (!n)
		return 0;
	if (!n->value)
		return -EINVAL;
	*v = config_get(c, key);
	return *v ? 1 : -EINVAL;
}

int config_get_bool(struct config *c, const char *key, bool def, bool *out)
{
	const char *v;
	int rc = cfg_get_typed(c, key, &v);

	if (rc <= 0) {
		if (rc == 0)
			*out = def;
		return rc;
	}
	return config_parse_bool(v, out);
}

int config_get_uint(struct config *c, const char *key, uint64_t def, uint64_t *out)
{
	const char *v;
	int rc = cfg_get_typed(c, key, &v);

	if (rc <= 0) {
		if (rc == 0)
			*out = def;
		return rc;
	}
	return config_parse_uint(v, out);
}

int config_get_memsize(struct config *c, const char *key, uint64_t def, uint64_t *out)
{
	const char *v;
	int rc = cfg_get_typed(c, key, &v);

	if (rc <= 0) {
		if (rc == 0)
			*out = def;
		return rc;
	}
	return config_parse_memsize(v, out);
}

/* Depth-first walk over leaves; path holds the key of n (len chars). */
static int cfg_walk(const struct cfg_node *n, char *path, size_t len,
		    int (*fn)(void *opaque, const char *key, const char *value), void *opaque)
{
	int rc;

	if (n->value && len)
		return fn(opaque, path, n->value->s);
	for (const struct cfg_node *ch = n->child; ch; ch = ch->next) {
		size_t nlen = strlen(ch->name);
		size_t off = len ? len + 1 : 0;

		/* Keys are at most CONFIG_KEY_MAX long, so this always fits. */
		if (off + nlen > CONFIG_KEY_MAX)
			continue;
		if (len)
			path[len] = '.';
		memcpy(path + off, ch->name, nlen + 1);
		rc = cfg_walk(ch, path, off + nlen, fn, opaque);
		path[len] = '\0';
		if (rc)
			return rc;
	}
	return 0;
}

int config_foreach_leaf(const struct config *c,
			int (*fn)(void *opaque, const char *key, const char *value), void *opaque)
{
	char path[CONFIG_KEY_MAX + 1] = "";

	return cfg_walk(&c->root, path, 0, fn, opaque);
}

static int cfg_dump_one(void *opaque, const char *key, const char *value)
{
	fprintf((FILE *)opaque, "%s=%s\n", key, value);
	return 0;
}

void config_dump(const struct config *c, FILE *f)
{
	config_foreach_leaf(c, cfg_dump_one, f);
}

int config_foreach_child(const struct config *c, const char *node,
			 int (*fn)(void *opaque, const char *name), void *opaque)
{
	const struct cfg_node *n = cfg_find(c, node ? node : "", node ? strlen(node) : 0);
	int rc;

	if (!n)
		return -ENOENT;
	for (const struct cfg_node *ch = n->child; ch; ch = ch->next) {
		rc = fn(opaque, ch->name);
		if (rc)
			return rc;
	}
	return 0;
}

static int cfg_get_count(struct config *c, const char *key, unsigned *out, bool *set,
			 char *err, size_t errlen)
{
	uint64_t v;

	*set = config_get_raw(c, key) != NULL;
	if (config_get_uint(c, key, 1, &v) || v < 1 || v > CONFIG_MAX_CPUS) {
		cfg_err(err, errlen, "invalid value for key '%s' (expected an integer from 1 to %d)",
			key, CONFIG_MAX_CPUS);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int config_get_topology(struct config *c, struct config_topology *t, char *err, size_t errlen)
{
	bool ns, ss, cs, ts;
	unsigned prod;

	if (cfg_get_count(c, "cpus", &t->cpus, &ns, err, errlen) ||
	    cfg_get_count(c, "sockets", &t->sockets, &ss, err, errlen) ||
	    cfg_get_count(c, "cores", &t->cores, &cs, err, errlen) ||
	    cfg_get_count(c, "threads", &t->threads, &ts, err, errlen))
		return -EINVAL;
	if (ns && !ss && !cs && !ts)
		t->sockets = t->cpus;
	prod = t->sockets * t->cores * t->threads; /* each <= 255: no overflow */
	if (!ns) {
		if (prod > CONFIG_MAX_CPUS) {
			cfg_err(err, errlen, "cpu topology (%u sockets, %u cores, %u threads) "
				"gives more than %d vCPUs", t->sockets, t->cores, t->threads,
				CONFIG_MAX_CPUS);
			return -EINVAL;
		}
		t->cpus = prod;
	} else if (prod != t->cpus) {
		cfg_err(err, errlen, "cpu topology (%u sockets, %u cores, %u threads) "
			"does not match %u vCPUs", t->sockets, t->cores, t->threads, t->cpus);
		return -EINVAL;
	}
	return 0;
}
