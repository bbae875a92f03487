/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * stamp: a stand-in server for the restart benchmark. It writes its PID
 * file, appends "start NS" to STAMPS when it starts and, on signal 31 or
 * TERM, works for DELAY ms, appends "exit NS" and exits (CLOCK_MONOTONIC).
 * With KEY BYTES it also attaches that SysV segment (created and filled
 * when missing), as a server with its data in shared memory does.
 * usage: stamp PIDFILE STAMPS DELAY_MS [KEY BYTES] | stamp now
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static void
stamp(const char *f, const char *what, long long t)
{
	char buf[64];
	int fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%s %lld %d\n", what, t, (int)getpid());

	if (fd >= 0) {
		(void)!write(fd, buf, (size_t)n);
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	long long t0 = now_ns();
	char buf[32];
	int fd, n;
	struct timespec ts;

	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%lld\n", t0);
		return 0;
	}
	if (argc != 4 && argc != 6)
		return 2;
	signal(31, on_sig);
	signal(SIGTERM, on_sig);
	stamp(argv[2], "start", t0);
	/* The segment first: its PID file says it holds it. */
	if (argc == 6) {
		key_t k = (key_t)strtoul(argv[4], NULL, 0);
		size_t sz = strtoull(argv[5], NULL, 0);
		int id = shmget(k, sz, 0), made = 0;
		char *m;

		if (id < 0 && (id = shmget(k, sz, IPC_CREAT | 0600)) >= 0)
			made = 1;
		if (id < 0 || (m = shmat(id, NULL, 0)) == (void *)-1)
			return 3;
		if (made)
			for (size_t i = 0; i < sz; i++)
				m[i] = (char)(i * 131 + (i >> 12));
	}
	n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return 3;
	close(fd);
	while (!got)
		pause();
	ts.tv_sec = atoi(argv[3]) / 1000;
	ts.tv_nsec = (atoi(argv[3]) % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	stamp(argv[2], "exit", now_ns());
	return 0;
}
