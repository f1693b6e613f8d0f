/* bhyve(8) command line -> configuration tree. */
#ifndef LHYVE_CLI_H
#define LHYVE_CLI_H

#include <stdio.h>

struct config;

#define CLI_CONTINUE (-1) /* parsing done: start the VM */

/* Set the defaults bhyve sets before parsing (memory.size=256M, ...). */
void cli_set_defaults(struct config *cfg);

/*
 * Parse argv as bhyve(8) does. Returns CLI_CONTINUE, or the exit status the
 * process must exit with after the message has been printed on err (or the
 * help text on out): 0 for -h / -s help / -l help, 1 for a usage error,
 * 4 for a bad -s, 64 (EX_USAGE) for an invalid option value. Messages are
 * one line prefixed "bhyve: ".
 */
int cli_parse(int argc, char **argv, struct config *cfg, FILE *out, FILE *err);
/* The usage text (bhyve -h). */
void cli_usage(FILE *f);

#endif
