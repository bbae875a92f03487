/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * pidfd where the kernel has it (5.3+); musl has the numbers, not the
 * wrappers. NF_NO_PIDFD=1 forces the fallback, for the tests and for
 * seccomp profiles that answer EPERM.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "nf.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static int avail = -1;

int
nf_pidfd_ok(void)
{
	if (avail < 0) {
		const char *e = getenv("NF_NO_PIDFD");

		avail = !(e && *e && !(e[0] == '0' && !e[1]));
	}
	return avail;
}

int
nf_pidfd_open(pid_t pid)
{
	long fd;

	if (!nf_pidfd_ok()) {
		errno = ENOSYS;
		return -1;
	}
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		if (errno == ENOSYS || errno == EPERM) {
			nf_debug("pidfd_open: %m: using kill() with checks");
			avail = 0;
			errno = ENOSYS;
		}
		return -1;
	}
	return (int)fd;
}

int
nf_pidfd_send(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}
