/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
#ifndef NF_OPTS_H
#define NF_OPTS_H

#include <getopt.h>

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
