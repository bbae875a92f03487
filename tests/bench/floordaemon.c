/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * floordaemon: the least a detached restart with readiness can do, for the
 * density benchmark's floor: chdir, read the PID file, open a pidfd,
 * signal, poll until the exit, remove the file, fork once, the child
 * detaches (setsid, stdin /dev/null, stdout/stderr to new.log) and execs
 * the new server, the parent waits for READYFILE to be non-empty. No
 * checks, no lock, no holder: what the kernel, fork and exec cost.
 * usage: floordaemon DIR PIDFILE SIG READYFILE COMMAND [ARG ...]
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "floorstop.h"

int
main(int argc, char **argv)
{
	struct stat st;
	int fd, r;

	if (argc < 6 || chdir(argv[1]) < 0)
		return 2;
	if ((r = floor_stop(argv[2], atoi(argv[3]))) != 0)
		return r;
	switch (fork()) {
	case -1:
		return 3;
	case 0:
		setsid();
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open("new.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[5], argv + 5);
		_exit(127);
	}
	for (;;) {
		struct timespec ts = { 0, 2000000 };

		if (stat(argv[4], &st) == 0 && st.st_size > 0)
			return 0;
		nanosleep(&ts, NULL);
	}
}
