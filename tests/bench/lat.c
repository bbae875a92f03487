/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * lat: the handoff-latency harness of tests/bench/handoff.sh.
 *
 *   lat [-z] [-n RUNS] [-T SECS] [-w MS] -- SHELL-COMMAND
 *	Each run starts an "old server" that, once signalled (TERM or 31),
 *	works for MS milliseconds (default 50) and exits; the command runs
 *	with $PID and $PIDFILE set, and is meant to signal it and wait for
 *	it. The figure is the time from the old process's exit to the
 *	command's return, in microseconds. Its parent (this program) reaps it
 *	at once, or with -z never while the command runs (a parent that never
 *	reaps: the old process stays a zombie). A command that has not
 *	returned after SECS (default 5) is killed and counts as "never"; so
 *	does one that fails; after -N (default 2) of those with no success,
 *	the rest of the runs are skipped. Prints one line, in microseconds:
 *	"median min p90 ok never timeouts".
 *
 *   lat -M N [-e VAR=VAL] -- PROGRAM ARG...
 *	Starts N idle children, runs PROGRAM with their PIDs on stdin,
 *	waits until it watches them all (it sleeps in epoll_wait, poll or
 *	nanosleep), kills the N and waits for PROGRAM; %P in its
 *	arguments is our PID (the parent of the N). Prints
 *	"N peak_rss_kib wall_us_per_exit cpu_us_per_exit".
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static void
die(const char *what)
{
	perror(what);
	exit(3);
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The old server: ready on fd, then waits for TERM or 31, works, exits. */
static void
victim(int ready, long long work_ms, volatile long long *exit_ns)
{
	struct sigaction sa;
	sigset_t all, none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(31, &sa, NULL);
	sigfillset(&all);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (write(ready, "r", 1) != 1)
		_exit(3);
	close(ready);
	while (!got)
		sigsuspend(&none);
	/* Work: the framework's own shutdown, 1 ms at a time. */
	for (long long end = now_ns() + work_ms * 1000000LL; now_ns() < end;) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	*exit_ns = now_ns();
	_exit(0);
}

static int ntimeouts;

static int
one_run(int zombie, long long work_ms, int secs, const char *cmd,
    const char *dir, long long *out_us)
{
	volatile long long *shared;
	char pidfile[4096], pidbuf[32];
	int p[2], st, ok = 0, timed_out = 0, reaped = 0;
	pid_t v, w;
	long long ret_ns = 0;
	char c;

	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");
	*shared = 0;
	if (pipe(p) < 0)
		die("pipe");
	if ((v = fork()) < 0)
		die("fork");
	if (v == 0) {
		close(p[0]);
		victim(p[1], work_ms, shared);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("victim");
	close(p[0]);
	/* The PID file is written after the process started, as a server
	 * writes its own. */
	snprintf(pidfile, sizeof(pidfile), "%s/old.pid", dir);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)v);
	{
		FILE *f = fopen(pidfile, "w");

		if (!f || fputs(pidbuf, f) == EOF || fclose(f) == EOF)
			die(pidfile);
	}
	if ((w = fork()) < 0)
		die("fork");
	if (w == 0) {
		setpgid(0, 0);
		setenv("PID", pidbuf, 1);
		setenv("PIDFILE", pidfile, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(w, w);
	got = 0;
	alarm((unsigned)secs);
	for (;;) {
		pid_t r = zombie ? waitpid(w, &st, 0) : wait(&st);

		if (r < 0) {
			if (errno == EINTR && got == SIGALRM) {
				timed_out = 1;
				kill(-w, SIGKILL);
				got = 0;
				continue;
			}
			if (errno == EINTR)
				continue;
			die("wait");
		}
		if (r == v) {
			reaped = 1;
			continue;
		}
		if (r == w) {
			ret_ns = now_ns();
			ok = !timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0;
			break;
		}
	}
	alarm(0);
	ntimeouts += timed_out;
	/* Now the old process may go (it should be gone already). */
	if (!reaped) {		/* still our child: the number is still its */
		kill(v, SIGKILL);
		waitpid(v, NULL, 0);
	}
	kill(-w, SIGKILL);
	if (ok && *shared)
		*out_us = (ret_ns - *shared) / 1000;
	else
		ok = 0;
	munmap((void *)shared, 4096);
	return ok;
}

/* Is it asleep waiting for exits (not reading its input, not working)? */
static int
waiting(pid_t pid)
{
	static const char *const ok[] = { "do_epoll_wait", "ep_poll",
	    "do_sys_poll", "hrtimer_nanosleep", "do_nanosleep",
	    "do_select", NULL };
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (int i = 0; ok[i]; i++)
		if (!strcmp(buf, ok[i]))
			return 1;
	return 0;
}

/* VmHWM of a live process, in KiB (ru_maxrss can miss what a tiny
 * process's per-CPU RSS counters have not folded in yet). */
static long
hwm_kib(pid_t pid)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			v = atol(line + 6);
	fclose(f);
	return v;
}

static int
many(long n, char **argv)
{
	pid_t *kids = calloc((size_t)n, sizeof(pid_t)), w;
	int st;
	long hwm;
	struct rusage ru;
	long long t0, t1;
	FILE *f;

	if (!kids)
		die("calloc");
	for (long i = 0; i < n; i++) {
		if ((kids[i] = fork()) < 0)
			die("fork");
		if (kids[i] == 0)
			for (;;)
				pause();
	}
	/* The PIDs go in a file, not a pipe: a program that does not read
	 * its input (pidwait -P) must not block us. */
	if (!(f = tmpfile()))
		die("tmpfile");
	for (long i = 0; i < n; i++)
		fprintf(f, "%d\n", (int)kids[i]);
	if (fflush(f) == EOF || fseek(f, 0, SEEK_SET) < 0)
		die("tmpfile");
	if ((w = fork()) < 0)
		die("fork");
	if (w == 0) {
		int dn = open("/dev/null", O_WRONLY);

		dup2(fileno(f), 0);
		dup2(dn, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	fclose(f);
	/* Ready when it sleeps waiting for exits, twice in a row. */
	for (int tries = 0, seen = 0; tries < 60000 && seen < 2; tries++) {
		seen = waiting(w) ? seen + 1 : 0;
		usleep(1000);
	}
	usleep(20000);
	hwm = hwm_kib(w);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	if (wait4(w, &st, 0, &ru) < 0)
		die("wait4");
	t1 = now_ns();
	while (wait(NULL) > 0)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "lat: %s exited with %d\n", argv[0], st);
		return 1;
	}
	printf("%ld %ld %.2f %.2f\n", n, ru.ru_maxrss > hwm ? ru.ru_maxrss : hwm,
	    (double)(t1 - t0) / 1000.0 / (double)n,
	    ((double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec) /
	    (double)n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	int c, zombie = 0, runs = 10, secs = 5, giveup = 2;
	long long work = 50;
	long n = 0;
	char dir[] = "/tmp/nflat.XXXXXX";

	while ((c = getopt(argc, argv, "+zn:N:T:w:M:e:")) != -1) {
		switch (c) {
		case 'z': zombie = 1; break;
		case 'n': runs = atoi(optarg); break;
		case 'N': giveup = atoi(optarg); break;
		case 'T': secs = atoi(optarg); break;
		case 'w': work = atoll(optarg); break;
		case 'M': n = atol(optarg); break;
		case 'e': putenv(optarg); break;
		default:
			fprintf(stderr, "usage: lat [-z] [-n RUNS] [-T SECS] "
			    "[-w MS] -- CMD | lat -M N [-e V=X] -- PROG ARG...\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (n > 0) {
		static char self[32];

		snprintf(self, sizeof(self), "%d", (int)getpid());
		for (int i = 0; i < argc; i++)
			if (!strcmp(argv[i], "%P"))
				argv[i] = self;
		return many(n, argv);
	}
	if (!mkdtemp(dir))
		die("mkdtemp");
	{
		long long *v = calloc((size_t)runs, sizeof(*v));
		int ok = 0, never = 0;

		if (!v)
			die("calloc");
		for (int i = 0; i < runs; i++) {
			long long us;

			if (one_run(zombie, work, secs, argv[0], dir, &us))
				v[ok++] = us;
			else if (++never >= giveup && ok == 0)
				break;	/* it never returns here: do not insist */
		}
		qsort(v, (size_t)ok, sizeof(*v), cmp);
		if (ok)
			printf("%lld %lld %lld %d %d %d\n", ok % 2 ? v[ok / 2] :
			    (v[ok / 2 - 1] + v[ok / 2]) / 2, v[0],
			    v[(ok * 9) / 10 < ok ? (ok * 9) / 10 : ok - 1], ok,
			    never, ntimeouts);
		else
			printf("- - - 0 %d %d\n", never, ntimeouts);
		free(v);
	}
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/old.pid", dir);
		unlink(path);
		rmdir(dir);
	}
	return 0;
}
