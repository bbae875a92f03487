/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart: the whole handoff in one command. Take the restart lock, find
 * and judge the old server, check that its data would survive, stop it,
 * wait, remove its PID file, and exec the new server -- holding the lock
 * until the new server is visible, so two restarts never interleave and a
 * second server is never started beside the first.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/opts.h"
#include "lib/shm.h"
#include "lib/shmhdr.h"
#include "nfrestart-notify.h"

static const char usage_text[] =
"usage: nfrestart [-dnqvw] [-p FILE | -S SERVER -I ID] [-C DIR] [-s SIG]\n"
"                 [-t DUR] [-r SCHEDULE] [-o LOG] [--shm KEY]... [--name NAME]\n"
"                 [--ready-file FILE | --ready-tcp [HOST:]PORT | --ready-fd N]\n"
"                 [--ready-timeout DUR] [--new] [--force] [--unsafe-pidfile]\n"
"                 [--] [COMMAND [ARG ...]]\n"
"       nfrestart -h | -V\n";

#define MAXSHM 16

static struct {
	struct nf_addr a;
	int sig;
	long long tmo;			/* -t: every wait; -1 if not given */
	struct nf_sched sched;
	int has_sched;
	int wflag, dflag, force, dry;
	int newok;			/* --new: a first start is allowed */
	const char *log;
	uint32_t shm[MAXSHM];		/* --shm keys */
	int nshm;
	uint32_t objkey;		/* -S/-I's object segment */
	int has_obj;
	const char *ready_file, *ready_tcp;
	int ready_fd;
	long long ready_ms;
	int ready_given;		/* --ready-timeout was given */
	char **cmd;
	char lookalike[32];		/* NF{Server}{ID}, as the framework titles */
} o;

static pid_t oldpid;			/* the server we stopped, or 0 */
static int held[MAXSHM];		/* segments we stay attached to */
static int nheld;
static long long t_start;

static void
usage(void)
{
	nf_usage_die(usage_text);
}

/* "3.141 s" from microseconds, without floating point. */
static const char *
secs(long long us, char *buf, size_t n)
{
	if (us < 0)
		us = 0;
	nf_fmt(buf, n, "%lld.%03lld s", us / 1000000, us / 1000 % 1000);
	return buf;
}

/*
 * For the tests only: NF_TEST_PAUSE=STEP:MS stops for MS milliseconds after
 * STEP (locked, judged, exited, removed, forked), so that a test
 * can kill nfrestart there and prove the next run recovers.
 */
static void
pause_at(const char *step)
{
	const char *e = getenv("NF_TEST_PAUSE"), *c, *why;
	unsigned long long ms;
	size_t l = strlen(step);

	if (!e || strncmp(e, step, l) || e[l] != ':')
		return;
	c = e + l + 1;
	if (nf_parse_ulong(c, 0, 600000, &ms, &why) == 0) {
		nf_debug("test pause after %s: %llu ms", step, ms);
		nf_sleep_ms((long long)ms);
	}
}

/* ---- the command: found and runnable before anything is touched ---- */

static int
resolve(const char *cmd, char *path, size_t n)
{
	const char *p, *e;
	int eacces = 0;

	if (strchr(cmd, '/')) {
		nf_fmt(path, n, "%s", cmd);
		if (access(path, X_OK) == 0)
			return 0;
		return errno == ENOENT || errno == ENOTDIR ? NF_NOTFOUND :
		    NF_NOEXEC;
	}
	if (!(p = getenv("PATH")))
		p = "/usr/local/bin:/bin:/usr/bin";
	for (; ; p = e + 1) {
		struct stat st;

		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (e == p)
			nf_fmt(path, n, "%s", cmd);
		else {
			size_t l = (size_t)(e - p);

			if (l >= n - 2)
				l = n - 2;
			memcpy(path, p, l);
			nf_fmt(path + l, n - l, "/%s", cmd);
		}
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(path, X_OK) == 0)
				return 0;
			eacces = 1;
		}
		if (!*e)
			break;
	}
	return eacces ? NF_NOEXEC : NF_NOTFOUND;
}

/* ---- readiness ---- */

struct tcpaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int
parse_tcp(const char *s, struct tcpaddr *t)
{
	char host[64];
	const char *port = s, *why;
	unsigned long long pn;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->ss;

	memset(t, 0, sizeof(*t));
	nf_fmt(host, sizeof(host), "127.0.0.1");
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		port = e + 2;
	} else if (strchr(s, ':')) {
		const char *e = strchr(s, ':');

		if ((size_t)(e - s) >= sizeof(host) || strchr(e + 1, ':'))
			return -1;
		memcpy(host, s, (size_t)(e - s));
		host[e - s] = '\0';
		port = e + 1;
	}
	if (!strcmp(host, "localhost"))
		nf_fmt(host, sizeof(host), "127.0.0.1");
	if (nf_parse_ulong(port, 1, 65535, &pn, &why) < 0)
		return -1;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)pn);
		t->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)pn);
		t->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int
tcp_ready(const struct tcpaddr *t)
{
	int s = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return 0;
	r = connect(s, (const struct sockaddr *)&t->ss, t->len) == 0;
	close(s);
	return r;
}

/* ---- the exit status of a process that is not our child ---- */

#define PIDFD_INFO_EXIT_ (1UL << 3)
struct pidfd_info_ {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid;
	uint32_t fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_GET_INFO_ _IOWR(0xFF, 11, struct pidfd_info_)

/*
 * How did PID end? 1 and *status set when known: from the pidfd (Linux
 * 6.15+, once reaped) or from the zombie's /proc/PID/stat (field 52) before
 * it is reaped. 0 when it cannot be known.
 */
static int
exit_status(pid_t pid, int pfd, int *status)
{
	char path[64], buf[1024];
	int fd;
	ssize_t n;

	for (int tries = 0; tries < 50; tries++) {
		if (pfd >= 0) {
			struct pidfd_info_ info;

			memset(&info, 0, sizeof(info));
			info.mask = PIDFD_INFO_EXIT_;
			if (ioctl(pfd, PIDFD_GET_INFO_, &info) == 0 &&
			    (info.mask & PIDFD_INFO_EXIT_)) {
				*status = info.exit_code;
				return 1;
			}
		}
		nf_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				char *s = strrchr((buf[n] = '\0', buf), ')');
				int f = 2;

				if (s && s[1] == ' ' && s[2] == 'Z') {
					/* Field 52 is the exit code. */
					for (s++; *s && f < 52; s++)
						if (*s == ' ')
							f++;
					if (f == 52) {
						*status = atoi(s);
						return 1;
					}
				}
			}
		} else if (pfd < 0)
			return 0;	/* reaped, and no pidfd to ask */
		/* Exited but not yet reaped, or not yet recorded: a moment. */
		nf_sleep_ms(2);
	}
	return 0;
}

/* ---- the holder: keeps the restart lock (and segments) after exec ---- */

struct holdspec {
	int lockfd;		/* -1: the lock is not the holder's job */
	int segs;		/* segments attached, to keep through the gap */
	int execfd;		/* EOF when the server has exec'd */
	int ppfd;		/* pidfd of the server, or -1 */
	int child;		/* the server is our child (-d): waitpid */
	pid_t server;
	unsigned long long start_ms;	/* the server's, against PID reuse */
	pid_t ours[3];		/* our other processes that hold segments */
};

static int
seg_taken(pid_t self, const pid_t *ours)
{
	pid_t pids[64];

	for (int i = 0; i < o.nshm; i++) {
		int n = nf_seg_attached(o.shm[i], pids, 64), found = 0;

		if (n < 0)
			return 0;
		for (int k = 0; k < n && k < 64; k++)
			if (pids[k] != self && pids[k] != ours[0] &&
			    pids[k] != ours[1] && pids[k] != ours[2])
				found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

static _Noreturn void
hold(struct holdspec *h)
{
	long long deadline;
	int execd = 0, daemonized = 0, lock = h->lockfd >= 0, segs = h->segs;
	int iv = 2;
	pid_t self = getpid();
	const char *why = "ready timeout";
	struct nf_proc now;
	char c;

	setsid();
	/* Forked early, it waits for the word: 'G' just before the exec. End
	 * of file without it: nfrestart gave up, and so does the holder. */
	while (read(h->execfd, &c, 1) < 0 && errno == EINTR)
		;
	if (c != 'G') {
		sd_held(o.dflag, h->server, h->execfd, o.ready_ms);
		_exit(0);
	}
	c = 0;
	fcntl(h->execfd, F_SETFL, O_NONBLOCK);
	deadline = nf_now_us() + o.ready_ms * 1000;
	while (lock || segs) {
		struct pollfd pfd[2];
		int np = 0;

		if (!execd) {
			ssize_t n = read(h->execfd, &c, 1);

			/* EOF: the exec closed the other end (or it died). */
			if (n == 0 || (n < 0 && errno != EAGAIN))
				execd = 1;
		}
		if (lock) {
			struct nf_pidfile pf;
			int q = nf_quiet;

			nf_quiet = 1;
			nf_pidfile_read(o.a.pidfile, 1, &pf);
			nf_quiet = q;
			if (pf.status == NF_PF_OK && pf.pid != oldpid &&
			    (pf.pid != h->server || execd) &&
			    nf_alive(pf.pid) == 1) {
				nf_debug("holder: pid file names %d: restart "
				    "lock released", (int)pf.pid);
				close(h->lockfd);
				lock = 0;
			}
		}
		if (segs && execd && seg_taken(self, h->ours)) {
			nf_debug("holder: the new server has the segments "
			    "attached: detached");
			segs = 0;
			break;
		}
		if (!lock && !segs)
			break;
		if (!daemonized) {
			int dead = 0, st = 0, known = 0;

			if (h->child) {
				/* Our child: its exit status, on any kernel. */
				pid_t w = waitpid(h->server, &st, WNOHANG);

				dead = known = w == h->server;
				if (w < 0 && errno == ECHILD)
					dead = 1;
			} else if (h->ppfd >= 0) {
				pfd[np].fd = h->ppfd;
				pfd[np].events = POLLIN;
				dead = poll(pfd, 1, 0) > 0;
			} else
				dead = nf_alive(h->server) != 1 ||
				    (nf_proc_read(h->server, &now) == 0 &&
				    now.start_ms != h->start_ms);
			if (dead) {
				if (!h->child)
					known = exit_status(h->server, h->ppfd,
					    &st);
				if (known && WIFEXITED(st) &&
				    WEXITSTATUS(st) == 0) {
					/* It daemonized: wait for its PID file. */
					nf_debug("holder: %d exited 0 (daemonized)",
					    (int)h->server);
					daemonized = 1;
				} else if (!known && o.ready_given) {
					/* An older kernel does not say how it
					 * ended; the operator's --ready-timeout
					 * covers a daemonizing server's start. */
					nf_debug("holder: %d ended, how is unknown: "
					    "waiting for its pid file until "
					    "--ready-timeout", (int)h->server);
					daemonized = 1;
				} else {
					why = "the server died";
					break;
				}
			}
		}
		if (nf_now_us() >= deadline)
			break;
		/* 2 ms at first, then slower, up to 50 ms after about a
		 * second: a thousand holders of a mass restart must not
		 * starve the servers they are waiting for. */
		nf_sleep_ms(iv);
		if (iv < 50)
			iv++;
	}
	if (lock || segs)
		nf_debug("holder: %s: restart lock released", why);
	sd_held(o.dflag, h->server, h->execfd, o.ready_ms);
	_exit(0);
}

/* ---- segments through the gap ---- */

/*
 * With kernel.shm_rmid_forced=1 the kernel destroys a segment as soon as no
 * process has it attached: between the old server's exit and the new one's
 * attach, the data would be gone. Stay attached (read-only) through the gap;
 * the holder keeps the attachment until the new server has it too.
 */
static void
hold_segments(void)
{
	if (nf_shm_rmid_forced() != 1)
		return;
	for (int i = 0; i < o.nshm; i++) {
		int id = shmget((key_t)o.shm[i], 0, 0);

		if (id >= 0 && shmat(id, NULL, SHM_RDONLY) != (void *)-1) {
			held[i] = 1;
			nheld++;
			nf_debug("kernel.shm_rmid_forced=1: holding segment "
			    "0x%08x through the gap", (unsigned)o.shm[i]);
		}
	}
}

/* Until nobody but us has KEY attached. */
static int
wait_detached(int i, long long ms)
{
	long long end = nf_now_us() + ms * 1000, step = 1;
	struct nf_seg s;

	if (!held[i])
		return nf_seg_wait_detached(o.shm[i], ms);
	for (;;) {
		if (nf_seg_find(o.shm[i], &s) != 0 || s.nattch <= 1)
			return NF_OK;
		if (nf_now_us() >= end)
			return NF_TIMEOUT;
		nf_sleep_ms(step);
		if (step < 20)
			step++;
	}
}

/* ---- steps ---- */

static int
lookalike(pid_t pid)
{
	struct nf_proc p;
	const char *names[3];
	int n = 0;

	if (nf_proc_read(pid, &p) != 0)
		return 0;
	if (o.a.name)
		names[n++] = o.a.name;
	if (o.cmd && o.cmd[0])
		names[n++] = o.cmd[0];
	if (o.lookalike[0])
		names[n++] = o.lookalike;
	for (int i = 0; i < n; i++)
		if (nf_proc_name_is(pid, &p, names[i]) == 1)
			return 1;
	for (int i = 0; i < o.nshm; i++)
		if (nf_proc_has_shm(pid, o.shm[i]) == 1)
			return 1;
	return 0;
}

static void
name_attached(uint32_t key, const char *what)
{
	pid_t pids[32];
	char buf[256];
	size_t l = 0;
	int n = nf_seg_attached(key, pids, 32);

	buf[0] = '\0';
	for (int i = 0; i < n && i < 32 && l < sizeof(buf) - 16; i++)
		l += nf_fmt(buf + l, sizeof(buf) - l, "%s%d", i ? " " : "",
		    (int)pids[i]);
	if (n < 0)
		nf_fmt(buf, sizeof(buf), "(cannot tell which)");
	nf_warn("segment 0x%08x is still attached by %s: %s", (unsigned)key,
	    buf, what);
}

/* Is any listed segment attached, three looks 2 ms apart? */
static int
still_attached(uint32_t *which)
{
	for (int i = 0; i < o.nshm; i++) {
		int att = 1;

		for (int k = 0; k < 3 && att; k++) {
			struct nf_seg s;

			if (k)
				nf_sleep_ms(2);
			att = nf_seg_find(o.shm[i], &s) == 0 && s.nattch > 0;
		}
		if (att) {
			*which = o.shm[i];
			return 1;
		}
	}
	return 0;
}

static int
preflight(void)
{
	int bad = 0;

	for (int i = 0; i < o.nshm; i++) {
		struct nf_seg s;
		int v, r = nf_seg_find(o.shm[i], &s);

		if (r == 1) {
			nf_debug("preflight: segment 0x%08x does not exist "
			    "(a first start)", (unsigned)o.shm[i]);
			continue;
		}
		if (r < 0) {
			nf_warn("segment 0x%08x: shmctl:", (unsigned)o.shm[i]);
			return NF_SYS;
		}
		nf_seg_warn(&s);
		v = nf_seg_verdict(&s);
		if (v < 0) {
			nf_warn("segment 0x%08x: cannot read its header:",
			    (unsigned)o.shm[i]);
			return NF_SYS;
		}
		nf_debug("preflight: segment 0x%08x: %s", (unsigned)o.shm[i],
		    v == NF_V_NONE ? "not NFShmXFrame's" :
		    nf_shm_verdict_name(v));
		if (v == NF_V_INIT || v == NF_V_REFUSE) {
			if (o.force) {
				nf_warn("segment 0x%08x: verdict %s: going on "
				    "(--force): %s", (unsigned)o.shm[i],
				    nf_shm_verdict_name(v), v == NF_V_INIT ?
				    "its data will be wiped" :
				    "the new server will refuse it");
				continue;
			}
			nf_warn("segment 0x%08x: verdict %s: %s; refusing "
			    "before touching the old server (--force to accept)",
			    (unsigned)o.shm[i], nf_shm_verdict_name(v),
			    v == NF_V_INIT ? "the new server would wipe its data"
			    : "the new server would refuse it and exit");
			bad = 1;
		}
	}
	return bad ? NF_REFUSED : NF_OK;
}

static void
on_exit_cb(pid_t pid, void *arg)
{
	char b[32];

	(void)arg;
	nf_debug("old %d exited after %s", (int)pid,
	    secs(nf_now_us() - t_start, b, sizeof(b)));
}

static int
stop_old(struct nf_pidfile *pf, int forced)
{
	struct nf_target t = { 0 };
	struct nf_sched sc;
	char b[32];
	int r;

	t.pid = oldpid;
	t.pf = forced ? NULL : pf;
	t.name = o.a.name;
	t.has_key = o.nshm > 0;
	t.key = o.nshm ? o.shm[0] : 0;
	if (o.has_sched)
		sc = o.sched;
	else {
		sc.n = 1;
		sc.step[0].sig = o.sig;
		sc.step[0].ms = o.tmo >= 0 ? o.tmo : 10000;
	}
	t_start = nf_now_us();
	nf_debug("old %d: sending %s", (int)oldpid, nf_signame(sc.step[0].sig,
	    b, sizeof(b)));
	/* With -r, -t still bounds the whole wait. */
	r = nf_run_sched_for(&t, 1, &sc, 0, o.has_sched ? o.tmo : -1,
	    on_exit_cb, NULL);
	if (r == NF_TIMEOUT)
		nf_warn("old server %d is still running after %s: nothing "
		    "started, %s still names it", (int)oldpid,
		    secs(nf_now_us() - t_start, b, sizeof(b)), o.a.pidfile);
	return r;
}

/* Remove the old PID file, unless a live process it did not name before
 * is in it now. */
static int
remove_pidfile(const struct nf_pidfile *judged)
{
	struct nf_pidfile pf;
	int q = nf_quiet;

	nf_quiet = 1;
	nf_pidfile_read(o.a.pidfile, o.a.unsafe, &pf);
	nf_quiet = q;
	if (pf.status == NF_PF_ABSENT)
		return NF_OK;
	if (pf.status == NF_PF_OK && !(judged->status == NF_PF_OK &&
	    judged->pid == pf.pid) && nf_alive(pf.pid) == 1) {
		nf_warn("%s: now names %d, a live process: someone started a "
		    "server during the restart; not starting another",
		    o.a.pidfile, (int)pf.pid);
		return NF_REFUSED;
	}
	if (unlink(o.a.pidfile) < 0 && errno != ENOENT) {
		nf_warn("%s: unlink:", o.a.pidfile);
		return NF_SYS;
	}
	nf_debug("%s: removed", o.a.pidfile);
	return NF_OK;
}

/*
 * Everything that forks happens before the old server is signalled, so that
 * nothing but an exec stands between its exit and the new server's start.
 */
static struct {
	int hold_w;		/* to the holder: 'G', then end of file at exec */
	int go_w;		/* -d: the go to the process that will exec */
	int tell_r;		/* -d: its PID, then -errno if the exec failed */
	int rfd_r;		/* -d: the read end of --ready-fd */
	pid_t server;		/* -d: the process that will exec */
	struct stat rst0;	/* --ready-file as it was before */
	int had_rfile;
} L = { -1, -1, -1, -1, 0, { 0 }, 0 };

/*
 * Has a holder a job? The restart lock without -w (the server writes its
 * own PID file, perhaps late); segments held under shm_rmid_forced.
 */
static int
holder_needed(void)
{
	return !o.wflag || nheld || sd_on;
}

/* What both kinds of holder are given: the lock, segments, the exec pipe. */
static void
holder_spec(struct holdspec *h, int lockfd, int execfd, pid_t server)
{
	memset(h, 0, sizeof(*h));
	h->lockfd = o.wflag ? -1 : lockfd;
	h->segs = nheld > 0;
	h->execfd = execfd;
	h->ppfd = -1;
	h->server = server;
}

/* A holder's standard streams: /dev/null, and with -v stderr to ERRFD. */
static void
holder_stdio(int errfd)
{
	int devnull = open("/dev/null", O_RDWR);

	if (devnull < 0)
		return;
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(nf_verbose && errfd >= 0 ? errfd : devnull, 2);
}

/*
 * Without -d, in the process that will exec: fork the holder now, if it has
 * a job. Returns 0, or -errno when the pipe or the fork failed: without its
 * holder the lock would end at the exec, so the caller gives up before any
 * signal.
 */
static int
prefork_holder(int lockfd)
{
	struct holdspec h;
	struct nf_proc pr;
	int p[2], e;
	pid_t me = getpid(), hp;

	if (!holder_needed())
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	holder_spec(&h, lockfd, p[0], me);
	h.ppfd = nf_pidfd_open(me);
	h.start_ms = nf_proc_read(me, &pr) == 0 ? pr.start_ms : 0;
	/*
	 * Fork twice and reap the first: the holder must not linger as a
	 * zombie child of the server, which will not reap what it did not
	 * start.
	 */
	nf_outflush();
	hp = fork();
	if (hp == 0 && fork() != 0)
		_exit(0);
	if (hp == 0) {
		close(p[1]);
		holder_stdio(2);
		hold(&h);
	}
	e = errno;
	close(p[0]);
	if (h.ppfd >= 0)
		close(h.ppfd);
	if (hp < 0) {
		close(p[1]);
		return -e;
	}
	waitpid(hp, NULL, 0);
	L.hold_w = p[1];
	return 0;
}

/*
 * Become the server: with -w write our PID (locked, in place, the lock kept
 * across exec), give the holder its word, exec. Returns only on failure.
 */
static int
exec_server(int tellfd)
{
	int wfd = -1, e;

	if (o.wflag) {
		pid_t holder = 0;
		int r = nf_pidfile_lock(o.a.pidfile, getpid(), 1, &wfd, &holder);

		if (r != NF_OK) {
			/* The old server is gone: whatever the cause, down. */
			int32_t v = NF_DOWN;

			nf_warn("%s: could not write our pid: the new server "
			    "was not started: DOWN", o.a.pidfile);
			if (tellfd >= 0)
				(void)!write(tellfd, &v, sizeof(v));
			return NF_DOWN;
		}
	}
	pause_at("forked");
	if (L.hold_w >= 0)
		(void)!write(L.hold_w, "G", 1);
	if (tellfd >= 0) {
		int32_t z = 0;

		(void)!write(tellfd, &z, sizeof(z));
	}
	nf_outflush();
	execvp(o.cmd[0], o.cmd);
	e = errno;
	if (o.wflag)
		unlink(o.a.pidfile);
	if (tellfd >= 0) {
		int32_t v = -e;

		(void)!write(tellfd, &v, sizeof(v));
	}
	errno = e;
	nf_warn("%s: exec: %m (the old server is gone: DOWN)", o.cmd[0]);
	return e == ENOENT ? NF_NOTFOUND : NF_NOEXEC;
}

static int
offfd(int fd)
{
	int n;

	if (fd < 0 || fd != o.ready_fd)
		return fd;
	if ((n = fcntl(fd, F_DUPFD_CLOEXEC, o.ready_fd + 1)) < 0)
		nf_die(NF_SYS, "fcntl:");
	close(fd);
	return n;
}

/*
 * -d, in the first child, once the second (the server to be) is forked:
 * where a holder is needed, this process is it. As the server's parent it
 * reads its exit status on any kernel, and it costs no further fork.
 */
static _Noreturn void
middle_holds(int lockfd, int logfd, int hpipe, pid_t f, pid_t c2)
{
	static const int ign[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
	    SIGUSR2, SIGPIPE, SIGALRM, NF_SIG_RESTART };
	struct holdspec h;

	/* The server is in this process group: a signal meant for its group
	 * (kill -- -PGID, a reload sent to all) must not end the holder, and
	 * the lock with it. SIGKILL still does. */
	for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++)
		signal(ign[i], SIG_IGN);
	/* -v: the holder's words go where the server's go (under systemd,
	 * the journal). */
	if (!sd_on)
		holder_stdio(logfd);
	holder_spec(&h, lockfd, hpipe, c2);
	h.child = 1;
	h.ours[0] = f;		/* the foreground, attached until it exits */
	if (sd_on) {
		/*
		 * Under systemd the server must be systemd's own child when
		 * it becomes the main PID (systemd waits only for the exit
		 * of a child): the holder is a child of this process, which
		 * exits (0: the holder runs), as in a plain daemonization.
		 */
		struct nf_proc pr;
		pid_t p = fork();

		if (p != 0)
			_exit(p < 0 ? NF_SYS : 0);
		h.child = 0;
		h.ppfd = nf_pidfd_open(c2);
		h.start_ms = nf_proc_read(c2, &pr) == 0 ? pr.start_ms : 0;
		/* A server that exits is not taken for one that daemonized:
		 * systemd would stop the unit at that exit anyway. */
		o.ready_given = 0;
	}
	hold(&h);
}

/*
 * -d, before the old server is signalled: fork, setsid, fork. The second
 * child waits for the go (end of file without it: we gave up); the first
 * holds the restart lock (and segments) for it, or exits.
 */
static void
prepare_daemon(int lockfd, int logfd)
{
	int tell[2], go[2], rfd[2] = { -1, -1 };
	pid_t c1, f = getpid();
	int32_t v;

	if (pipe2(tell, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    sd_pipe(oldpid) < 0)
		nf_die(NF_SYS, "pipe:");
	if (o.ready_fd >= 0 && pipe2(rfd, O_CLOEXEC) < 0)
		nf_die(NF_SYS, "pipe:");
	if (o.ready_fd >= 0) {
		/* Nothing of ours may sit on the number the server writes to. */
		lockfd = offfd(lockfd);
		logfd = offfd(logfd);
		tell[1] = offfd(tell[1]);
		go[0] = offfd(go[0]);
		rfd[0] = offfd(rfd[0]);
	}
	nf_outflush();
	if ((c1 = fork()) < 0)
		nf_die(NF_SYS, "fork:");
	if (c1 == 0) {
		pid_t c2;
		int devnull, hp[2] = { -1, -1 };
		char c = 0;

		close(tell[0]);
		close(go[1]);
		if (rfd[0] >= 0)
			close(rfd[0]);
		setsid();
		/* The holder's word ('G', then end of file at the exec). */
		nf_outflush();
		if ((holder_needed() && pipe2(hp, O_CLOEXEC) < 0) ||
		    (c2 = fork()) < 0) {
			v = -errno;
			(void)!write(tell[1], &v, sizeof(v));
			_exit(NF_SYS);
		}
		if (c2 > 0) {
			/* Nothing of the server's or the foreground's ends may
			 * stay open here: end of file on them means something. */
			close(tell[1]);
			close(go[0]);
			if (rfd[1] >= 0)
				close(rfd[1]);
			if (hp[0] < 0)
				_exit(0);
			close(hp[1]);
			sd_role(1);
			middle_holds(lockfd, logfd, hp[0], f, c2);
		}
		if (hp[0] >= 0) {
			close(hp[0]);
			L.hold_w = hp[1];
		}
		sd_role(2);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0)
			dup2(devnull, 0);
		/* Under systemd, without -o: the unit's own (the journal). */
		if (logfd < 0 && !sd_on)
			logfd = devnull;
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		if (rfd[1] >= 0) {
			if (rfd[1] == o.ready_fd)
				fcntl(rfd[1], F_SETFD, 0);
			else {
				dup2(rfd[1], o.ready_fd);
				close(rfd[1]);
			}
		}
		/* The process that will exec: tell the foreground who it is. */
		v = (int32_t)getpid();
		(void)!write(tell[1], &v, sizeof(v));
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		if (c != 'g')
			sd_abandoned(L.hold_w);
		_exit(exec_server(tell[1]));
	}
	close(tell[1]);
	close(go[0]);
	if (rfd[1] >= 0)
		close(rfd[1]);
	sd_role(0);
	/* The first child stays as the holder, or has exited: it is not
	 * waited for (a zombie until we exit). */
	if (read(tell[0], &v, sizeof(v)) != sizeof(v) || v == 0)
		nf_die(NF_SYS, "fork: the process for the new server did not "
		    "start; nothing was touched");
	if (v < 0) {
		errno = -v;
		nf_die(NF_SYS, "fork (the new server and its lock holder): %m; "
		    "nothing was touched");
	}
	if (sd_on && sd_middle(c1) != 0)
		nf_die(NF_SYS, "fork (the restart lock holder) failed; nothing "
		    "was touched");
	L.server = (pid_t)v;
	L.go_w = go[1];
	L.tell_r = tell[0];
	L.rfd_r = rfd[0];
}

/* -d, after the old server is gone: go, then wait for readiness. */
static int
launch_daemon(void)
{
	pid_t server = L.server;
	struct tcpaddr ta;
	long long deadline;
	int32_t v;
	ssize_t n;
	int spfd, iv = 2;
	char b[32];

	spfd = nf_pidfd_open(server);
	/*
	 * If that process has died (OOM-killed, killed by hand), the write
	 * fails with EPIPE: say DOWN, rather than die of SIGPIPE without a
	 * word. This process never execs, so the server does not inherit it.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (write(L.go_w, "g", 1) != 1) {
		nf_warn("the process for the new server is gone: DOWN");
		return NF_DOWN;
	}
	/*
	 * A zero just before the exec, then end of file: the exec happened;
	 * a negative errno: it failed. End of file without the zero: that
	 * process died (was killed) before it got there.
	 */
	n = read(L.tell_r, &v, sizeof(v));
	if (n == 0) {
		nf_warn("the process for the new server %d died before its "
		    "exec: DOWN", (int)server);
		return NF_DOWN;
	}
	if (n == sizeof(v) && v == 0)
		n = read(L.tell_r, &v, sizeof(v));
	if (n == sizeof(v) && v < 0) {
		errno = -v;
		nf_warn("%s: exec: %m (the old server is gone: DOWN)", o.cmd[0]);
		return -v == ENOENT ? NF_NOTFOUND : NF_NOEXEC;
	}
	if (n == sizeof(v) && v > 0) {
		nf_warn("the new server could not be started (%d): DOWN",
		    (int)v);
		return (int)v;
	}
	nf_debug("new server %d started (daemonized)", (int)server);
	if (!o.ready_file && !o.ready_tcp && o.ready_fd < 0)
		return NF_OK;
	if (o.ready_tcp)
		parse_tcp(o.ready_tcp, &ta);
	deadline = nf_now_us() + o.ready_ms * 1000;
	t_start = nf_now_us();
	for (;;) {
		struct stat rs;
		struct pollfd p[2];
		int np = 0;

		if (o.ready_file && stat(o.ready_file, &rs) == 0 &&
		    rs.st_size > 0 && (!L.had_rfile ||
		    rs.st_ino != L.rst0.st_ino ||
		    rs.st_mtim.tv_sec != L.rst0.st_mtim.tv_sec ||
		    rs.st_mtim.tv_nsec != L.rst0.st_mtim.tv_nsec ||
		    rs.st_size != L.rst0.st_size))
			break;
		if (o.ready_tcp && tcp_ready(&ta))
			break;
		if (L.rfd_r >= 0) {
			p[np].fd = L.rfd_r;
			p[np++].events = POLLIN;
		}
		if (spfd >= 0) {
			p[np].fd = spfd;
			p[np++].events = POLLIN;
		}
		/* A ready file or port is looked at every 2 ms at first,
		 * then less often, up to 20 ms (a fd or the server's death
		 * wakes the poll at once). */
		if (np)
			poll(p, (nfds_t)np, iv);
		else
			nf_sleep_ms(iv);
		if (iv < 20)
			iv++;
		if (L.rfd_r >= 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			char line[256];

			n = read(L.rfd_r, line, sizeof(line));
			if (n > 0 && memchr(line, '\n', (size_t)n))
				break;
			if (n == 0) {
				nf_warn("new server %d closed fd %d without a "
				    "line: not ready: DOWN", (int)server,
				    o.ready_fd);
				return NF_DOWN;
			}
		}
		if (nf_alive(server) == 0) {
			nf_warn("new server %d died before it was ready: DOWN",
			    (int)server);
			return NF_DOWN;
		}
		if (nf_now_us() >= deadline) {
			nf_warn("new server %d not ready after %s: DOWN",
			    (int)server, secs(nf_now_us() - t_start, b,
			    sizeof(b)));
			return NF_DOWN;
		}
	}
	nf_debug("new server %d ready after %s", (int)server,
	    secs(nf_now_us() - t_start, b, sizeof(b)));
	return NF_OK;
}

/*
 * No old server and none of the segments: not a restart. Without --new,
 * say so (a mistyped ID must not start a new, empty server): 1.
 */
static int
first_start(const struct nf_pidfile *pf)
{
	struct nf_seg s;

	for (int i = 0; i < o.nshm; i++)
		if (nf_seg_find(o.shm[i], &s) != 1)
			return 0;
	nf_warn("%s %s and segment 0x%08x does not exist: nothing to "
	    "restart, nothing started (a first start needs --new)",
	    o.a.pidfile, pf->status == NF_PF_ABSENT ? "was not found" :
	    "names no live server", (unsigned)o.shm[0]);
	return 1;
}

/* Under systemd, for the holder of a start: is the new server ready? */
int
nfr_ready_now(void)
{
	struct stat rs;
	struct tcpaddr ta;

	if (o.ready_file)
		return stat(o.ready_file, &rs) == 0 && rs.st_size > 0 &&
		    (!L.had_rfile || rs.st_ino != L.rst0.st_ino ||
		    rs.st_mtim.tv_sec != L.rst0.st_mtim.tv_sec ||
		    rs.st_mtim.tv_nsec != L.rst0.st_mtim.tv_nsec ||
		    rs.st_size != L.rst0.st_size);
	if (o.ready_tcp)
		return parse_tcp(o.ready_tcp, &ta) == 0 && tcp_ready(&ta);
	return 1;
}

static void
plan(const char *what, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	nf_vfmt(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nf_out("%s\t%s\n", what, buf);
}

static void
parse(int argc, char **argv)
{
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retry", required_argument, NULL, 'r' },
		{ "write-pidfile", no_argument, NULL, 'w' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, NF_OPT_FORCE },
		{ "ready-file", required_argument, NULL, NF_OPT_READY_FILE },
		{ "ready-tcp", required_argument, NULL, NF_OPT_READY_TCP },
		{ "ready-fd", required_argument, NULL, NF_OPT_READY_FD },
		{ "ready-timeout", required_argument, NULL,
		    NF_OPT_READY_TIMEOUT },
		{ "new", no_argument, NULL, NF_OPT_TOOL },
		{ NULL, 0, NULL, 0 }
	};
	const char *why, *sarg = NULL, *rarg = NULL;
	unsigned long long v;
	struct tcpaddr ta;
	int c, nready = 0;

	o.tmo = -1;
	o.ready_fd = -1;
	o.ready_ms = 30000;
	while ((c = getopt_long(argc, argv, "+" NF_ADDR_SHORT "dhno:qr:s:t:vVw",
	    lo, NULL)) != -1) {
		switch (c) {
		case NF_OPT_SHM:
			if (o.nshm >= MAXSHM)
				nf_die(NF_USAGE, "--shm: at most %d keys", MAXSHM);
			if (nf_parse_key(optarg, &o.shm[o.nshm], &why) < 0)
				nf_die(NF_USAGE, "--shm %s: %s", optarg, why);
			o.nshm++;
			continue;
		case 'd':
			o.dflag = 1;
			continue;
		case 'n':
			o.dry = 1;
			continue;
		case 'o':
			o.log = optarg;
			continue;
		case 'r':
			rarg = optarg;
			continue;
		case 's':
			sarg = optarg;
			continue;
		case 't':
			if (nf_parse_dur(optarg, &o.tmo, &why) < 0)
				nf_die(NF_USAGE, "-t %s: %s", optarg, why);
			continue;
		case 'w':
			o.wflag = 1;
			continue;
		case NF_OPT_FORCE:
			o.force = 1;
			continue;
		case NF_OPT_TOOL:
			o.newok = 1;
			continue;
		case NF_OPT_READY_FILE:
			if (!*optarg)
				nf_die(NF_USAGE, "--ready-file: empty name");
			o.ready_file = optarg;
			nready++;
			continue;
		case NF_OPT_READY_TCP:
			if (parse_tcp(optarg, &ta) < 0)
				nf_die(NF_USAGE, "--ready-tcp %s: not [HOST:]PORT "
				    "(HOST an IP address)", optarg);
			o.ready_tcp = optarg;
			nready++;
			continue;
		case NF_OPT_READY_FD:
			if (nf_parse_ulong(optarg, 3, 1023, &v, &why) < 0)
				nf_die(NF_USAGE, "--ready-fd %s: %s (3..1023)",
				    optarg, why);
			o.ready_fd = (int)v;
			nready++;
			continue;
		case NF_OPT_READY_TIMEOUT:
			if (nf_parse_dur(optarg, &o.ready_ms, &why) < 0)
				nf_die(NF_USAGE, "--ready-timeout %s: %s", optarg,
				    why);
			o.ready_given = 1;
			continue;
		default:
			if (nf_addr_opt(&o.a, c, optarg) ||
			    nf_common_opt(c, usage_text, "nfrestart"))
				continue;
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	o.cmd = argc > 0 ? argv : NULL;
	nf_addr_finish(&o.a, 1);
	if (o.a.server) {
		o.objkey = o.a.key;
		o.has_obj = 1;
		nf_fmt(o.lookalike, sizeof(o.lookalike), "NF%s%s", o.a.server,
		    o.a.id);
		o.lookalike[15] = '\0';
		/* The object segment is checked like any --shm KEY. */
		{
			int dup = 0;

			for (int i = 0; i < o.nshm; i++)
				dup |= o.shm[i] == o.objkey;
			if (!dup) {
				if (o.nshm >= MAXSHM)
					nf_die(NF_USAGE, "--shm: too many keys");
				memmove(o.shm + 1, o.shm, (size_t)o.nshm *
				    sizeof(o.shm[0]));
				o.shm[0] = o.objkey;
				o.nshm++;
			}
		}
	}
	o.sig = (o.a.server || o.nshm) ? NF_SIG_RESTART : SIGTERM;
	if (sarg && nf_parse_sig(sarg, &o.sig, &why) < 0)
		nf_die(NF_USAGE, "-s %s: %s", sarg, why);
	if (rarg) {
		if (nf_parse_sched(rarg, o.sig, &o.sched, &why) < 0)
			nf_die(NF_USAGE, "-r %s: %s", rarg, why);
		o.has_sched = 1;
	}
	if (o.wflag && o.a.server)
		nf_die(NF_USAGE, "-w with -S/-I: the framework writes its own "
		    "PID file, and its --Start would find ours and exit");
	if (o.wflag && !o.cmd)
		nf_die(NF_USAGE, "-w needs a COMMAND");
	if (o.dflag && !o.cmd)
		nf_die(NF_USAGE, "-d needs a COMMAND");
	if (o.log && !o.dflag)
		nf_die(NF_USAGE, "-o needs -d");
	if (nready > 1)
		nf_die(NF_USAGE, "give one of --ready-file, --ready-tcp, "
		    "--ready-fd");
	/* Under systemd the holder of a start tells READY=1 (not --ready-fd). */
	if (nready && !o.dflag && (!sd_on || o.ready_fd >= 0))
		nf_die(NF_USAGE, "--ready-file/--ready-tcp/--ready-fd need -d "
		    "(without it nfrestart becomes the server)");
}

int
main(int argc, char **argv)
{
	struct nf_pidfile pf;
	struct nf_target t = { 0 };
	struct nf_verdict vd;
	int lockfd = -1, logfd = -1, r, forced = 0, nothing = 0;
	long long t0;
	char path[PATH_MAX], b[32];
	uint32_t key;

	nf_init(argv[0]);
	sd_init();
	parse(argc, argv);
	sd_check(o.dflag, o.cmd != NULL, o.force);
	t0 = nf_now_us();
	if (o.cmd && (r = resolve(o.cmd[0], path, sizeof(path))) != NF_OK) {
		nf_warn("%s: %s; nothing was touched", o.cmd[0],
		    r == NF_NOTFOUND ? "command not found" :
		    "permission denied");
		nf_exit(r);
	}
	if (o.log && !o.dry && (logfd = open(o.log, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC | O_NOCTTY, 0644)) < 0)
		nf_die(NF_SYS, "%s: open:", o.log);

	/* 1. The restart lock. */
	if (o.dry) {
		if (nf_restart_locked(o.a.pidfile)) {
			plan("lock", "%s.lock is held: another restart is in "
			    "progress", o.a.pidfile);
			nf_exit(NF_BUSY);
		}
		plan("lock", "take %s.lock", o.a.pidfile);
	} else {
		r = nf_restart_lock(o.a.pidfile, o.tmo >= 0 ? o.tmo : 10000,
		    &lockfd);
		if (r == NF_BUSY)
			nf_die(NF_BUSY, "%s.lock: another restart of this server "
			    "is in progress", o.a.pidfile);
		if (r != NF_OK)
			nf_exit(r);
		nf_debug("restart lock %s.lock taken", o.a.pidfile);
		pause_at("locked");
	}

	/* 2. The old server. */
	nf_pidfile_read(o.a.pidfile, o.a.unsafe, &pf);
	switch (pf.status) {
	case NF_PF_OK:
		break;
	case NF_PF_ABSENT:
		nf_info("%s: no pid file: nothing to stop", o.a.pidfile);
		nothing = 1;
		break;
	case NF_PF_SELF:
		nf_info("%s: names our own pid: stale, nothing to stop",
		    o.a.pidfile);
		nothing = 1;
		break;
	case NF_PF_MALFORMED:
		if (pf.empty && o.nshm) {
			/* Killed between its truncate and its write: the
			 * segment check below tells whether it still runs. */
			nf_info("%s: empty: nothing to stop (the segment check "
			    "decides)", o.a.pidfile);
			nothing = 1;
			break;
		}
		/* FALLTHROUGH */
	default:
		nf_exit(nf_pidfile_report(&pf));
	}
	if (!nothing) {
		t.pid = pf.pid;
		t.pf = &pf;
		t.name = o.a.name;
		t.has_key = o.nshm > 0;
		t.key = o.nshm ? o.shm[0] : 0;
		nf_guard(&t, &vd);
		if (vd.evidence[0])
			nf_debug("old %d: %s", (int)pf.pid, vd.evidence);
		switch (vd.v) {
		case NF_G_OK:
			oldpid = pf.pid;
			nf_debug("old server %d: %s", (int)oldpid, vd.why);
			break;
		case NF_G_GONE:
			nf_info("old server %d: %s: nothing to stop",
			    (int)pf.pid, vd.why);
			break;
		case NF_G_UNKNOWN:
			nf_die(NF_SYS, "old server %d: %s; nothing was touched",
			    (int)pf.pid, vd.why);
		default:
			if (lookalike(pf.pid)) {
				if (!o.force)
					nf_die(NF_REFUSED, "%s names %d, which %s "
					    "but looks like the server: refusing "
					    "(--force treats it as the old server)",
					    o.a.pidfile, (int)pf.pid, vd.why);
				nf_warn("%s names %d, which %s but looks like "
				    "the server: stopping it (--force)",
				    o.a.pidfile, (int)pf.pid, vd.why);
				oldpid = pf.pid;
				forced = 1;
			} else
				nf_info("%s names %d, another process (%s): "
				    "left alone, nothing to stop", o.a.pidfile,
				    (int)pf.pid, vd.why);
		}
	}
	if (!oldpid && still_attached(&key)) {
		name_attached(key, "no live server was found: refusing (a "
		    "server whose PID file was deleted is still running)");
		nf_exit(NF_REFUSED);
	}
	if (oldpid && sd_foreign(oldpid, path, sizeof(path))) {
		/* Its unit would take the old server's exit for a stop. */
		if (!o.force)
			nf_die(NF_REFUSED, "old server %d runs under systemd "
			    "(%s): use systemctl reload; nothing was touched "
			    "(--force to go on)", (int)oldpid, path);
		nf_warn("old server %d runs under systemd (%s): going on "
		    "(--force)", (int)oldpid, path);
	}
	if (!oldpid && o.nshm && o.cmd && !o.newok && first_start(&pf))
		nf_exit(NF_FALSE);

	/* 3. Preflight: would the data survive? */
	if ((r = preflight()) != NF_OK)
		nf_exit(r);
	if (!o.dry)
		pause_at("judged");

	if (o.dry) {
		if (oldpid)
			plan("stop", "send %s to %d, wait %s%s",
			    nf_signame(o.has_sched ? o.sched.step[0].sig : o.sig,
			    b, sizeof(b)), (int)oldpid, o.has_sched ?
			    "by the schedule" : "", o.has_sched ? "" :
			    secs((o.tmo >= 0 ? o.tmo : 10000) * 1000, path,
			    sizeof(path)));
		else
			plan("stop", "nothing to stop");
		plan("remove", "%s", o.a.pidfile);
		if (o.cmd)
			plan("exec", "%s%s%s", o.cmd[0], o.dflag ?
			    " (daemonized)" : "", o.wflag ? " (writes the pid "
			    "file)" : "");
		nf_exit(NF_OK);
	}

	/* The gap: where the kernel would destroy an unattached segment,
	 * stay attached until the new server is. */
	hold_segments();
	if (o.ready_file && stat(o.ready_file, &L.rst0) == 0)
		L.had_rfile = 1;
	if (o.cmd && o.dflag) {
		prepare_daemon(lockfd, logfd);
		/* Under systemd: the new main PID, before the old server can
		 * exit (it would stop the unit). */
		if (sd_on && (r = sd_begin(L.server)) != NF_OK)
			nf_exit(r);
		pause_at("notified");
	} else if (o.cmd && (r = prefork_holder(lockfd)) < 0) {
		errno = -r;
		nf_die(NF_SYS, "fork (restart lock holder): %m; nothing was "
		    "touched");
	}

	/* 4. Signal and wait. */
	if (oldpid) {
		sd_stopping();
		r = stop_old(&pf, forced);
		if (r != NF_OK)
			nf_exit(r);
	}
	pause_at("exited");
	/* 5. The segments detached by everyone else. */
	for (int i = 0; i < o.nshm && oldpid; i++) {
		r = wait_detached(i, o.tmo >= 0 ? o.tmo : 10000);
		if (r != NF_OK) {
			if (r == NF_TIMEOUT)
				name_attached(o.shm[i], "the old server is "
				    "gone, but nothing was started");
			nf_exit(r);
		}
	}
	/* 6. The stale PID file. */
	if ((r = remove_pidfile(&pf)) != NF_OK)
		nf_exit(r);
	nf_debug("old server handled in %s", secs(nf_now_us() - t0, b,
	    sizeof(b)));
	pause_at("removed");
	if (!o.cmd)	/* stop only: 1 when there was nothing to stop */
		nf_exit(oldpid ? NF_OK : NF_FALSE);

	/* 7-9. The new server. */
	if (o.dflag)
		nf_exit(launch_daemon());
	nf_exit(exec_server(-1));
}
