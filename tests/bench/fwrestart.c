/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * fwrestart: NFShmXFrame's own --Restart, reproduced for the benchmark:
 * read the PID file, send 31, then kill(pid, 0) once a second for up to
 * 10 s, and start the new server when it fails.
 * usage: fwrestart PIDFILE COMMAND [ARG ...]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	FILE *f;
	int pid = 0;

	if (argc < 3 || !(f = fopen(argv[1], "r")))
		return 2;
	if (fscanf(f, "%d", &pid) != 1 || pid < 2)
		return 2;
	fclose(f);
	kill(pid, 31);
	for (int i = 0; i < 10; i++) {
		sleep(1);
		if (kill(pid, 0) != 0)
			break;
	}
	if (kill(pid, 0) == 0)
		return 1;	/* the framework gives up and exits */
	unlink(argv[1]);
	execvp(argv[2], argv + 2);
	return 127;
}
