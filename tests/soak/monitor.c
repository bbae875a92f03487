/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * monitor: the soak's watcher, every 2 ms until SIGTERM.
 *   monitor PIDFILE KEY OUT
 * - the server's SysV segment (KEY, from /proc/sysvipc/shm): its shmid
 *   must never change and it must never vanish once seen; its nattch says
 *   when to look harder;
 * - live fixture servers (argv[0] ending in nfserver, with -S; not --peek):
 *   never more than one at any moment (a full /proc scan every 20 ms, and
 *   at once whenever the segment has two attachments);
 * - PIDFILE: absent, empty (between the server's truncate and write) or a
 *   whole PID; each new value is checked to be a fixture server when first
 *   seen (those already gone are listed for the driver to match against
 *   its logs); the longest stretch it named no live process is reported.
 * On SIGTERM it writes "name value" lines to OUT and exits. OUT.events
 * has a line for every change it saw, with its time (ms, monotonic): what
 * the PID file holds, which servers are alive.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXV 8192

static volatile sig_atomic_t done;
static FILE *ev;

static struct {
	long samples, scans, max_servers, multi, torn, empty, absent;
	long shm_changes, shm_gone, nvals, nunver, max_dead_ms;
	int shmid, seen_shm;
	char multi_pids[256], torn_text[128];
	int vals[MAXV];
	int unver[MAXV];
} m = { .shmid = -1 };

static void
on_term(int s)
{
	(void)s;
	done = 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t
slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r, t = 0;

	if (fd < 0)
		return -1;
	while ((size_t)t < n - 1 && (r = read(fd, buf + t, n - 1 - (size_t)t)) > 0)
		t += r;
	close(fd);
	buf[t] = '\0';
	return t;
}

/* The state letter of PID, 0 when gone. */
static char
state(int pid)
{
	char p[64], b[512], *e;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if (slurp(p, b, sizeof(b)) <= 0 || !(e = strrchr(b, ')')) || !e[1])
		return 0;
	return e[2];
}

static int
live(int pid)
{
	char s = state(pid);

	return s && s != 'Z' && s != 'X' && s != 'x';
}

/* Is PID a fixture server (not --peek)? */
static int
is_server(int pid)
{
	char p[64], b[4096], *a, *base;
	ssize_t n;
	int dashS = 0;

	snprintf(p, sizeof(p), "/proc/%d/cmdline", pid);
	if ((n = slurp(p, b, sizeof(b))) <= 0)
		return 0;
	base = strrchr(b, '/');
	base = base ? base + 1 : b;
	if (strcmp(base, "nfserver") != 0)
		return 0;
	for (a = b; a < b + n; a += strlen(a) + 1) {
		if (!strcmp(a, "--peek"))
			return 0;
		if (!strcmp(a, "-S"))
			dashS = 1;
	}
	return dashS;
}

static long long now_ms(void);

static void
scan(void)
{
	static char last[256];
	char cur[256];
	size_t cl = 0;

	DIR *d = opendir("/proc");
	struct dirent *e;
	int pids[64], n = 0;

	m.scans++;
	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid = atoi(e->d_name);

		if (pid > 1 && is_server(pid) && live(pid) && n < 64)
			pids[n++] = pid;
	}
	closedir(d);
	cur[0] = '\0';
	for (int i = 0; i < n && cl < sizeof(cur) - 12; i++)
		cl += (size_t)snprintf(cur + cl, sizeof(cur) - cl, "%s%d",
		    cl ? "," : "", pids[i]);
	if (strcmp(cur, last)) {
		fprintf(ev, "%lld servers %s\n", now_ms(), n ? cur : "-");
		memcpy(last, cur, sizeof(last));
	}
	if (n > 1)
		m.multi++;
	if (n > 1 && n >= m.max_servers) {
		/* The PIDs of the worst moment. */
		size_t l = 0;

		for (int i = 0; i < n && l < sizeof(m.multi_pids) - 12; i++)
			l += (size_t)snprintf(m.multi_pids + l,
			    sizeof(m.multi_pids) - l, "%s%d", l ? "," : "",
			    pids[i]);
	}
	if (n > m.max_servers)
		m.max_servers = n;
}

/* nattch of KEY, -1 when there is no such segment. */
static long
segment(long key)
{
	static char b[1 << 16];
	char *l;

	if (slurp("/proc/sysvipc/shm", b, sizeof(b)) < 0)
		return -1;
	for (l = strchr(b, '\n'); l && *++l; l = strchr(l, '\n')) {
		long k, id, na;
		unsigned long sz;
		int perms, cpid, lpid;

		if (sscanf(l, "%ld %ld %o %lu %d %d %ld", &k, &id, &perms, &sz,
		    &cpid, &lpid, &na) == 7 && (k == key ||
		    (unsigned long)k == (unsigned long)(unsigned)key)) {
			if (!m.seen_shm) {
				m.seen_shm = 1;
				m.shmid = (int)id;
			} else if (id != m.shmid) {
				m.shm_changes++;
				m.shmid = (int)id;
			}
			return na;
		}
	}
	if (m.seen_shm)
		m.shm_gone++;
	return -1;
}

static int
known(int v)
{
	for (long i = 0; i < m.nvals; i++)
		if (m.vals[i] == v)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	long key, iter = 0;
	long long dead_since = -1;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: monitor PIDFILE KEY OUT\n");
		return 2;
	}
	key = strtol(argv[2], NULL, 0);
	{
		char p[4096];

		snprintf(p, sizeof(p), "%s.events", argv[3]);
		if (!(ev = fopen(p, "w")))
			return 3;
		setvbuf(ev, NULL, _IOLBF, 0);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!done) {
		static char lastpf[80] = "?";
		char b[80];
		ssize_t n = slurp(argv[1], b, sizeof(b));
		const char *show = n < 0 ? "absent" : n == 0 ? "empty" : b;

		if (strcmp(show, lastpf)) {
			fprintf(ev, "%lld pidfile %s\n", now_ms(), show);
			snprintf(lastpf, sizeof(lastpf), "%s", show);
		}
		long na;
		int v = 0, dead = 0;

		m.samples++;
		na = segment(key);
		if (na >= 2 || iter++ % 10 == 0)
			scan();
		if (n < 0)
			m.absent++;
		else if (n == 0)
			m.empty++;
		else {
			char *e;
			long x = strtol(b, &e, 10);

			if (e == b || (*e && strcmp(e, "\n")) || x < 2 ||
			    x > 4194304) {
				m.torn++;
				snprintf(m.torn_text, sizeof(m.torn_text), "%s", b);
			} else {
				v = (int)x;
				if (!known(v) && m.nvals < MAXV) {
					m.vals[m.nvals++] = v;
					if (!is_server(v))
						m.unver[m.nunver++] = v;
				}
				dead = !live(v);
			}
		}
		if (dead && dead_since < 0)
			dead_since = now_ms();
		if (!dead && dead_since >= 0) {
			long long d = now_ms() - dead_since;

			if (d > m.max_dead_ms)
				m.max_dead_ms = d;
			dead_since = -1;
		}
		{
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
		}
	}
	if (dead_since >= 0 && now_ms() - dead_since > m.max_dead_ms)
		m.max_dead_ms = now_ms() - dead_since;
	fclose(ev);
	if (!(f = fopen(argv[3], "w")))
		return 3;
	fprintf(f, "samples %ld\nscans %ld\nmax_servers %ld\nmulti %ld\n"
	    "multi_pids %s\ntorn %ld\ntorn_text %s\nempty %ld\nabsent %ld\n"
	    "shmid %d\nshm_changes %ld\nshm_gone %ld\npidfile_values %ld\n"
	    "max_dead_ms %ld\nunverified", m.samples, m.scans, m.max_servers,
	    m.multi, m.multi_pids[0] ? m.multi_pids : "-", m.torn,
	    m.torn_text[0] ? m.torn_text : "-", m.empty, m.absent, m.shmid,
	    m.shm_changes, m.shm_gone, m.nvals, m.max_dead_ms);
	for (long i = 0; i < m.nunver; i++)
		fprintf(f, " %d", m.unver[i]);
	fprintf(f, "\n");
	return fclose(f) ? 3 : 0;
}
