/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfxloop: NFShmXFrame's own wait, reproduced from its --Restart path for
 * the bench: send 31 to the old PID, then up to 10 times sleep one second
 * and look with kill(pid, 0); give up (exit 1) if it is still there.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	pid_t pid;

	if (argc != 2 || (pid = (pid_t)atoi(argv[1])) < 2)
		return 2;
	kill(pid, 31);
	for (int i = 0; i < 10; i++) {
		sleep(1);
		if (kill(pid, 0) != 0)
			return 0;
	}
	return 1;
}
