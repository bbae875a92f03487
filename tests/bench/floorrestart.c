/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * floorrestart: the least a restart can do, for the benchmark's floor:
 * read the PID file, open a pidfd, signal, poll until the exit, remove the
 * file, exec the new server. No checks, no lock: what the kernel, fork and
 * exec cost, which no tool can go below.
 * usage: floorrestart PIDFILE SIG COMMAND [ARG ...]
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct pollfd p;
	FILE *f;
	int pid = 0, fd;

	if (argc < 4 || !(f = fopen(argv[1], "r")))
		return 2;
	if (fscanf(f, "%d", &pid) != 1 || pid < 2)
		return 2;
	fclose(f);
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return 3;
	if (syscall(SYS_pidfd_send_signal, fd, atoi(argv[2]), NULL, 0) < 0)
		return 3;
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, -1) != 1)
		;
	unlink(argv[1]);
	execvp(argv[3], argv + 3);
	return 127;
}
