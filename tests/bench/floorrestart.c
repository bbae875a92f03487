/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * floorrestart: the least a restart can do, for the benchmark's floor:
 * read the PID file, open a pidfd, signal, poll until the exit, remove the
 * file, exec the new server. No checks, no lock: what the kernel, fork and
 * exec cost, which no tool can go below.
 * usage: floorrestart PIDFILE SIG COMMAND [ARG ...]
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "floorstop.h"

int
main(int argc, char **argv)
{
	int r;

	if (argc < 4)
		return 2;
	if ((r = floor_stop(argv[1], atoi(argv[2]))) != 0)
		return r;
	execvp(argv[3], argv + 3);
	return 127;
}
