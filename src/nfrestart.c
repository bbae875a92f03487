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
#include "nfrestart-backup.h"
#include "nfrestart-notify.h"

static const char usage_text[] =
"usage: nfrestart [-dnqvw] [-p FILE | -S SERVER -I ID] [-C DIR] [-s SIG]\n"
"                 [-t DUR] [-r SCHEDULE] [-o LOG] [--shm KEY]... [--name NAME]\n"
"                 [--ready-file FILE | --ready-tcp [HOST:]PORT | --ready-fd N]\n"
"                 [--ready-timeout DUR] [--backup FILE|DIR [--keep N]]\n"
"                 [--restore FILE] [--new] [--force] [--unsafe-pidfile]\n"
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
} o;

static pid_t oldpid;			/* the server we stopped, or 0 */
static unsigned long long oldstart;	/* its start time, as judged */
static int execlog = -1;		/* -o LOG without -d */
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

/* ---- the operator's own signals ---- */

/*
 * Before the old server is signalled, Ctrl-C, TERM and HUP abort: nothing
 * was touched, and the processes forked for the new server see end of file
 * and go. From that signal until the new server runs, the handoff is
 * finished whatever the operator's terminal does: HUP (an ssh drop) and
 * PIPE (| grep -m1) are ignored, INT and TERM held back, then reported.
 * The new server gets the dispositions and mask nfrestart was started
 * with, and never a signal that was meant for nfrestart.
 */
static struct sigaction sa_int, sa_term, sa_hup, sa_pipe;
static sigset_t mask0;
static volatile sig_atomic_t started;	/* the new server runs (-d) */

static void
on_signal(int sig)
{
	static const char a[] = ": interrupted before the old server was "
	    "signalled: nothing was touched\n";
	static const char b[] = ": interrupted after the new server was "
	    "started: not waiting for it to be ready\n";

	(void)!write(2, nf_prog, strlen(nf_prog));
	if (started)
		(void)!write(2, b, sizeof(b) - 1);
	else
		(void)!write(2, a, sizeof(a) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigprocmask(SIG_SETMASK, NULL, &mask0);
	sigaction(SIGPIPE, NULL, &sa_pipe);
	/* An ignored signal stays ignored (nohup): it is the caller's. */
	if (sigaction(SIGINT, NULL, &sa_int) == 0 &&
	    sa_int.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	if (sigaction(SIGTERM, NULL, &sa_term) == 0 &&
	    sa_term.sa_handler != SIG_IGN)
		sigaction(SIGTERM, &sa, NULL);
	if (sigaction(SIGHUP, NULL, &sa_hup) == 0 &&
	    sa_hup.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
}

/* What a forked process that will exec the server starts from. */
static void
signals_child(void)
{
	sigaction(SIGINT, &sa_int, NULL);
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGHUP, &sa_hup, NULL);
	sigaction(SIGPIPE, &sa_pipe, NULL);
	sigprocmask(SIG_SETMASK, &mask0, NULL);
}

/* Right before the old server is signalled. */
static void
handoff_begin(void)
{
	struct sigaction ign;
	sigset_t m;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&m);
	sigaddset(&m, SIGINT);
	sigaddset(&m, SIGTERM);
	sigprocmask(SIG_BLOCK, &m, NULL);
}

/*
 * The new server runs (-d), or is about to be exec'd: say what was held
 * back. Before an exec, it is dropped (the server must not get it);
 * after -d's launch it takes effect now: the foreground stops waiting.
 */
static void
handoff_end(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sigaction ign;
	sigset_t p;
	char b[16];

	sigpending(&p);
	for (int i = 0; i < 2; i++)
		if (sigismember(&p, sigs[i]))
			nf_warn("SIG%s came during the handoff: it was finished "
			    "first%s", nf_signame(sigs[i], b, sizeof(b)),
			    o.dflag ? "" : "; the new server does not get it");
	if (o.dflag) {
		started = 1;
		sigaction(SIGHUP, &sa_hup, NULL);
		sigaction(SIGPIPE, &sa_pipe, NULL);
		sigprocmask(SIG_SETMASK, &mask0, NULL);
		return;
	}
	/* Setting SIG_IGN discards a pending signal. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	signals_child();
}

/* ---- the command: found and runnable before anything is touched ---- */

/*
 * Would exec(2) run PATH? A regular file we may execute, and in a format
 * this kernel runs through what exists here: an ELF whose interpreter
 * (the dynamic loader) is there, or a #! script whose interpreter is.
 * (musl's execvp does not hand a script without #! to sh: ENOEXEC.)
 * NF_OK, or the code an exec would end in, with WHY set.
 */
static int
runnable(const char *path, const char **why, char *interp, size_t in)
{
	unsigned char h[64];
	struct stat st;
	ssize_t n;
	int fd;

	*why = "permission denied";
	if (stat(path, &st) < 0) {
		*why = "command not found";
		return errno == ENOENT || errno == ENOTDIR ? NF_NOTFOUND :
		    NF_NOEXEC;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return NF_NOEXEC;
	}
	if (access(path, X_OK) < 0)
		return NF_NOEXEC;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return NF_OK;	/* execute-only: exec will tell */
	n = pread(fd, h, sizeof(h), 0);
	interp[0] = '\0';
	if (n >= 4 && !memcmp(h, "\177ELF", 4)) {
		/* PT_INTERP of a 64-bit (or 32-bit) little-endian ELF. */
		int is64 = h[4] == 2;
		uint64_t phoff = 0;
		unsigned phent = 0, phnum = 0;

		if (n >= 64 && h[5] == 1) {
			if (is64) {
				memcpy(&phoff, h + 32, 8);
				phent = (unsigned)(h[54] | h[55] << 8);
				phnum = (unsigned)(h[56] | h[57] << 8);
			} else {
				uint32_t o32;

				memcpy(&o32, h + 28, 4);
				phoff = o32;
				phent = (unsigned)(h[42] | h[43] << 8);
				phnum = (unsigned)(h[44] | h[45] << 8);
			}
		}
		for (unsigned i = 0; i < phnum && i < 64 && phent <= 64; i++) {
			unsigned char ph[64];
			uint64_t off = 0, sz = 0;
			uint32_t type, v;

			if (pread(fd, ph, phent, (off_t)(phoff + i * phent)) !=
			    (ssize_t)phent)
				break;
			memcpy(&type, ph, 4);
			if (type != 3)		/* PT_INTERP */
				continue;
			if (is64) {
				memcpy(&off, ph + 8, 8);
				memcpy(&sz, ph + 32, 8);
			} else {
				memcpy(&v, ph + 4, 4);
				off = v;
				memcpy(&v, ph + 16, 4);
				sz = v;
			}
			if (sz >= in)
				sz = in - 1;
			if (pread(fd, interp, sz, (off_t)off) == (ssize_t)sz)
				interp[sz] = '\0';
			break;
		}
	} else if (n >= 2 && h[0] == '#' && h[1] == '!') {
		size_t i = 2, k = 0;

		while (i < (size_t)n && (h[i] == ' ' || h[i] == '\t'))
			i++;
		while (i < (size_t)n && k < in - 1 && h[i] != ' ' &&
		    h[i] != '\t' && h[i] != '\n')
			interp[k++] = (char)h[i++];
		interp[k] = '\0';
		if (!k) {
			close(fd);
			*why = "a #! line without an interpreter";
			return NF_NOEXEC;
		}
	} else {
		close(fd);
		*why = "not an executable format (neither ELF nor #!)";
		return NF_NOEXEC;
	}
	close(fd);
	if (interp[0] && access(interp, X_OK) < 0) {
		*why = errno == ENOENT || errno == ENOTDIR ? "its interpreter "
		    "is not there" : "its interpreter cannot be run";
		return errno == ENOENT || errno == ENOTDIR ? NF_NOTFOUND :
		    NF_NOEXEC;
	}
	return NF_OK;
}

/* The command's path as execvp would find it; NF_OK, or why not. */
static int
resolve(const char *cmd, char *path, size_t n, const char **why)
{
	const char *p, *e;
	char interp[256];
	int r = NF_NOTFOUND;

	*why = "command not found";
	if (strchr(cmd, '/')) {
		nf_fmt(path, n, "%s", cmd);
		return runnable(path, why, interp, sizeof(interp));
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
		/* As execvp: the first that exec does not refuse with
		 * EACCES/ENOENT is the one. */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if ((r = runnable(path, why, interp, sizeof(interp))) ==
			    NF_OK || access(path, X_OK) == 0)
				return r;
		}
		if (!*e)
			break;
	}
	return r;
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
	int s = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0), r, e = 0;
	socklen_t el = sizeof(e);
	struct pollfd p;

	if (s < 0)
		return 0;
	/* Never blocked by a full accept queue: 100 ms, then not yet. */
	r = connect(s, (const struct sockaddr *)&t->ss, t->len);
	if (r < 0 && errno == EINPROGRESS) {
		p.fd = s;
		p.events = POLLOUT;
		r = poll(&p, 1, 100) == 1 && getsockopt(s, SOL_SOCKET,
		    SO_ERROR, &e, &el) == 0 && e == 0 ? 0 : -1;
	}
	close(s);
	return r == 0;
}

/*
 * Is the listener on the port the new server's? A connection proves only
 * that something listens: a child of the old server may have inherited its
 * socket. The kernel's tables name the listening sockets' inodes
 * (/proc/net/tcp, tcp6: "sl local rem st ... uid timeout inode"); the
 * server must hold one of them. 1 yes, 0 no, -1 cannot tell.
 */
struct lsn {
	unsigned port;
	unsigned long long ino[8];
	int n;
	pid_t pid;
};

static int
lsn_line(char *line, void *arg)
{
	struct lsn *l = arg;
	char *p = strchr(line, ':');
	unsigned long long v = 0;
	int f;

	/* local address "0100007F:1B58": the port is hex after its ':'. */
	if (!p || !(p = strchr(p + 1, ':')))
		return 0;
	for (p++; (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F'); p++)
		v = v * 16 + (unsigned)(*p <= '9' ? *p - '0' : *p - 'A' + 10);
	if (v != l->port)
		return 0;
	/* Then rem_address (1), st (2) ... inode (8). */
	for (f = 0; *p && f < 8; f++) {
		while (*p == ' ')
			p++;
		if (f == 1 && strncmp(p, "0A ", 3))
			return 0;	/* not LISTEN */
		if (f == 7)
			break;
		while (*p && *p != ' ')
			p++;
	}
	nf_scan_ull(p, &v);
	if (v && l->n < 8)
		l->ino[l->n++] = v;
	return 0;
}

static int
lsn_fd(const char *name, void *arg)
{
	struct lsn *l = arg;
	char path[64], link[64], want[40];

	nf_fmt(path, sizeof(path), "/proc/%d/fd/%s", (int)l->pid, name);
	ssize_t k = readlink(path, link, sizeof(link) - 1);

	if (k <= 0)
		return 0;
	link[k] = '\0';
	for (int i = 0; i < l->n; i++) {
		nf_fmt(want, sizeof(want), "socket:[%llu]", l->ino[i]);
		if (!strcmp(link, want))
			return 1;
	}
	return 0;
}

static int
tcp_owned(const struct tcpaddr *t, pid_t pid)
{
	struct lsn l;
	char path[32];
	int r;

	memset(&l, 0, sizeof(l));
	l.port = ntohs(((const struct sockaddr_in *)&t->ss)->sin_port);
	l.pid = pid;
	r = nf_lines_each("/proc/net/tcp", lsn_line, &l);
	if (nf_lines_each("/proc/net/tcp6", lsn_line, &l) < 0 && r < 0)
		return -1;
	nf_fmt(path, sizeof(path), "/proc/%d/fd", (int)pid);
	r = nf_dir_each(path, lsn_fd, &l);
	return r < 0 ? (errno == ENOENT ? 0 : -1) : r;
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
	int rfd;		/* --ready-fd's read end (-d), or -1 */
	pid_t fg;		/* the foreground nfrestart (-d) */
};

/* Has the new server attached the first N segments (for writing: ours,
 * and observers, are read-only)? */
static int
seg_taken(int n)
{
	pid_t pids[1];

	for (int i = 0; i < n; i++) {
		struct nf_seg s;

		if (nf_seg_find(o.shm[i], &s) != 0 ||
		    nf_seg_writers(&s, pids, 1) <= 0)
			return 0;
	}
	return 1;
}

/* Has the server ended, and how? 0 running, 1 ended (*st, *known set). */
static int
server_ended(struct holdspec *h, int *st, int *known)
{
	struct nf_proc now;
	struct pollfd pfd;
	int dead;

	*known = 0;
	if (h->child) {
		/* Our child: its exit status, on any kernel. */
		pid_t w = waitpid(h->server, st, WNOHANG);

		*known = w == h->server;
		return *known || (w < 0 && errno == ECHILD);
	}
	if (h->ppfd >= 0) {
		pfd.fd = h->ppfd;
		pfd.events = POLLIN;
		dead = poll(&pfd, 1, 0) > 0;
	} else
		dead = nf_alive(h->server) == 0 || (nf_proc_read(h->server,
		    &now) == 0 && now.start_ms != h->start_ms);
	if (dead)
		*known = exit_status(h->server, h->ppfd, st);
	return dead;
}

/*
 * --ready-fd's read end, once the foreground has gone: read until the
 * server's line or end of file, so that a server that writes late is
 * not killed by SIGPIPE. 1 while it is still to be held.
 */
static int
drain_ready(int fd)
{
	char buf[256];
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&p, 1, 0) <= 0)
		return 1;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	return n > 0 && !memchr(buf, '\n', (size_t)n);
}

/* Has the foreground nfrestart ended? Under systemd the holder of -d is not
 * its child: it reads the foreground's pipe instead (sd_fg_gone()). */
static int
fg_gone(const struct holdspec *h)
{
	return sd_on ? sd_fg_gone(0) : getppid() != h->fg;
}

static _Noreturn void
hold(struct holdspec *h)
{
	long long deadline;
	int execd = 0, daemonized = 0, lock = h->lockfd >= 0, segs = h->segs;
	int rfd = h->rfd, ended = 0, visible = 0, iv = 2, late = 0, told = 0;
	char c = 0;

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
	while (lock || segs || rfd >= 0) {
		int st = 0, known = 0;

		if (!execd) {
			ssize_t n = read(h->execfd, &c, 1);

			/* EOF: the exec closed the other end (or it died). */
			if (n == 0 || (n < 0 && errno != EAGAIN))
				execd = 1;
		}
		if (lock && !visible) {
			struct nf_pidfile pf;
			int q = nf_quiet;

			nf_quiet = 1;
			nf_pidfile_read(o.a.pidfile, 1, &pf);
			nf_quiet = q;
			visible = pf.status == NF_PF_OK && pf.pid != oldpid &&
			    (pf.pid != h->server || execd) &&
			    nf_alive(pf.pid) == 1;
			if (visible)
				nf_debug("holder: pid file names %d", (int)pf.pid);
		}
		/*
		 * The new server is visible when its PID file names it, and,
		 * where it keeps its data in a segment, when it has attached
		 * it (the object segment of -S/-I, or the first --shm):
		 * NFShmXFrame writes its PID file before it attaches, and an
		 * nfshm rm or restore (which take this lock) must not slip
		 * into that gap.
		 */
		if (lock && visible && (!o.nshm || (execd && seg_taken(1)))) {
			nf_debug("holder: the new server is visible: restart "
			    "lock released");
			close(h->lockfd);
			lock = 0;
		}
		if (segs && execd && seg_taken(o.nshm)) {
			nf_debug("holder: the new server has the segments "
			    "attached: detached");
			segs = 0;
		}
		/* Under systemd, a foreground that was killed has told it
		 * nothing: say it now, not when we are done (a server that
		 * never writes its ready line keeps us for its lifetime). */
		if (sd_on && o.dflag && !told && fg_gone(h)) {
			sd_held(o.dflag, h->server, h->execfd, o.ready_ms);
			told = 1;
		}
		/* The foreground reads the line while it waits; after it, we
		 * do (our parent is then another process). */
		if (rfd >= 0 && fg_gone(h) && !drain_ready(rfd)) {
			close(rfd);
			rfd = -1;
		}
		if (!ended && !daemonized && server_ended(h, &st, &known)) {
			if (known && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
			    !sd_on) {
				/* It daemonized: wait for its PID file. (Not
				 * under systemd, which runs it in the
				 * foreground: exit 0 is a stop there.) */
				nf_debug("holder: %d exited 0 (daemonized)",
				    (int)h->server);
				daemonized = 1;
			} else if (!known && o.ready_given) {
				/* An older kernel does not say how it ended;
				 * the operator's --ready-timeout covers a
				 * daemonizing server's start. */
				nf_debug("holder: %d ended, how is unknown: "
				    "waiting for its pid file until "
				    "--ready-timeout", (int)h->server);
				daemonized = 1;
			} else
				ended = 1;
		}
		if (ended || (daemonized && rfd >= 0 && fg_gone(h))) {
			/* Nobody is left to write the line. */
			if (rfd >= 0)
				close(rfd);
			rfd = -1;
		}
		/* A server that died is not starting any more: the lock goes
		 * (a new restart may begin), the segments stay held until the
		 * ready timeout (a rollback must find the data). */
		if (ended && lock) {
			nf_debug("holder: the server died: restart lock released");
			close(h->lockfd);
			lock = 0;
		}
		if (nf_now_us() >= deadline && (lock || segs)) {
			/*
			 * The ready timeout. A server of ours that is still
			 * running and not yet visible is still starting: a
			 * second restart now would find no PID file and start
			 * a second server beside it. Keep the lock for as long
			 * as it runs. One that daemonized, we cannot see.
			 */
			if (lock && !visible && !ended && !daemonized) {
				if (!late++)
					nf_debug("holder: past --ready-timeout, "
					    "%d still starting: the restart lock "
					    "stays", (int)h->server);
			} else if (lock) {
				nf_debug("holder: ready timeout: restart lock "
				    "released");
				close(h->lockfd);
				lock = 0;
			}
			if (segs)
				nf_debug("holder: ready timeout: segments "
				    "detached");
			segs = 0;
		}
		if (!lock && !segs && rfd < 0)
			break;
		/* 2 ms at first, then slower, up to 50 ms after about a
		 * second: a thousand holders of a mass restart must not
		 * starve the servers they are waiting for. Only the ready
		 * fd left: once a second. */
		nf_sleep_ms(lock || segs ? iv : 200);
		if (iv < 50)
			iv++;
	}
	if (!told)
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

/* ---- steps ---- */

/*
 * Who has segment KEY attached for writing, besides us: written into BUF
 * as "4242 4243". The count, 0 when the segment is gone, -1 unknown.
 */
static int
writers(uint32_t key, char *buf, size_t n)
{
	pid_t pids[32];
	struct nf_seg s;
	size_t l = 0;
	int k, r = nf_seg_find(key, &s);

	buf[0] = '\0';
	if (r != 0)
		return r == 1 ? 0 : -1;
	if ((k = nf_seg_writers(&s, pids, 32)) < 0) {
		nf_fmt(buf, n, "(cannot tell which: %m)");
		return -1;
	}
	for (int i = 0; i < k && i < 32 && l < n - 16; i++)
		l += nf_fmt(buf + l, n - l, "%s%d", i ? " " : "", (int)pids[i]);
	return k;
}

/* Is any listed segment attached for writing, three looks 2 ms apart
 * (a short-lived reader does not count; an observer attached read-only
 * never does)? 1 yes (*which set, BUF naming them), 0 no, -1 unknown. */
static int
still_attached(uint32_t *which, char *buf, size_t n)
{
	for (int i = 0; i < o.nshm; i++) {
		int att = 1;

		for (int k = 0; k < 3 && att > 0; k++) {
			if (k)
				nf_sleep_ms(2);
			att = writers(o.shm[i], buf, n);
		}
		if (att) {
			*which = o.shm[i];
			return att > 0 ? 1 : -1;
		}
	}
	return 0;
}

/*
 * Until nobody has segment i attached for writing: the old server and
 * whatever it forked. Observers (read-only) do not hold up a restart;
 * the count first, the maps only when it says someone is there.
 */
static int
wait_detached(int i, long long ms, char *buf, size_t n)
{
	long long end = nf_now_us() + ms * 1000, step = 1;
	struct nf_seg s;
	int r;

	for (;;) {
		if ((r = nf_seg_find(o.shm[i], &s)) != 0)
			return r == 1 ? NF_OK : NF_SYS;
		if (s.nattch <= (unsigned long)held[i] ||
		    (r = writers(o.shm[i], buf, n)) == 0)
			return NF_OK;
		if (nf_now_us() >= end)
			return r < 0 ? NF_SYS : NF_TIMEOUT;
		nf_sleep_ms(step);
		if (step < 20)
			step++;
	}
}

static int
preflight(void)
{
	int bad = 0;

	for (int i = 0; i < o.nshm; i++) {
		struct nf_seg s;
		int v, r = nf_seg_find(o.shm[i], &s);

		if (bk_restores(o.shm[i]))	/* judged in the backup */
			continue;
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
		/* The server's own object segment with a header that is not
		 * its own (another key or size: restored from another
		 * server's backup, say) is not recovered: as INIT. */
		if (v == NF_V_NONE && o.a.server && o.shm[i] == o.objkey) {
			if (o.force) {
				nf_warn("segment 0x%08x: its header is not the "
				    "server's (another key or size): going on "
				    "(--force): the new server will not recover "
				    "it", (unsigned)o.shm[i]);
				continue;
			}
			nf_warn("segment 0x%08x: its header is not the server's "
			    "(another key or size): the new server would not "
			    "recover it; refusing before touching the old "
			    "server (--force to accept)", (unsigned)o.shm[i]);
			bad = 1;
			continue;
		}
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
on_exit_cb(pid_t pid, int ev, void *arg)
{
	char b[32];

	(void)arg;
	if (ev == NF_W_EXITED)
		nf_debug("old %d exited after %s", (int)pid,
		    secs(nf_now_us() - t_start, b, sizeof(b)));
}

/*
 * 4. Signal the old server and wait, by the schedule. The judgement is
 * made again with its pidfd open (unless --force took a look-alike for
 * it); every later step goes to the process pinned then.
 */
static int
stop_old(struct nf_pidfile *pf)
{
	struct nf_target t = { 0 };
	struct nf_watchopt wo = { 0 };
	struct nf_sched sc;
	char b[32], sent[128];
	size_t l = 0;
	int r;

	t.pid = oldpid;
	t.pf = pf;
	t.name = o.a.name;
	t.has_key = o.nshm > 0;
	t.key = o.nshm ? o.shm[0] : 0;
	nf_target_like(&t, &o.a, o.cmd ? o.cmd[0] : NULL);
	/* Judged at step 2: from here on only its identity counts. */
	t.start_ms = oldstart;
	if (o.has_sched)
		sc = o.sched;
	else {
		sc.n = 1;
		sc.step[0].sig = o.sig;
		sc.step[0].ms = o.tmo >= 0 ? o.tmo : NF_WAIT_MS;
	}
	t_start = nf_now_us();
	nf_debug("old %d: sending %s", (int)oldpid, nf_signame(sc.step[0].sig,
	    b, sizeof(b)));
	wo.ms = o.has_sched ? o.tmo : -1;	/* with -r, -t bounds it all */
	wo.judge = 1;
	wo.verb = "signalled";
	wo.cb = on_exit_cb;
	r = nf_watch(&t, 1, &sc, &wo);
	if (r != NF_TIMEOUT)
		return r;
	sent[0] = '\0';
	for (int i = 0; i < wo.sent && l < sizeof(sent) - 40; i++)
		l += nf_fmt(sent + l, sizeof(sent) - l, "%s%s", i ? ", then " :
		    "", nf_signame(sc.step[i].sig, b, sizeof(b)));
	nf_warn("old server %d was sent %s and is still running after %s: "
	    "nothing was started, %s still names it. It may yet exit: check "
	    "with nfpid check -p %s before starting anything; or run again "
	    "with -r %s/%lld/KILL/5 to escalate", (int)oldpid, sent,
	    secs(nf_now_us() - t_start, b, sizeof(b)), o.a.pidfile,
	    o.a.pidfile, sc.step[0].sig == NF_SIG_RESTART ? "restart" :
	    nf_signame(sc.step[0].sig, b, sizeof(b)),
	    sc.step[0].ms < 1000 ? 1 : sc.step[0].ms / 1000);
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
	return !o.wflag || nheld || o.nshm || sd_on;
}

/* What both kinds of holder are given: the lock, segments, the exec pipe. */
static void
holder_spec(struct holdspec *h, int lockfd, int execfd, pid_t server)
{
	memset(h, 0, sizeof(*h));
	/* With -w the PID file names the server at the exec; with segments
	 * the lock also waits for them to be attached. */
	h->lockfd = o.wflag && !o.nshm ? -1 : lockfd;
	h->segs = nheld > 0;
	h->execfd = execfd;
	h->ppfd = -1;
	h->rfd = -1;
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
	/* Under systemd, errfd is the journal: its warnings go there. */
	dup2((nf_verbose || sd_on) && errfd >= 0 ? errfd : devnull, 2);
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
	int p[2], e, st = 0;
	pid_t me = getpid(), hp;
	char c = 0;

	if (!holder_needed())
		return 0;
	/* A socket, not a pipe: a word to a holder that died is EPIPE, not
	 * SIGPIPE (MSG_NOSIGNAL). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return -errno;
	holder_spec(&h, lockfd, p[0], me);
	h.ppfd = nf_pidfd_open(me);
	h.start_ms = nf_proc_read(me, &pr) == 0 ? pr.start_ms : 0;
	/*
	 * Fork twice and reap the first: the holder must not linger as a
	 * zombie child of the server, which will not reap what it did not
	 * start. The first says by its exit status whether the second fork
	 * worked; the holder says it is there before anything is touched.
	 */
	nf_outflush();
	hp = fork();
	if (hp == 0) {
		pid_t h2 = fork();

		if (h2 != 0)
			_exit(h2 < 0);
		signals_child();
		setsid();	/* before it says it is there: out of our group */
		close(p[1]);
		if (h.lockfd < 0 && lockfd >= 0)	/* not its job */
			close(lockfd);
		holder_stdio(2);
		(void)!send(p[0], "h", 1, MSG_NOSIGNAL);
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
	while (waitpid(hp, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    recv(p[1], &c, 1, 0) != 1 || c != 'h') {
		close(p[1]);
		return -EAGAIN;
	}
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
		int r = nf_pidfile_lock(o.a.pidfile, o.a.unsafe, getpid(), 1,
		    &wfd, &holder);

		if (r != NF_OK) {
			/* The old server is gone: whatever the cause, down. */
			int32_t v = NF_DOWN;

			nf_warn("%s: could not write our pid: the new server "
			    "was not started: DOWN", o.a.pidfile);
			if (tellfd >= 0)
				(void)!send(tellfd, &v, sizeof(v),
				    MSG_NOSIGNAL);
			return NF_DOWN;
		}
	}
	pause_at("forked");
	if (L.hold_w >= 0 && send(L.hold_w, "G", 1, MSG_NOSIGNAL) != 1)
		nf_warn("the restart lock's holder is gone: the lock ends at "
		    "this exec, before the new server is visible");
	if (tellfd >= 0) {
		int32_t z = 0;

		(void)!send(tellfd, &z, sizeof(z), MSG_NOSIGNAL);
	}
	nf_outflush();
	if (tellfd < 0) {
		handoff_end();
		/* Without -d, -o LOG is where the server's output goes (as
		 * under systemd's ExecStart=, which has no -d). */
		if (execlog >= 0 && (dup2(execlog, 1) < 0 ||
		    dup2(execlog, 2) < 0))
			nf_warn("%s: dup2:", o.log);
	}
	execvp(o.cmd[0], o.cmd);
	e = errno;
	if (o.wflag)
		unlink(o.a.pidfile);
	if (tellfd >= 0) {
		int32_t v = -e;

		(void)!send(tellfd, &v, sizeof(v), MSG_NOSIGNAL);
	}
	errno = e;
	nf_warn("%s: exec: %m (the old server is gone: DOWN)", o.cmd[0]);
	return e == ENOENT ? NF_NOTFOUND : NF_NOEXEC;
}

/*
 * -d, in the first child, once the second (the server to be) is forked:
 * where a holder is needed, this process is it. As the server's parent it
 * reads its exit status on any kernel, and it costs no further fork.
 */
static _Noreturn void
middle_holds(int lockfd, int logfd, int hpipe, pid_t c2, int rfd, pid_t fg)
{
	struct holdspec h;

	/* The server is in this process group: a signal meant for its group
	 * (kill -- -PGID, a reload sent to all, SIGIO, a real-time signal)
	 * must not end the holder, and the lock with it. SIGKILL still does;
	 * SIGCHLD keeps its default, or waitpid would lose the status. */
	for (int s = 1; s < 65; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_IGN);
	/* -v: the holder's words go where the server's go (under systemd,
	 * the journal). */
	if (!sd_on)
		holder_stdio(logfd);
	holder_spec(&h, lockfd, hpipe, c2);
	if (h.lockfd < 0 && lockfd >= 0)	/* not its job */
		close(lockfd);
	h.child = 1;
	h.rfd = rfd;
	h.fg = fg;
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
	pid_t c1, fg = getpid();
	int32_t v;

	/* The tell channel is a socket: the process that will exec must
	 * never die of SIGPIPE because the foreground was killed. (Nothing
	 * of ours can sit on --ready-fd's number: main() holds it.) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tell) < 0 ||
	    pipe2(go, O_CLOEXEC) < 0 || sd_pipe(oldpid) < 0)
		nf_die(NF_SYS, "pipe:");
	if (o.ready_fd >= 0 && pipe2(rfd, O_CLOEXEC) < 0)
		nf_die(NF_SYS, "pipe:");
	nf_outflush();
	if ((c1 = fork()) < 0)
		nf_die(NF_SYS, "fork:");
	if (c1 == 0) {
		pid_t c2;
		int devnull, hp[2] = { -1, -1 };
		int holds = holder_needed() || rfd[0] >= 0;
		char c = 0;

		close(tell[0]);
		close(go[1]);
		signals_child();
		setsid();
		/* The holder's word ('G', then end of file at the exec). */
		nf_outflush();
		if ((holds && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, hp) < 0) || (c2 = fork()) < 0) {
			v = -errno;
			(void)!send(tell[1], &v, sizeof(v), MSG_NOSIGNAL);
			_exit(NF_SYS);
		}
		if (c2 > 0) {
			/* Nothing of the server's or the foreground's ends may
			 * stay open here: end of file on them means something.
			 * The read end of --ready-fd stays: a server writing
			 * its line after the foreground gave up must not die
			 * of SIGPIPE. */
			close(tell[1]);
			close(go[0]);
			if (rfd[1] >= 0)
				close(rfd[1]);
			if (hp[0] < 0)
				_exit(0);
			close(hp[1]);
			sd_role(1);
			middle_holds(lockfd, logfd, hp[0], c2, rfd[0], fg);
		}
		if (rfd[0] >= 0)
			close(rfd[0]);
		if (hp[0] >= 0) {
			close(hp[0]);
			L.hold_w = hp[1];
		}
		sd_role(2);
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
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
			dup2(rfd[1], o.ready_fd);	/* on the reserved number */
			close(rfd[1]);
		}
		/* The process that will exec: tell the foreground who it is. */
		v = (int32_t)getpid();
		(void)!send(tell[1], &v, sizeof(v), MSG_NOSIGNAL);
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

/* How the new server ended, for the message: "exit status 1". */
static const char *
how_ended(pid_t pid, int pfd, char *buf, size_t n)
{
	int st;

	if (!exit_status(pid, pfd, &st))
		nf_fmt(buf, n, "how is not known");
	else if (WIFSIGNALED(st))
		nf_fmt(buf, n, "killed by signal %d", WTERMSIG(st));
	else
		nf_fmt(buf, n, "exit status %d", WEXITSTATUS(st));
	return buf;
}

/* What the server has shown: 1 ready, 0 not yet, -1 never (said). */
static int
ready_seen(pid_t server, const struct tcpaddr *ta)
{
	struct stat rs;

	if (o.ready_file && stat(o.ready_file, &rs) == 0 && rs.st_size > 0 &&
	    (!L.had_rfile || rs.st_ino != L.rst0.st_ino ||
	    rs.st_mtim.tv_sec != L.rst0.st_mtim.tv_sec ||
	    rs.st_mtim.tv_nsec != L.rst0.st_mtim.tv_nsec ||
	    rs.st_size != L.rst0.st_size))
		return 1;
	if (o.ready_tcp && tcp_ready(ta)) {
		int own = tcp_owned(ta, server);

		if (own != 0) {
			if (own < 0)
				nf_debug("the listener's owner cannot be told "
				    "(no /proc): taking the connection");
			return 1;
		}
		nf_debug("something listens on %s, but not new server %d",
		    o.ready_tcp, (int)server);
	}
	if (L.rfd_r >= 0) {
		struct pollfd p = { L.rfd_r, POLLIN, 0 };
		char line[256];
		ssize_t n;

		if (poll(&p, 1, 0) > 0) {
			n = read(L.rfd_r, line, sizeof(line));
			if (n > 0 && memchr(line, '\n', (size_t)n))
				return 1;
			if (n == 0) {
				nf_warn("new server %d closed fd %d without a "
				    "line: not ready: DOWN", (int)server,
				    o.ready_fd);
				return -1;
			}
		}
	}
	return 0;
}

/* The readiness check, once: 1 ready, 0 not yet, -1 never (DOWN, said). */
static int
ready_look(pid_t server, const struct tcpaddr *ta, int spfd)
{
	char b[48];
	int r = ready_seen(server, ta), dead;
	struct pollfd p = { spfd, POLLIN, 0 };

	/* A dead server is not ready, whatever the file or port says; its
	 * pidfd tells, not its number (which may be another's by now). */
	dead = spfd >= 0 ? poll(&p, 1, 0) > 0 : nf_alive(server) == 0;
	if (r >= 0 && dead) {
		nf_warn("new server %d died before it was ready (%s): DOWN%s%s",
		    (int)server, how_ended(server, spfd, b, sizeof(b)),
		    o.log ? "; its output is in " : "", o.log ? o.log : "");
		return -1;
	}
	return r;
}

/* What the readiness check looks for, for the messages. */
static const char *
ready_what(char *buf, size_t n)
{
	if (o.ready_file)
		nf_fmt(buf, n, "%s to exist and not be empty", o.ready_file);
	else if (o.ready_tcp)
		nf_fmt(buf, n, "a listener of its own on %s%s", o.ready_tcp,
		    strchr(o.ready_tcp, ':') ? "" : " (127.0.0.1)");
	else
		nf_fmt(buf, n, "a line on fd %d", o.ready_fd);
	return buf;
}

/* -d, after the old server is gone: go, then wait for readiness. */
static int
launch_daemon(void)
{
	pid_t server = L.server;
	struct tcpaddr ta;
	long long deadline, next;
	int32_t v;
	ssize_t n;
	int spfd, iv = 2, r;
	char b[32], w[160];

	spfd = nf_pidfd_open(server);
	/* If that process has died (OOM-killed, killed by hand), the write
	 * fails with EPIPE (SIGPIPE is ignored in the handoff): say DOWN. */
	if (write(L.go_w, "g", 1) != 1) {
		nf_warn("the process for the new server is gone: DOWN");
		return NF_DOWN;
	}
	/*
	 * A zero just before the exec, then end of file: the exec happened;
	 * a negative errno: it failed. End of file without the zero: that
	 * process died (was killed) before it got there.
	 */
	n = recv(L.tell_r, &v, sizeof(v), MSG_WAITALL);
	if (n == 0) {
		nf_warn("the process for the new server %d died before its "
		    "exec: DOWN", (int)server);
		return NF_DOWN;
	}
	if (n == sizeof(v) && v == 0)
		n = recv(L.tell_r, &v, sizeof(v), MSG_WAITALL);
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
	handoff_end();
	nf_debug("new server %d started (daemonized)", (int)server);
	if (!o.ready_file && !o.ready_tcp && o.ready_fd < 0)
		return NF_OK;
	if (o.ready_tcp)
		parse_tcp(o.ready_tcp, &ta);
	t_start = nf_now_us();
	deadline = t_start + o.ready_ms * 1000;
	next = t_start + 2000000;
	for (;;) {
		struct pollfd p[2];
		int np = 0;

		if ((r = ready_look(server, &ta, spfd)) != 0)
			break;
		if (nf_now_us() >= deadline) {
			/* One last look: a stop of ours (SIGSTOP, a busy
			 * machine) may have slept through the answer. */
			if ((r = ready_look(server, &ta, spfd)) != 0)
				break;
			nf_warn("new server %d is %s but not ready after %s: "
			    "waited for %s: DOWN%s%s", (int)server,
			    nf_alive(server) == 1 ? "running" : "gone",
			    secs(nf_now_us() - t_start, b, sizeof(b)),
			    ready_what(w, sizeof(w)), o.log ?
			    "; its output is in " : "", o.log ? o.log : "");
			return NF_DOWN;
		}
		if (nf_now_us() >= next) {
			nf_debug("waiting for new server %d to be ready (%s): "
			    "%s of %lld s", (int)server, ready_what(w,
			    sizeof(w)), secs(nf_now_us() - t_start, b,
			    sizeof(b)), o.ready_ms / 1000);
			next += 2000000;
		}
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
	}
	if (r < 0)
		return NF_DOWN;
	nf_debug("new server %d ready after %s", (int)server,
	    secs(nf_now_us() - t_start, b, sizeof(b)));
	return NF_OK;
}

/*
 * -o LOG, as root, maybe in a world-writable directory: not through a
 * symbolic link (the server's output must not land in another file), not
 * another user's file there (as PID files), and never blocking on a FIFO
 * nobody reads.
 */
static int
open_log(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0644);

	if (fd < 0) {
		if (errno == ELOOP)
			nf_die(NF_USAGE, "%s: refusing to log: is a symbolic "
			    "link", path);
		nf_die(NF_SYS, "%s: open:", path);
	}
	if (fstat(fd, &st) < 0)
		nf_die(NF_SYS, "%s: fstat:", path);
	if (S_ISDIR(st.st_mode))
		nf_die(NF_USAGE, "%s: refusing to log: is a directory", path);
	if (!o.a.unsafe && S_ISREG(st.st_mode) && nf_unsafe_dir(path, &st))
		nf_die(NF_USAGE, "%s: unsafe log: owned by uid %u in a "
		    "world-writable directory (--unsafe-pidfile to accept)",
		    path, (unsigned)st.st_uid);
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return fd;
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
nfr_ready_now(pid_t server)
{
	struct stat rs;
	struct tcpaddr ta;

	if (o.ready_file)
		return stat(o.ready_file, &rs) == 0 && rs.st_size > 0 &&
		    (!L.had_rfile || rs.st_ino != L.rst0.st_ino ||
		    rs.st_mtim.tv_sec != L.rst0.st_mtim.tv_sec ||
		    rs.st_mtim.tv_nsec != L.rst0.st_mtim.tv_nsec ||
		    rs.st_size != L.rst0.st_size);
	/* A listener of the new server's own, as at a reload. */
	if (o.ready_tcp)
		return parse_tcp(o.ready_tcp, &ta) == 0 && tcp_ready(&ta) &&
		    tcp_owned(&ta, server) != 0;
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
		BK_LONG,
		{ NULL, 0, NULL, 0 }
	};
	const char *why, *sarg = NULL, *rarg = NULL;
	unsigned long long v;
	struct tcpaddr ta;
	int c, nready = 0;

	o.tmo = -1;
	o.ready_fd = -1;
	o.ready_ms = 30000;
	while ((c = nf_getopt(argc, argv, "+" NF_ADDR_SHORT "dhno:qr:s:t:vVw",
	    lo)) != -1) {
		switch (c) {
		case NF_OPT_SHM:
			if (o.nshm >= MAXSHM)
				nf_die(NF_USAGE, "--shm: at most %d keys", MAXSHM);
			if (nf_parse_key(nf_optarg, &o.shm[o.nshm], &why) < 0)
				nf_die(NF_USAGE, "--shm %s: %s", nf_optarg, why);
			o.nshm++;
			continue;
		case 'd':
			o.dflag = 1;
			continue;
		case 'n':
			o.dry = 1;
			continue;
		case 'o':
			o.log = nf_optarg;
			continue;
		case 'r':
			rarg = nf_optarg;
			continue;
		case 's':
			sarg = nf_optarg;
			continue;
		case 't':
			if (nf_parse_dur(nf_optarg, &o.tmo, &why) < 0)
				nf_die(NF_USAGE, "-t %s: %s", nf_optarg, why);
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
			if (!*nf_optarg)
				nf_die(NF_USAGE, "--ready-file: empty name");
			o.ready_file = nf_optarg;
			nready++;
			continue;
		case NF_OPT_READY_TCP:
			if (parse_tcp(nf_optarg, &ta) < 0)
				nf_die(NF_USAGE, "--ready-tcp %s: not [HOST:]PORT "
				    "(HOST an IP address)", nf_optarg);
			o.ready_tcp = nf_optarg;
			nready++;
			continue;
		case NF_OPT_READY_FD:
			if (nf_parse_ulong(nf_optarg, 3, 1023, &v, &why) < 0)
				nf_die(NF_USAGE, "--ready-fd %s: %s (3..1023)",
				    nf_optarg, why);
			o.ready_fd = (int)v;
			nready++;
			continue;
		case NF_OPT_READY_TIMEOUT:
			if (nf_parse_dur(nf_optarg, &o.ready_ms, &why) < 0)
				nf_die(NF_USAGE, "--ready-timeout %s: %s", nf_optarg,
				    why);
			o.ready_given = 1;
			continue;
		default:
			if (nf_addr_opt(&o.a, c, nf_optarg) ||
			    nf_common_opt(c, usage_text, "nfrestart") ||
			    bk_opt(c, nf_optarg))
				continue;
			nf_sigopt_hint();
			usage();
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	o.cmd = argc > 0 ? argv : NULL;
	nf_addr_finish(&o.a, 1);
	if (o.a.server) {
		o.objkey = o.a.key;
		o.has_obj = 1;
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
	if (nready > 1)
		nf_die(NF_USAGE, "give one of --ready-file, --ready-tcp, "
		    "--ready-fd");
	/* Under systemd the holder of a start tells READY=1 (not --ready-fd). */
	if (nready && !o.dflag && (!sd_on || o.ready_fd >= 0))
		nf_die(NF_USAGE, "--ready-file/--ready-tcp/--ready-fd need -d "
		    "(without it nfrestart becomes the server)");
	bk_setup(o.shm, o.nshm, !o.cmd ? 0 : o.dflag ? 'd' : 'x');
}

int
main(int argc, char **argv)
{
	struct nf_pidfile pf;
	struct nf_target t = { 0 };
	struct nf_verdict vd;
	int lockfd = -1, logfd = -1, r, nothing = 0, bkr;
	long long t0;
	char path[PATH_MAX], b[32];
	const char *why;
	uint32_t key;

	nf_init(argv[0]);
	sd_init();
	parse(argc, argv);
	sd_check(o.dflag, o.cmd != NULL, o.force);
	t0 = nf_now_us();
	signals_init();
	/* Hold --ready-fd's number (close-on-exec) so that nothing of ours
	 * lands there: the server's end goes there at the end. */
	if (o.ready_fd >= 0 && (r = open("/dev/null", O_RDONLY |
	    O_CLOEXEC)) != o.ready_fd && (r < 0 || dup3(r, o.ready_fd,
	    O_CLOEXEC) < 0 || close(r) < 0))
		nf_die(NF_SYS, "--ready-fd %d:", o.ready_fd);
	if (o.cmd && (r = resolve(o.cmd[0], path, sizeof(path), &why)) !=
	    NF_OK)
		nf_die(r, "%s: %s; nothing was touched", o.cmd[0], why);
	if (o.log && !o.dry)
		logfd = open_log(o.log);
	if (!o.dflag)
		execlog = logfd;

	/* 1. The restart lock. */
	if (o.dry) {
		if ((r = nf_restart_locked(o.a.pidfile)) != 0) {
			if (r < 0)
				nf_die(NF_SYS, "%s.lock: cannot tell whether a "
				    "restart is in progress:", o.a.pidfile);
			plan("lock", "%s.lock is held: another restart is in "
			    "progress", o.a.pidfile);
			nf_exit(NF_BUSY);
		}
		plan("lock", "take %s.lock", o.a.pidfile);
	} else {
		r = nf_restart_lock(o.a.pidfile, o.a.unsafe, o.tmo >= 0 ?
		    o.tmo : NF_WAIT_MS, &lockfd);
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
		nf_target_like(&t, &o.a, o.cmd ? o.cmd[0] : NULL);
		nf_guard(&t, &vd);
		if (vd.evidence[0])
			nf_debug("old %d: %s", (int)pf.pid, vd.evidence);
		switch (vd.v) {
		case NF_G_OK:
			oldpid = pf.pid;
			oldstart = vd.start_ms;
			nf_debug("old server %d: %s", (int)oldpid, vd.why);
			/* Its data lives in its IPC namespace: a server
			 * started here would not find it (a container that
			 * shares our PIDs but not our IPC). */
			if (o.nshm && (r = nf_proc_same_ipcns(oldpid)) != 1)
				nf_die(r < 0 ? NF_SYS : NF_REFUSED, "old server "
				    "%d %s; nothing was touched", (int)oldpid,
				    r < 0 ? "is in an IPC namespace that cannot "
				    "be read" : "is in another IPC namespace: its "
				    "segments are not ours, a new server here "
				    "would start empty; refusing");
			break;
		case NF_G_GONE:
			nf_info("old server %d: %s: nothing to stop",
			    (int)pf.pid, vd.why);
			break;
		case NF_G_UNKNOWN:
			nf_die(NF_SYS, "old server %d: %s; nothing was touched",
			    (int)pf.pid, vd.why);
		case NF_G_LOOKALIKE:
			if (!o.force)
				nf_die(NF_REFUSED, "%s names %d, which %s: "
				    "refusing, nothing was touched (--force "
				    "treats it as the old server)", o.a.pidfile,
				    (int)pf.pid, vd.why);
			nf_warn("%s names %d, which %s: stopping it (--force)",
			    o.a.pidfile, (int)pf.pid, vd.why);
			oldpid = pf.pid;
			oldstart = vd.start_ms;
			break;
		default:
			nf_info("%s names %d, another process (%s): left "
			    "alone, nothing to stop", o.a.pidfile, (int)pf.pid,
			    vd.why);
		}
	}
	/* A stopped server (SIGSTOP, a debugger, nfshm save --freeze) runs
	 * nothing until it is continued: its signal would wait, and the
	 * answer would be 124 for a server that exits later on its own. */
	if (oldpid) {
		struct nf_proc sp;

		if (nf_proc_read(oldpid, &sp) == 0 && (sp.state == 'T' ||
		    sp.state == 't') && !o.force)
			nf_die(NF_REFUSED, "old server %d is stopped (state %c: "
			    "SIGSTOP, a debugger, or nfshm save --freeze at work): "
			    "it cannot exit until it is continued (kill -CONT %d); "
			    "refusing, nothing was touched (--force goes on)",
			    (int)oldpid, sp.state, (int)oldpid);
	}
	if (!oldpid && (r = still_attached(&key, path, sizeof(path)))) {
		if (r < 0)
			nf_die(NF_SYS, "segment 0x%08x: cannot tell who has it "
			    "attached %s; nothing was touched", (unsigned)key,
			    path);
		nf_die(NF_REFUSED, "segment 0x%08x is attached for writing by "
		    "%s, and no live server was found: refusing, nothing was "
		    "touched (a server whose PID file was deleted is still "
		    "running)", (unsigned)key, path);
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

	/* --restore's file, checked whole before anything is touched. */
	if ((r = bk_prepare(o.force)) != NF_OK)
		nf_exit(r);
	/* 3. Preflight: would the data survive? And can step 5 tell who has
	 * the segments attached (another user's maps, hidepid)? Not knowing
	 * after the stop would leave the service down. */
	if ((r = preflight()) != NF_OK)
		nf_exit(r);
	for (int i = 0; i < o.nshm && oldpid; i++)
		if (writers(o.shm[i], path, sizeof(path)) < 0)
			nf_die(NF_SYS, "segment 0x%08x: cannot tell who has it "
			    "attached %s; nothing was touched", (unsigned)
			    o.shm[i], path);
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
		bk_plan();
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

	/* 4. Signal and wait. From here on, the operator's own signals do
	 * not stop the handoff half way. */
	handoff_begin();
	if (oldpid) {
		sd_stopping();
		r = stop_old(&pf);
		if (r != NF_OK)
			nf_exit(r);
	}
	pause_at("exited");
	/* 5. The segments detached by everyone else. */
	for (int i = 0; i < o.nshm && oldpid; i++) {
		r = wait_detached(i, o.tmo >= 0 ? o.tmo : NF_WAIT_MS, path,
		    sizeof(path));
		/* The old server is gone: whatever holds it, the service is
		 * down, and the answer is never 124. */
		if (r == NF_TIMEOUT)
			nf_die(NF_DOWN, "segment 0x%08x is still attached for "
			    "writing by %s although the old server %d has "
			    "exited: nothing was started (two writers on one "
			    "segment is the worst outcome): DOWN", (unsigned)
			    o.shm[i], path, (int)oldpid);
		if (r != NF_OK)
			nf_die(NF_DOWN, "segment 0x%08x: cannot tell who has it "
			    "attached %s; the old server is gone, nothing was "
			    "started: DOWN", (unsigned)o.shm[i], path);
	}
	/* 5. In this gap, where nothing writes the data: backups, restore. */
	bkr = bk_gap();
	/* 6. The stale PID file. */
	if ((r = remove_pidfile(&pf)) != NF_OK)
		nf_exit(r);
	nf_debug("old server handled in %s", secs(nf_now_us() - t0, b,
	    sizeof(b)));
	pause_at("removed");
	if (!o.cmd)	/* stop only: 1 when there was nothing to stop */
		nf_exit(bkr ? bkr : oldpid ? NF_OK : NF_FALSE);

	/* 7-9. The new server; a failed backup (3) only once it is up. */
	if (o.dflag)
		nf_exit((r = launch_daemon()) ? r : bkr);
	nf_exit(exec_server(-1));
}
