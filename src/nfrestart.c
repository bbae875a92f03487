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

#include "lib/opts.h"
#include "lib/shm.h"
#include "lib/shmhdr.h"
#include "nfrestart.h"
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
static const char opts_text[] =
NF_HELP_ADDR
"  -s, --signal SIG      restart (31) with -S/-I or --shm, else TERM\n"
"  -t, --timeout DUR     bound the lock wait and the old server's exit\n"
"  -r, --retry SCHEDULE  signals while waiting: restart/10/KILL/5\n"
"  -d, --daemon          run the server in the background, wait for ready\n"
"  -o, --log FILE        the server's output (append)\n"
"  -w, --write-pidfile   write the new server's PID (locked)\n"
"      --new             a first start: no old server, no segment is fine\n"
"      --ready-file FILE     -d: ready when FILE exists, not empty\n"
"      --ready-tcp [HOST:]PORT  -d: ready when PORT accepts\n"
"      --ready-fd N      -d: ready when the server writes a line to fd N\n"
"      --ready-timeout DUR   -d: how long to wait for ready (30 s)\n"
"      --backup FILE|DIR save the segments in the gap\n"
"      --keep N          --backup DIR: keep the N newest\n"
"      --restore FILE    restore FILE into the segment in the gap\n"
"      --force           go on despite a look-alike or a bad verdict\n"
"  -n, --dry-run         print the plan, do nothing\n"
NF_HELP_COMMON;

struct nfr_opts o;
pid_t oldpid;				/* the server we stop, or 0 */
static unsigned long long oldstart;	/* its start time, as judged */
static int execlog = -1;		/* -o LOG without -d */
int held[MAXSHM];			/* segments we stay attached to */
int nheld;
static long long t_start;		/* when the old server was signalled */

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

/* -t, or the default: how long each wait may take. */
static long long
wait_ms(void)
{
	return o.tmo >= 0 ? o.tmo : NF_WAIT_MS;
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
void
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
void
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
	int fd, r;

	*why = "permission denied";
	if (stat(path, &st) < 0) {
		*why = "command not found";
		return nf_exec_code(errno);
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
		r = nf_exec_code(errno);
		*why = r == NF_NOTFOUND ? "its interpreter is not there" :
		    "its interpreter cannot be run";
		return r;
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

/* ---- steps ---- */

/* The process PF names, as the guard sees the old server: its name, its
 * segment, and what the server is called. */
static void
old_target(struct nf_target *t, struct nf_pidfile *pf)
{
	nf_target_init(t, &o.a, pf, o.cmd ? o.cmd[0] : NULL);
	/* Its segment: -S/-I's, or the first --shm (not in o.a). */
	t->has_key = o.nshm > 0;
	t->key = o.nshm ? o.shm[0] : 0;
}

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
detached_one(int i, long long ms, char *buf, size_t n)
{
	struct nf_backoff b;
	struct nf_seg s;
	int r;

	/* Every 1 ms, then 1 ms less often each time, up to 20 ms. */
	nf_backoff_init(&b, ms, 1000, 1000, 20000);
	for (;;) {
		if ((r = nf_seg_find(o.shm[i], &s)) != 0)
			return r == 1 ? NF_OK : NF_SYS;
		if (s.nattch <= (unsigned long)held[i] ||
		    (r = writers(o.shm[i], buf, n)) == 0)
			return NF_OK;
		if (!nf_backoff_sleep(&b))
			return r < 0 ? NF_SYS : NF_TIMEOUT;
	}
}

/* Would a new server recover each segment? NF_OK, or 5 or 3 (said). */
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
		    nf_secs(nf_now_us() - t_start, b, sizeof(b)));
}

/*
 * Signal the old server and wait, by the schedule. The judgement is made
 * again with its pidfd open (unless --force took a look-alike for it);
 * every later step goes to the process pinned then.
 */
static int
signal_old(struct nf_pidfile *pf)
{
	struct nf_target t;
	struct nf_watchopt wo = { 0 };
	struct nf_sched sc;
	char b[32], el[32], sent[128], chk[2 * PATH_MAX + 64], q[PATH_MAX + 8];
	size_t l = 0;
	int r;

	old_target(&t, pf);
	/* Judged at step 2: from here on only its identity counts. */
	t.start_ms = oldstart;
	if (o.has_sched)
		sc = o.sched;
	else {
		sc.n = 1;
		sc.step[0].sig = o.sig;
		sc.step[0].ms = wait_ms();
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
	/* The check to run is the one that sees what this run saw: the
	 * directory, the file, and the segment (-S/-I or --shm). */
	l = nf_fmt(chk, sizeof(chk), "nfpid check");
	if (o.a.dir)
		l += nf_fmt(chk + l, sizeof(chk) - l, " -C %s",
		    nf_shword(o.a.dir, q, sizeof(q)));
	l += nf_fmt(chk + l, sizeof(chk) - l, " -p %s",
	    nf_shword(o.a.pidfile, q, sizeof(q)));
	if (o.a.server)
		nf_fmt(chk + l, sizeof(chk) - l, " -S %s -I %s",
		    nf_shword(o.a.server, q, sizeof(q)), o.a.id);
	else if (o.nshm)
		nf_fmt(chk + l, sizeof(chk) - l, " --shm 0x%08x",
		    (unsigned)o.shm[0]);
	nf_warn("old server %d was sent %s and is still running after %s: "
	    "nothing was started, %s still names it. It may yet exit: check "
	    "with %s before starting anything; or run again with -r "
	    "%s/%lld/KILL/5 to escalate", (int)oldpid, sent,
	    nf_secs(nf_now_us() - t_start, el, sizeof(el)), o.a.pidfile, chk,
	    sc.step[0].sig == NF_SIG_RESTART ? "restart" :
	    nf_signame(sc.step[0].sig, b, sizeof(b)),
	    sc.step[0].ms < 1000 ? 1 : sc.step[0].ms / 1000);
	return r;
}

/* 6. Remove the old PID file, unless a live process it did not name
 * before is in it now. */
static void
remove_pidfile(const struct nf_pidfile *judged)
{
	struct nf_pidfile pf;

	nf_pidfile_read(o.a.pidfile, o.a.unsafe, &pf);
	if (pf.status == NF_PF_ABSENT)
		return;
	/* Nothing touched yet (no old server) is a refusal; after the old
	 * server's stop (or a restore in the gap) it is a service that may
	 * be down: not 5, which promises that nothing was touched. */
	if (pf.status == NF_PF_OK && !(judged->status == NF_PF_OK &&
	    judged->pid == pf.pid) && nf_alive(pf.pid) == 1) {
		char when[48];
		int restored = 0;

		for (int i = 0; i < o.nshm; i++)
			restored |= bk_restores(o.shm[i]);
		if (!oldpid && !restored)
			nf_die(NF_REFUSED, "%s: now names %d, a live process: "
			    "someone started a server during the restart; not "
			    "starting another; nothing was touched", o.a.pidfile,
			    (int)pf.pid);
		/* Stop only: the stop asked for is done; the file is theirs. */
		if (!o.cmd) {
			nf_warn("%s: now names %d, a live process that someone "
			    "started meanwhile: left in place", o.a.pidfile,
			    (int)pf.pid);
			return;
		}
		if (oldpid)
			nf_fmt(when, sizeof(when), "the old server %d stopped",
			    (int)oldpid);
		else
			nf_fmt(when, sizeof(when), "--restore wrote the segment");
		nf_die(NF_DOWN, "%s: now names %d, a live process that "
		    "someone started while %s: not starting a second server "
		    "beside it, nothing was started: DOWN unless %d is the "
		    "server", o.a.pidfile, (int)pf.pid, when, (int)pf.pid);
	}
	if (unlink(o.a.pidfile) < 0 && errno != ENOENT)
		nf_die(NF_SYS, "%s: unlink:", o.a.pidfile);
	nf_debug("%s: removed", o.a.pidfile);
}

/*
 * Become the server: with -w write our PID (locked, in place, the lock kept
 * across exec), give the holder its word, exec. Returns only on failure.
 */
int
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
	nf_test_pause("forked");
	if (L.hold_w >= 0 && send(L.hold_w, "G", 1, MSG_NOSIGNAL) != 1)
		nf_warn("the restart lock's holder is gone: the lock ends at "
		    "this exec, before the new server is visible");
	if (tellfd >= 0) {
		int32_t z = 0;

		(void)!send(tellfd, &z, sizeof(z), MSG_NOSIGNAL);
	}
	nf_eoutflush();
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
	return nf_exec_code(e);
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
	int c, nready = 0;

	o.tmo = -1;
	o.ready_fd = -1;
	o.ready_ms = NF_READY_MS;
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
			o.tmo = nf_edur("-t", nf_optarg);
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
			if (ready_tcp_ok(nf_optarg) < 0)
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
			o.ready_ms = nf_edur("--ready-timeout", nf_optarg);
			o.ready_given = 1;
			continue;
		default:
			if (nf_eaddr_opt(&o.a, c, nf_optarg) ||
			    nf_ecommon_opt(c, usage_text, opts_text, "nfrestart") ||
			    bk_opt(c, nf_optarg))
				continue;
			nf_sigopt_hint();
			usage();
		}
	}
	nf_ecmd_placed(argc, argv, o.a.dir != NULL);
	argc -= nf_optind;
	argv += nf_optind;
	o.cmd = argc > 0 ? argv : NULL;
	nf_eaddr_finish(&o.a, 1);
	if (o.a.server) {
		o.objkey = o.a.key;
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
	o.sig = nf_esig(sarg, o.a.server || o.nshm);
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

/* ---- the steps of nfrestart(1), in order ---- */

/*
 * Before anything: our own signals, --ready-fd's number held (close-on-
 * exec, so that nothing of ours lands there: the server's end goes there
 * at the end), the command found and runnable, -o LOG opened (without -d
 * the server's own output goes there at the exec). Returns the log's
 * descriptor under -d, or -1.
 */
static int
before_anything(void)
{
	char path[PATH_MAX];
	const char *why;
	int r, logfd;

	signals_init();
	if (o.ready_fd >= 0 && (r = open("/dev/null", O_RDONLY |
	    O_CLOEXEC)) != o.ready_fd && (r < 0 || dup3(r, o.ready_fd,
	    O_CLOEXEC) < 0 || close(r) < 0))
		nf_die(NF_SYS, "--ready-fd %d:", o.ready_fd);
	if (o.cmd && (r = resolve(o.cmd[0], path, sizeof(path), &why)) !=
	    NF_OK)
		nf_die(r, "%s: %s; nothing was touched", o.cmd[0], why);
	logfd = o.log && !o.dry ? open_log(o.log) : -1;
	if (!o.dflag) {
		execlog = logfd;
		return -1;
	}
	return logfd;
}

/* 1. The restart lock: its descriptor (-n: is it held? -1). */
static int
take_lock(void)
{
	int fd = -1, r;

	if (o.dry) {
		if ((r = nf_restart_locked(o.a.pidfile)) != 0) {
			if (r < 0)
				nf_die(NF_SYS, NF_BUSY_UNKNOWN_FMT, o.a.pidfile);
			nf_plan("lock", NF_BUSY_FMT, o.a.pidfile, o.a.pidfile);
			nf_exit(NF_BUSY);
		}
		nf_plan("lock", "take %s.lock", o.a.pidfile);
		return -1;
	}
	r = nf_restart_lock(o.a.pidfile, o.a.unsafe, wait_ms(), &fd);
	if (r == NF_BUSY)
		nf_die(NF_BUSY, NF_BUSY_FMT, o.a.pidfile, o.a.pidfile);
	if (r != NF_OK)
		nf_exit(r);
	nf_debug("restart lock %s.lock taken", o.a.pidfile);
	nf_test_pause("locked");
	return fd;
}

/* 2, the PID file: 1 when it names a process to judge, 0 when there is
 * nothing to stop (said); exits 2 or 3 on a file that cannot be used. */
static int
read_old(struct nf_pidfile *pf)
{
	nf_pidfile_read(o.a.pidfile, o.a.unsafe, pf);
	switch (pf->status) {
	case NF_PF_OK:
		return 1;
	case NF_PF_ABSENT:
		nf_info("%s: no pid file: nothing to stop", o.a.pidfile);
		return 0;
	case NF_PF_SELF:
		nf_info("%s: names our own pid: stale, nothing to stop",
		    o.a.pidfile);
		return 0;
	case NF_PF_MALFORMED:
		if (pf->empty && o.nshm) {
			/* Killed between its truncate and its write: the
			 * segment check tells whether it still runs. */
			nf_info("%s: empty: nothing to stop (the segment check "
			    "decides)", o.a.pidfile);
			return 0;
		}
		/* FALLTHROUGH */
	default:
		nf_exit(nf_pidfile_report(pf));
	}
}

/* 2, the process it names: the old server (oldpid set), an innocent left
 * alone, a look-alike refused (5, unless --force), unknown (3). */
static void
judge_old(struct nf_pidfile *pf)
{
	struct nf_target t;
	struct nf_verdict vd;
	int r;

	old_target(&t, pf);
	nf_guard(&t, &vd);
	if (vd.evidence[0])
		nf_debug("old %d: %s", (int)pf->pid, vd.evidence);
	switch (vd.v) {
	case NF_G_OK:
		oldpid = pf->pid;
		oldstart = vd.start_ms;
		nf_debug("old server %d: %s", (int)oldpid, vd.why);
		/* Its data lives in its IPC namespace: a server started here
		 * would not find it (a container that shares our PIDs but not
		 * our IPC). */
		if (o.nshm && (r = nf_proc_same_ipcns(oldpid)) != 1)
			nf_die(r < 0 ? NF_SYS : NF_REFUSED, "old server %d %s; "
			    "nothing was touched", (int)oldpid, r < 0 ? "is in "
			    "an IPC namespace that cannot be read" : "is in "
			    "another IPC namespace: its segments are not ours, a "
			    "new server here would start empty; refusing");
		break;
	case NF_G_GONE:
		nf_info("old server %d: %s: nothing to stop", (int)pf->pid,
		    vd.why);
		break;
	case NF_G_UNKNOWN:
		nf_die(NF_SYS, "old server %d: %s; nothing was touched",
		    (int)pf->pid, vd.why);
	case NF_G_LOOKALIKE:
		if (!o.force)
			nf_die(NF_REFUSED, "%s names %d, which %s: refusing, "
			    "nothing was touched (--force treats it as the old "
			    "server)", o.a.pidfile, (int)pf->pid, vd.why);
		nf_warn("%s names %d, which %s: stopping it (--force)",
		    o.a.pidfile, (int)pf->pid, vd.why);
		oldpid = pf->pid;
		oldstart = vd.start_ms;
		break;
	default:
		nf_info("%s names %d, another process (%s): left alone, nothing "
		    "to stop", o.a.pidfile, (int)pf->pid, vd.why);
	}
}

/*
 * 2, a stopped server (SIGSTOP, a debugger, nfshm save --freeze) runs
 * nothing until it is continued: its signal would wait, and the answer
 * would be 124 for a server that exits later on its own. Refused (5)
 * unless --force.
 */
static void
not_stopped(void)
{
	struct nf_proc sp;

	if (nf_proc_read(oldpid, &sp) == 0 && NF_STATE_STOPPED(sp.state) &&
	    !o.force)
		nf_die(NF_REFUSED, "old server %d is stopped (state %c: SIGSTOP, "
		    "a debugger, or nfshm save --freeze at work): it cannot exit "
		    "until it is continued (kill -CONT %d); refusing, nothing was "
		    "touched (--force goes on)", (int)oldpid, sp.state,
		    (int)oldpid);
}

/*
 * 2. The old server: its PID file, the process it names, not stopped;
 * with no live server, no segment still attached (a server whose PID file
 * was deleted); not under another systemd unit; no first start without
 * --new.
 */
static void
find_old(struct nf_pidfile *pf)
{
	char buf[PATH_MAX];
	uint32_t key;
	int r;

	if (read_old(pf))
		judge_old(pf);
	if (oldpid)
		not_stopped();
	if (!oldpid && (r = still_attached(&key, buf, sizeof(buf)))) {
		if (r < 0)
			nf_die(NF_SYS, "segment 0x%08x: cannot tell who has it "
			    "attached %s; nothing was touched", (unsigned)key,
			    buf);
		nf_die(NF_REFUSED, "segment 0x%08x is attached for writing by "
		    "%s, and no live server was found: refusing, nothing was "
		    "touched (a server whose PID file was deleted is still "
		    "running)", (unsigned)key, buf);
	}
	if (oldpid && sd_foreign(oldpid, buf, sizeof(buf))) {
		/* Its unit would take the old server's exit for a stop. */
		if (!o.force)
			nf_die(NF_REFUSED, "old server %d runs under systemd "
			    "(%s): use systemctl reload; nothing was touched "
			    "(--force to go on)", (int)oldpid, buf);
		nf_warn("old server %d runs under systemd (%s): going on "
		    "(--force)", (int)oldpid, buf);
	}
	if (!oldpid && o.nshm && o.cmd && !o.newok && first_start(pf))
		nf_exit(NF_FALSE);
}

/*
 * 3. Preflight: --restore's file, checked whole; would a new server
 * recover the data? And can step 5 tell who has the segments attached
 * (another user's maps, hidepid)? Not knowing after the stop would leave
 * the service down.
 */
static void
check_data(void)
{
	char buf[PATH_MAX];
	int r;

	if ((r = bk_prepare(o.force)) != NF_OK)
		nf_exit(r);
	if ((r = preflight()) != NF_OK)
		nf_exit(r);
	for (int i = 0; i < o.nshm && oldpid; i++)
		if (writers(o.shm[i], buf, sizeof(buf)) < 0)
			nf_die(NF_SYS, "segment 0x%08x: cannot tell who has it "
			    "attached %s; nothing was touched", (unsigned)
			    o.shm[i], buf);
	if (!o.dry)
		nf_test_pause("judged");
}

/* -n: the steps from here on, as they would go. */
static _Noreturn void
show_plan(void)
{
	char b[32], w[32];

	if (oldpid)
		nf_plan("stop", "send %s to %d, wait %s%s", nf_signame(
		    o.has_sched ? o.sched.step[0].sig : o.sig, b, sizeof(b)),
		    (int)oldpid, o.has_sched ? "by the schedule" : "",
		    o.has_sched ? "" : nf_secs(wait_ms() * 1000, w, sizeof(w)));
	else
		nf_plan("stop", "nothing to stop");
	bk_plan();
	nf_plan("remove", "%s", o.a.pidfile);
	if (o.cmd)
		nf_plan("exec", "%s%s%s", o.cmd[0], o.dflag ? " (daemonized)" :
		    "", o.wflag ? " (writes the pid file)" : "");
	nf_exit(NF_OK);
}

/*
 * Everything that forks, before the old server is signalled: the holder
 * (or -d's daemonization, and under systemd the new main PID), and in the
 * gap, where the kernel would destroy an unattached segment, our own
 * attachment until the new server has it.
 */
static void
prepare_new(int lockfd, int logfd)
{
	int r;

	hold_segments();
	ready_before();
	if (o.cmd && o.dflag) {
		prepare_daemon(lockfd, logfd);
		/* Under systemd: the new main PID, before the old server can
		 * exit (it would stop the unit). */
		if (sd_on && (r = sd_begin(L.server)) != NF_OK)
			nf_exit(r);
		nf_test_pause("notified");
	} else if (o.cmd && (r = prefork_holder(lockfd)) < 0) {
		errno = -r;
		nf_die(NF_SYS, "fork (restart lock holder): %m; nothing was "
		    "touched");
	}
}

/* 4. Signal and wait. From here on, the operator's own signals do not
 * stop the handoff half way. */
static void
stop_old(struct nf_pidfile *pf)
{
	int r;

	handoff_begin();
	if (oldpid) {
		sd_stopping();
		if ((r = signal_old(pf)) != NF_OK)
			nf_exit(r);
	}
	nf_test_pause("exited");
}

/* 5. The segments detached by everyone else. The old server is gone:
 * whatever holds them, the service is down, and the answer is never 124. */
static void
wait_detached(void)
{
	char buf[PATH_MAX];
	int r;

	for (int i = 0; i < o.nshm && oldpid; i++) {
		r = detached_one(i, wait_ms(), buf, sizeof(buf));
		if (r == NF_TIMEOUT)
			nf_die(NF_DOWN, "segment 0x%08x is still attached for "
			    "writing by %s although the old server %d has "
			    "exited: nothing was started (two writers on one "
			    "segment is the worst outcome): DOWN", (unsigned)
			    o.shm[i], buf, (int)oldpid);
		if (r != NF_OK)
			nf_die(NF_DOWN, "segment 0x%08x: cannot tell who has it "
			    "attached %s; the old server is gone, nothing was "
			    "started: DOWN", (unsigned)o.shm[i], buf);
	}
}

int
main(int argc, char **argv)
{
	struct nf_pidfile pf;
	int lockfd, logfd, bkr, r;
	long long t0;
	char b[32];

	nf_init(argv[0]);
	sd_init();
	parse(argc, argv);
	sd_check(o.dflag, o.cmd != NULL, o.force);
	t0 = nf_now_us();
	logfd = before_anything();

	lockfd = take_lock();		/* 1. the restart lock */
	find_old(&pf);			/* 2. the old server */
	check_data();			/* 3. preflight */
	if (o.dry)
		show_plan();
	prepare_new(lockfd, logfd);	/* what forks, before any signal */
	stop_old(&pf);			/* 4. signal and wait */
	wait_detached();		/* 5. the segments detached; in */
	bkr = bk_gap();			/*    the gap, backups, restore */
	remove_pidfile(&pf);		/* 6. the stale PID file */
	nf_debug("old server handled in %s", nf_secs(nf_now_us() - t0, b,
	    sizeof(b)));
	nf_test_pause("removed");
	if (!o.cmd)	/* stop only: 1 when there was nothing to stop */
		nf_exit(bkr ? bkr : oldpid ? NF_OK : NF_FALSE);
	/* 7-9. The new server: with -d launched, and waited for until it
	 * is ready; without, nfrestart becomes it (7: -w's PID file, 8: the
	 * exec). A failed backup (3) is the answer only once it runs. */
	if (o.dflag)
		nf_exit((r = launch_daemon()) ? r : bkr);
	nf_exit(exec_server(-1));
}
