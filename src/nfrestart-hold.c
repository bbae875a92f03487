/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart: what keeps the restart lock, and the segments, once nfrestart
 * has become the new server. A holder, forked before the old server is
 * signalled, holds them until the new server is visible (its PID file
 * names it, and it has its segment attached), has died, or --ready-timeout
 * has passed. Without -d it is forked twice off the process that will
 * exec (never a zombie child of the server); with -d it is the middle
 * process of the daemonization, the server's parent, which learns its
 * exit status on any kernel. Also -d's forks and launch: everything that
 * forks happens before the old server is signalled, so that nothing but
 * an exec stands between its exit and the new server's start.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/shm.h"
#include "nfrestart.h"
#include "nfrestart-notify.h"

struct nfr_launch L = { -1, -1, -1, -1, 0 };

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
int
exit_status(pid_t pid, int pfd, int *status)
{
	struct nf_proc p;
	int r;

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
		if ((r = nf_proc_read(pid, &p)) == 0 && p.state == 'Z' &&
		    p.exit_code >= 0) {
			*status = p.exit_code;
			return 1;
		}
		if (r != 0 && pfd < 0)
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
	struct nf_backoff b;
	int execd = 0, daemonized = 0, lock = h->lockfd >= 0, segs = h->segs;
	int rfd = h->rfd, ended = 0, visible = 0, late = 0, told = 0;
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
	/*
	 * Every 2 ms at first, then 1 ms less often each time, up to 50 ms
	 * after about a second: a thousand holders of a mass restart must
	 * not starve the servers they are waiting for. The ready timeout
	 * is its deadline.
	 */
	nf_backoff_init(&b, o.ready_ms, 2000, 1000, 50000);
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

			nf_pidfile_read(o.a.pidfile, 1, &pf);
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
		if (nf_backoff_over(&b) && (lock || segs)) {
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
		/* Past the deadline, the lock kept for a server still
		 * starting: at the slowest. Only the ready fd left: five
		 * times a second. */
		if (!(lock || segs))
			nf_sleep_ms(200);
		else if (!nf_backoff_sleep(&b))
			nf_sleep_ms(50);
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
void
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


/* ---- the holders' making ---- */

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
int
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
	nf_eoutflush();
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
void
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
	nf_eoutflush();
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
		nf_eoutflush();
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
/* -d, after the old server is gone: go, then wait for readiness. */
int
launch_daemon(void)
{
	pid_t server = L.server;
	int32_t v;
	ssize_t n;
	int spfd;

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
		return nf_exec_code(-v);
	}
	if (n == sizeof(v) && v > 0) {
		nf_warn("the new server could not be started (%d): DOWN",
		    (int)v);
		return (int)v;
	}
	handoff_end();
	nf_debug("new server %d started (daemonized)", (int)server);
	return ready_wait(server, spfd);
}
