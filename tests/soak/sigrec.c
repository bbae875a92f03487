/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * sigrec: an innocent bystander for the soak and PID-reuse trials. It takes
 * the name COMM (prctl: /proc/PID/comm), catches every signal it can, and
 * appends each one it receives to FILE, one number a line, without dying.
 * FILE is created empty once the handlers are in place: its existence says
 * "ready". SIGKILL and SIGSTOP cannot be caught: the trials see those as a
 * dead or stopped bystander.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd = -1;

static void
on_sig(int s)
{
	char b[8];
	int n = 0;

	if (s >= 10)
		b[n++] = (char)('0' + s / 10);
	b[n++] = (char)('0' + s % 10);
	b[n++] = '\n';
	(void)!write(fd, b, (size_t)n);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	char tmp[4096];

	if (argc != 3 || strlen(argv[1]) > sizeof(tmp) - 8) {
		fprintf(stderr, "usage: sigrec FILE COMM\n");
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0644)) < 0) {
		perror("sigrec: open");
		return 3;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigfillset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	prctl(PR_SET_NAME, argv[2], 0, 0, 0);
	if (rename(tmp, argv[1]) < 0) {
		perror("sigrec: rename");
		return 3;
	}
	for (;;)
		pause();
}
