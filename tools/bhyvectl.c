/*
 * bhyvectl: control VMs run by lhyve's bhyve through their registry entry
 * and control socket (see docs/bhyvectl.8, lhyve/registry.h, lhyve/ctl.h).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lhyve/ctl.h"
#include "lhyve/registry.h"

#define MAX_GETS 64

struct opts {
	const char *vm;
	unsigned cpu;
	bool cpu_set;
	bool destroy, stats, reset, poweroff, nmi, all, list, json, console;
	const char *console_port;
	const char *gets[MAX_GETS];
	unsigned ngets;
};

/* Registers bhyvectl can print: name as in --get-NAME and in the ctl reply. */
static const char *const bctl_regs[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
	"r12", "r13", "r14", "r15", "rip", "rflags", "cr0", "cr2", "cr3", "cr4", "efer",
	"dr0", "dr1", "dr2", "dr3", "dr6", "dr7", NULL,
};
static const char *const bctl_segs[] = {
	"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr", NULL,
};

static void bctl_usage(FILE *f)
{
	fprintf(f,
		"usage: bhyvectl --vm=NAME [--cpu=N] [--get-all] [--get-REG]... [--get-stats]\n"
		"                [--inject-nmi] [--console[=comN]] [--force-reset]\n"
		"                [--force-poweroff] [--destroy]\n"
		"       bhyvectl --list [--json]\n"
		"  REG: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip rflags cr0 cr2 cr3 cr4 efer\n"
		"       dr0-dr3 dr6 dr7, segment selectors cs ds es fs gs ss tr ldtr,\n"
		"       descriptors desc-cs ... desc-ldtr, desc-gdtr, desc-idtr\n"
		"  --console attaches to COM1 (or comN); type ~. at the start of a line to detach.\n");
}

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static bool bctl_get_known(const char *g)
{
	if (in_list(bctl_regs, g) || in_list(bctl_segs, g))
		return true;
	if (!strncmp(g, "desc-", 5))
		return in_list(bctl_segs, g + 5) || !strcmp(g + 5, "gdtr") ||
		       !strcmp(g + 5, "idtr");
	return false;
}

/* Options FreeBSD's bhyvectl has that lhyve does not implement. */
static const char *bctl_unsupported(const char *name)
{
	if (!strncmp(name, "set-", 4))
		return "setting registers or VM state is not supported by lhyve";
	if (!strcmp(name, "checkpoint") || !strcmp(name, "suspend"))
		return "snapshots (checkpoint/suspend) are not supported by lhyve";
	if (!strcmp(name, "create"))
		return "VMs are created by bhyve (or prepared by bhyveload), not by bhyvectl";
	if (!strcmp(name, "run"))
		return "running a vCPU from bhyvectl is not supported by lhyve";
	if (!strncmp(name, "get-", 4) || !strncmp(name, "unassign", 8) ||
	    !strncmp(name, "assert-", 7) || !strcmp(name, "setcap") || !strcmp(name, "getcap") ||
	    !strcmp(name, "capname") || !strcmp(name, "rtc-nvram-offset") ||
	    !strncmp(name, "desc-", 5))
		return "not supported by lhyve";
	return NULL;
}

static int bctl_parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char name[64];
		const char *val = NULL, *eq;
		size_t nl;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			bctl_usage(stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "bhyvectl: unexpected argument '%s'\n", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof(name)) {
			fprintf(stderr, "bhyvectl: unknown option '%s'\n", argv[i]);
			return -1;
		}
		memcpy(name, a, nl);
		name[nl] = '\0';
		val = eq ? eq + 1 : NULL;
#define FLAG(n, field)                                                               \
	if (!strcmp(name, n)) {                                                      \
		if (val) {                                                           \
			fprintf(stderr, "bhyvectl: --%s takes no value\n", n);       \
			return -1;                                                   \
		}                                                                    \
		o->field = true;                                                     \
		continue;                                                            \
	}
		FLAG("destroy", destroy)
		FLAG("get-stats", stats)
		FLAG("force-reset", reset)
		FLAG("force-poweroff", poweroff)
		FLAG("inject-nmi", nmi)
		FLAG("get-all", all)
		FLAG("list", list)
		FLAG("json", json)
#undef FLAG
		if (!strcmp(name, "vm")) {
			if (!val || !*val) {
				fprintf(stderr, "bhyvectl: --vm needs a name (--vm=NAME)\n");
				return -1;
			}
			o->vm = val;
		} else if (!strcmp(name, "cpu")) {
			char *end;
			unsigned long v;
			errno = 0;
			v = val ? strtoul(val, &end, 10) : 0;
			if (!val || !*val || errno || *end || val[0] == '-' || v > 4095) {
				fprintf(stderr, "bhyvectl: invalid --cpu value\n");
				return -1;
			}
			o->cpu = (unsigned)v;
			o->cpu_set = true;
		} else if (!strcmp(name, "console")) {
			o->console = true;
			o->console_port = val ? val : "com1";
			if (strlen(o->console_port) != 4 || strncmp(o->console_port, "com", 3) ||
			    o->console_port[3] < '1' || o->console_port[3] > '4') {
				fprintf(stderr, "bhyvectl: --console takes com1..com4\n");
				return -1;
			}
		} else if (!strncmp(name, "get-", 4) && bctl_get_known(name + 4) && !val) {
			if (o->ngets == MAX_GETS) {
				fprintf(stderr, "bhyvectl: too many --get options\n");
				return -1;
			}
			o->gets[o->ngets++] = argv[i] + 6;
		} else if (bctl_unsupported(name)) {
			fprintf(stderr, "bhyvectl: --%s: %s\n", name, bctl_unsupported(name));
			return -2;
		} else {
			fprintf(stderr, "bhyvectl: unknown option '--%s'\n", name);
			return -1;
		}
	}
	return 0;
}

/* ---- listing ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* utime + stime of a process in seconds, or -1. */
static double bctl_cpu_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct list_ctx {
	bool json;
	unsigned n;
};

static int bctl_list_one(void *opaque, const struct registry_entry *e)
{
	struct list_ctx *lc = opaque;
	char info[512], cons[2048], val[64], cfg[8192];
	long long mem = -1, vcpus = -1;
	double cpu = -1;
	struct registry_bootspec *bs = malloc(sizeof(*bs));
	bool have_bs = bs && registry_bootspec_read(e->dir, bs) == 0;

	cons[0] = '\0';
	if (e->state == REGISTRY_RUNNING) {
		if (registry_read_file(e->dir, "info", info, sizeof(info)) > 0) {
			if (registry_kv(info, "memsize", val, sizeof(val)) == 0)
				mem = atoll(val);
			if (registry_kv(info, "vcpus", val, sizeof(val)) == 0)
				vcpus = atoll(val);
		}
		if (registry_read_file(e->dir, "consoles", cons, sizeof(cons)) < 0)
			cons[0] = '\0';
		cpu = bctl_cpu_time(e->pid);
		if (bs && registry_read_file(e->dir, "config", cfg, sizeof(cfg)) > 0 &&
		    registry_kv(cfg, "boot.kernel", bs->kernel, sizeof(bs->kernel)) == 0)
			have_bs = true;
	} else if (have_bs) {
		mem = (long long)bs->memsize;
	}
	if (lc->json) {
		printf("%s\n  {\"name\": ", lc->n ? "," : "");
		json_str(e->name);
		if (e->pid > 0)
			printf(", \"pid\": %ld", e->pid);
		else
			printf(", \"pid\": null");
		printf(", \"state\": \"%s\"", registry_state_name(e->state));
		if (mem >= 0)
			printf(", \"memory\": %lld", mem);
		else
			printf(", \"memory\": null");
		if (vcpus >= 0)
			printf(", \"vcpus\": %lld", vcpus);
		else
			printf(", \"vcpus\": null");
		if (cpu >= 0)
			printf(", \"cpu_time\": %.2f", cpu);
		else
			printf(", \"cpu_time\": null");
		printf(", \"consoles\": {");
		unsigned nc = 0;
		for (char *line = strtok(cons, "\n"); line; line = strtok(NULL, "\n")) {
			char port[16], kind[16], ep[PATH_MAX];
			if (sscanf(line, "%15s %15s %4095s", port, kind, ep) != 3)
				continue;
			printf("%s", nc++ ? ", " : "");
			json_str(port);
			printf(": {\"type\": ");
			json_str(kind);
			printf(", \"endpoint\": ");
			json_str(ep);
			printf("}");
		}
		printf("}, \"kernel\": ");
		if (have_bs)
			json_str(bs->kernel);
		else
			printf("null");
		printf("}");
	} else {
		char pid[24] = "-", memtxt[24] = "-", vctxt[24] = "-", cputxt[24] = "-";
		char ctxt[1024] = "";
		size_t cl = 0;
		if (e->pid > 0)
			snprintf(pid, sizeof(pid), "%ld", e->pid);
		if (mem >= 0)
			snprintf(memtxt, sizeof(memtxt), "%lld", mem >> 20);
		if (vcpus >= 0)
			snprintf(vctxt, sizeof(vctxt), "%lld", vcpus);
		if (cpu >= 0)
			snprintf(cputxt, sizeof(cputxt), "%.1f", cpu);
		for (char *line = strtok(cons, "\n"); line; line = strtok(NULL, "\n")) {
			char port[16], kind[16], ep[PATH_MAX];
			if (sscanf(line, "%15s %15s %4095s", port, kind, ep) != 3)
				continue;
			int w = snprintf(ctxt + cl, sizeof(ctxt) - cl, "%s%s=%s:%s", cl ? "," : "",
					 port, kind, ep);
			if (w > 0 && (size_t)w < sizeof(ctxt) - cl)
				cl += (size_t)w;
		}
		printf("%-24s %8s %-9s %8s %5s %8s  %s\n", e->name, pid,
		       registry_state_name(e->state), memtxt, vctxt, cputxt, cl ? ctxt : "-");
	}
	lc->n++;
	free(bs);
	return 0;
}

static int bctl_list(bool json)
{
	struct list_ctx lc = { .json = json };
	int rc;

	if (json)
		printf("[");
	else
		printf("%-24s %8s %-9s %8s %5s %8s  %s\n", "NAME", "PID", "STATE", "MEM(MiB)",
		       "VCPUS", "TIME(s)", "CONSOLES");
	rc = registry_foreach(bctl_list_one, &lc);
	if (json)
		printf("%s]\n", lc.n ? "\n" : "");
	if (rc < 0) {
		fprintf(stderr, "bhyvectl: cannot list the run directory: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

/* ---- requests ---- */

static int bctl_connect(const struct registry_entry *e)
{
	char path[PATH_MAX + 16], err[256];
	int fd;

	snprintf(path, sizeof(path), "%s/ctl.sock", e->dir);
	fd = ctl_client_connect(path, err, sizeof(err));
	if (fd < 0)
		fprintf(stderr, "bhyvectl: VM '%s': %s\n", e->name, err);
	return fd;
}

/* One request on its own connection; body returned (free it) or NULL. */
static char *bctl_request(const struct registry_entry *e, const char *req)
{
	char err[256], *body = NULL;
	size_t len;
	int fd = bctl_connect(e), rc;

	if (fd < 0)
		return NULL;
	rc = ctl_client_request(fd, req, &body, &len, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "bhyvectl: VM '%s': %s: %s\n", e->name, req, err);
		return NULL;
	}
	return body;
}

static void bctl_print_get(const char *g, const char *regs, unsigned cpu)
{
	char val[128];
	unsigned long long a = 0, b = 0, c = 0, d = 0;

	if (!strncmp(g, "desc-", 5)) {
		const char *s = g + 5;
		if (registry_kv(regs, s, val, sizeof(val)) < 0)
			return;
		if (!strcmp(s, "gdtr") || !strcmp(s, "idtr")) {
			sscanf(val, "%llx %llx", &a, &b);
			printf("%s desc[%u]\t0x%016llx/0x%08llx\n", s, cpu, a, b);
		} else {
			sscanf(val, "%llx %llx %llx %llx", &a, &b, &c, &d);
			printf("%s desc[%u]\t0x%016llx/0x%08llx/0x%08llx\n", s, cpu, b, c, d);
		}
		return;
	}
	if (registry_kv(regs, g, val, sizeof(val)) < 0)
		return;
	a = strtoull(val, NULL, 16);
	if (in_list(bctl_segs, g))
		printf("%s[%u]\t\t0x%04llx\n", g, cpu, a);
	else
		printf("%s[%u]\t\t0x%016llx\n", g, cpu, a);
}

static int bctl_get_regs(const struct registry_entry *e, const struct opts *o)
{
	char req[32], *regs;

	snprintf(req, sizeof(req), "regs %u", o->cpu);
	regs = bctl_request(e, req);
	if (!regs)
		return 1;
	if (o->all) {
		for (unsigned i = 0; bctl_regs[i]; i++)
			bctl_print_get(bctl_regs[i], regs, o->cpu);
		for (unsigned i = 0; bctl_segs[i]; i++) {
			char d[16];
			bctl_print_get(bctl_segs[i], regs, o->cpu);
			snprintf(d, sizeof(d), "desc-%s", bctl_segs[i]);
			bctl_print_get(d, regs, o->cpu);
		}
		bctl_print_get("desc-gdtr", regs, o->cpu);
		bctl_print_get("desc-idtr", regs, o->cpu);
	}
	for (unsigned i = 0; i < o->ngets; i++)
		bctl_print_get(o->gets[i], regs, o->cpu);
	free(regs);
	return 0;
}

/* ---- console ---- */

static int bctl_console(const struct registry_entry *e, const char *port)
{
	char req[32], err[256], *body = NULL;
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true, bol = true, tilde = false;
	size_t len;
	int fd = bctl_connect(e), rc = 0;

	if (fd < 0)
		return 1;
	snprintf(req, sizeof(req), "console %s", port);
	if (ctl_client_request(fd, req, &body, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "bhyvectl: VM '%s': %s\n", e->name, err);
		close(fd);
		return 1;
	}
	free(body);
	fprintf(stderr, "[attached to %s of VM '%s'; type ~. at the start of a line to detach]\r\n",
		port, e->name);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = false;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
		char buf[4096], out[8192];
		ssize_t n;
		size_t o = 0;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0) {
				fprintf(stderr, "\r\n[the VM closed the console]\r\n");
				break;
			}
			if (write(STDOUT_FILENO, buf, (size_t)n) < 0) {
				rc = 1;
				break;
			}
		}
		if (!p[1].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0) {
			in_open = false; /* keep showing output until the VM goes or ^C */
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			char ch = buf[i];
			if (tilde) {
				tilde = false;
				if (ch == '.')
					goto detach;
				if (ch != '~')
					out[o++] = '~';
				out[o++] = ch;
			} else if (bol && ch == '~') {
				tilde = true;
				continue;
			} else {
				out[o++] = ch;
			}
			bol = ch == '\r' || ch == '\n';
		}
		if (o && send(fd, out, o, MSG_NOSIGNAL) < 0)
			break;
	}
	goto out;
detach:
	fprintf(stderr, "\r\n[detached]\r\n");
out:
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(fd);
	return rc;
}

/* ---- destroy ---- */

static int bctl_destroy(const struct registry_entry *e)
{
	struct registry *r;
	struct registry_entry now;
	char err[256];

	if (e->state == REGISTRY_RUNNING) {
		char *body = bctl_request(e, "destroy");
		if (!body)
			return 1;
		free(body);
		for (int i = 0; i < 200; i++) { /* wait up to 20 s for bhyve to exit */
			if (registry_lookup(e->name, &now) < 0)
				return 0;
			if (now.state != REGISTRY_RUNNING)
				break;
			usleep(100000);
		}
		if (registry_lookup(e->name, &now) == 0 && now.state == REGISTRY_RUNNING) {
			fprintf(stderr, "bhyvectl: VM '%s' (pid %ld) did not exit\n", e->name,
				now.pid);
			return 1;
		}
	}
	if (registry_lock(e->name, false, &r, err, sizeof(err)) < 0) {
		if (registry_lookup(e->name, &now) < 0)
			return 0; /* gone meanwhile */
		fprintf(stderr, "bhyvectl: %s\n", err);
		return 1;
	}
	registry_destroy(r);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct registry_entry e;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = bctl_parse(argc, argv, &o);
	if (rc == -1) {
		bctl_usage(stderr);
		return 1;
	}
	if (rc < 0)
		return 1;
	if (o.list) {
		if (o.vm) {
			fprintf(stderr, "bhyvectl: --list takes no --vm\n");
			return 1;
		}
		return bctl_list(o.json);
	}
	if (!o.vm) {
		bctl_usage(stderr);
		return 1;
	}
	if (o.json) {
		fprintf(stderr, "bhyvectl: --json only goes with --list\n");
		return 1;
	}
	rc = registry_lookup(o.vm, &e);
	if (rc == -EINVAL) {
		fprintf(stderr, "bhyvectl: invalid VM name '%s'\n", o.vm);
		return 1;
	}
	if (rc == -ESTALE && o.destroy && !o.all && !o.ngets && !o.stats && !o.nmi &&
	    !o.console && !o.reset && !o.poweroff)
		return 0; /* the entry of a dead bhyve: removed by the lookup */
	if (rc == -ESTALE) {
		fprintf(stderr, "bhyvectl: VM '%s' does not exist (removed the entry its dead "
			"process left)\n", o.vm);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "bhyvectl: VM '%s' does not exist\n", o.vm);
		return 1;
	}
	bool needs_run = o.all || o.ngets || o.stats || o.nmi || o.console || o.reset ||
			 o.poweroff;
	if (needs_run && e.state != REGISTRY_RUNNING) {
		fprintf(stderr, "bhyvectl: VM '%s' is %s, not running\n", o.vm,
			registry_state_name(e.state));
		return 1;
	}
	if ((o.all || o.ngets) && bctl_get_regs(&e, &o))
		return 1;
	if (o.stats) {
		char req[32], *body;
		if (o.cpu_set)
			snprintf(req, sizeof(req), "stats %u", o.cpu);
		else
			snprintf(req, sizeof(req), "stats");
		if (!(body = bctl_request(&e, req)))
			return 1;
		fputs(body, stdout);
		free(body);
	}
	if (o.nmi) {
		char req[32], *body;
		snprintf(req, sizeof(req), "nmi %u", o.cpu);
		if (!(body = bctl_request(&e, req)))
			return 1;
		free(body);
	}
	if (o.console && bctl_console(&e, o.console_port))
		return 1;
	if (o.reset || o.poweroff) {
		char *body = bctl_request(&e, o.reset ? "reset" : "poweroff");
		if (!body)
			return 1;
		free(body);
	}
	if (o.destroy)
		return bctl_destroy(&e);
	return 0;
}
