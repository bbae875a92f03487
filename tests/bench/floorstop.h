/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The floors' shared first half (floorrestart.c, floordaemon.c): the old
 * server's end, the least way. Read its PID file, open a pidfd, signal,
 * poll until it has exited, remove the file. 0, 2 for a PID file that
 * names no PID, 3 for a call that failed.
 */
#include <sys/syscall.h>

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

static int
floor_stop(const char *pidfile, int sig)
{
	struct pollfd p;
	FILE *f;
	int pid = 0, fd;

	if (!(f = fopen(pidfile, "r")))
		return 2;
	if (fscanf(f, "%d", &pid) != 1 || pid < 2)
		return 2;
	fclose(f);
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return 3;
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		return 3;
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, -1) != 1)
		;
	unlink(pidfile);
	return 0;
}
