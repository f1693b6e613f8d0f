/*
 * The configuration tree (src/core/config.c, config_schema.c) and the
 * per-model -s option parsers (legacy_config of every model in
 * src/pci/models.c): newline-separated records, each a command byte and
 * text. Values may contain %(key) references (expansion loops, unset
 * references), keys may be malformed; every typed getter and the schema
 * validation run over the result.
 */
#include "fuzz.h"
#include "lhyve/config.h"
#include "lhyve/pci.h"

static void fz_config_cpu(void *opaque, unsigned cpu)
{
	unsigned *n = opaque;
	(*n)++;
}

static int fz_config_child(void *opaque, const char *name)
{
	unsigned *n = opaque;
	(*n)++;
	return 0;
}

static int fz_config_leaf(void *opaque, const char *key, const char *value)
{
	struct config *c = opaque;
	char err[256];
	config_get_err(c, key, err, sizeof(err));
	const struct config_key_info *ki = config_schema_find(key);
	if (ki)
		config_schema_check(ki, value, err, sizeof(err));
	return 0;
}

FUZZ_TARGET(config)
{
	struct config *c = config_new();
	struct fz in;
	char err[512];
	char *ob = NULL;
	size_t ol = 0;
	unsigned n = 0;

	if (!c)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		char *s = fz_str(&in, '\n', 1024);
		bool b;
		uint64_t u;
		struct config_topology t;

		switch (op % 10) {
		case 0:
		case 1:
			config_set_kv(c, s);
			break;
		case 2: { /* key<TAB>value through config_set */
			char *tab = strchr(s, '\t');
			if (tab) {
				*tab = '\0';
				config_set(c, s, tab + 1);
			}
			break;
		}
		case 3:
			config_unset(c, s);
			break;
		case 4:
			config_get(c, s);
			config_get_err(c, s, err, sizeof(err));
			config_has(c, s);
			config_get_raw(c, s);
			break;
		case 5:
			config_get_bool(c, s, false, &b);
			config_get_uint(c, s, 0, &u);
			config_get_memsize(c, s, 0, &u);
			config_foreach_child(c, s, fz_config_child, &n);
			break;
		case 6:
			config_parse_bool(s, &b);
			config_parse_uint(s, &u);
			config_parse_memsize(s, &u);
			config_parse_cpuset(s, fz_config_cpu, &n);
			break;
		case 7: { /* an -s model's option parser: model index, then options */
			const struct pci_model *m = pci_model_at((op >> 4) % 8);
			char node[32];
			snprintf(node, sizeof(node), "pci.0.%u.0", (op >> 4) & 31);
			err[0] = '\0';
			if (!m)
				break;
			if (m->legacy_config)
				m->legacy_config(c, node, s, err, sizeof(err));
			else
				pci_legacy_config_generic(c, node, s, err, sizeof(err));
			pci_model_key_ok(m, s);
			break;
		}
		case 8:
			config_get_topology(c, &t, err, sizeof(err));
			break;
		case 9:
			config_validate(c, err, sizeof(err));
			config_foreach_leaf(c, fz_config_leaf, c);
			break;
		}
		free(s);
	}
	FILE *f = open_memstream(&ob, &ol);
	if (!f)
		abort();
	config_dump(c, f);
	fclose(f);
	free(ob);
	config_free(c);
	return 0;
}
