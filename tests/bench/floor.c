/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * floor: the least a waiter can do (pidfd_open, poll, exit), so that the
 * bench can tell what the shell, fork and exit cost from what a tool adds.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct pollfd p;

	if (argc != 2)
		return 2;
	p.fd = (int)syscall(SYS_pidfd_open, atoi(argv[1]), 0);
	p.events = POLLIN;
	if (p.fd < 0)
		return 1;
	return poll(&p, 1, -1) == 1 ? 0 : 1;
}
