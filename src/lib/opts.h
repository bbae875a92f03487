/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
#ifndef NF_OPTS_H
#define NF_OPTS_H

#include <getopt.h>	/* struct option and its has_arg values only */

/* opt.c: getopt_long(3) without stdio; see there. */
extern char *nf_optarg;
extern int nf_optind;
extern const char *nf_optbad;
extern char nf_opterr[128];
int nf_getopt(int argc, char **argv, const char *so, const struct option *lo);
/* After a '+' parse: COMMAND that an option or -- follows, or a directory
 * as COMMAND, is a usage error (2) that names the word. */
void nf_ecmd_placed(int argc, char **argv, int dirgiven);

/* Long-only options share numbers across the tools. */
enum {
	NF_OPT_NAME = 256,
	NF_OPT_SHM,
	NF_OPT_UNSAFE,
	NF_OPT_FORCE,
	NF_OPT_ANY,
	NF_OPT_READY_FILE,
	NF_OPT_READY_TCP,
	NF_OPT_READY_FD,
	NF_OPT_READY_TIMEOUT,
	NF_OPT_HOLD,
	NF_OPT_TOOL	/* tools number their own long options from here */
};

#define NF_ADDR_SHORT "p:S:I:C:"
#define NF_ADDR_LONG \
	{ "pidfile", required_argument, NULL, 'p' }, \
	{ "server", required_argument, NULL, 'S' }, \
	{ "id", required_argument, NULL, 'I' }, \
	{ "chdir", required_argument, NULL, 'C' }, \
	{ "name", required_argument, NULL, NF_OPT_NAME }, \
	{ "shm", required_argument, NULL, NF_OPT_SHM }, \
	{ "unsafe-pidfile", no_argument, NULL, NF_OPT_UNSAFE }
#define NF_COMMON_LONG \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }

#endif
