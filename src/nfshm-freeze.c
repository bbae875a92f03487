/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm save --freeze PID: a copy of a running server's segment that no
 * write of the server tears, because the server is stopped (SIGSTOP) for
 * as long as the copy takes, and nothing else: the header, fsync and
 * rename come after it runs again. Whatever happens to nfshm (killed,
 * failed, stopped by a terminal's ^Z), the server must not stay stopped:
 * a guardian, forked before the stop, in a session of its own and deaf to
 * the signals a terminal or a process group sends, waits on a socket from
 * nfshm and sends SIGCONT when it ends without the word that nfshm did so
 * itself. It says when it is set up, and only then is the server stopped. Both signal through a pidfd opened before PID was judged, so
 * neither can reach another process that got its number. Without pidfd
 * (Linux before 5.3, NF_NO_PIDFD=1) they hold /proc/PID open instead: that
 * directory names the process, not its number (reads through it fail once
 * the process has exited, even if the number is taken again), and it is
 * read right before each kill(), which leaves a window of microseconds in
 * which the server would have to die and its number be reused.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/nf.h"
#include "nfshm-freeze.h"

#define STOP_WAIT_MS 5000

/* PID's state letter, read through the /proc/PID opened at the start:
 * 0 when that process has exited (whoever has its number now). */
static char
state(const struct freeze *fz, const char *file)
{
	char buf[1024];
	struct nf_proc p;

	if (nf_readat(fz->procfd, file, buf, sizeof(buf)) <= 0 ||
	    nf_proc_parse(buf, &p) < 0)
		return 0;
	return p.state != 'Z' && p.state != 'X' ? p.state : 0;
}

static int
sendsig(const struct freeze *fz, int sig)
{
	if (fz->pidfd >= 0)
		return nf_pidfd_send(fz->pidfd, sig);
	if (!state(fz, "stat")) {
		errno = ESRCH;		/* gone, or another process now */
		return -1;
	}
	return kill(fz->pid, sig);
}

void
freeze_open(struct freeze *fz, pid_t pid)
{
	struct nf_proc p, q;
	char path[32];
	int r;

	memset(fz, 0, sizeof(*fz));
	fz->pid = pid;
	fz->gw = -1;
	/* The pidfd first: the process judged below is the one it names. */
	if ((fz->pidfd = nf_pidfd_open(pid)) < 0 && errno == ESRCH)
		nf_die(NF_FALSE, "--freeze %d: no such process; nothing saved",
		    (int)pid);
	if ((r = nf_proc_read(pid, &p)) == 1 || (r == 0 && p.state == 'Z'))
		nf_die(NF_FALSE, "--freeze %d: no such process; nothing saved",
		    (int)pid);
	if (r < 0)
		nf_die(NF_SYS, "--freeze %d: /proc/%d/stat:", (int)pid,
		    (int)pid);
	if (NF_STATE_STOPPED(p.state))
		nf_die(NF_REFUSED, "--freeze %d: already stopped or traced "
		    "(state %c): it would be resumed after the copy; nothing "
		    "saved", (int)pid, p.state);
	/* Then /proc/PID, checked to be still the process judged. */
	nf_fmt(path, sizeof(path), "/proc/%d", (int)pid);
	if ((fz->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    nf_proc_read(pid, &q) != 0 || q.start_ms != p.start_ms ||
	    !state(fz, "stat"))
		nf_die(NF_FALSE, "--freeze %d: no such process; nothing saved",
		    (int)pid);
}

struct tasks {
	const struct freeze *fz;
	int running;
};

static int
task(const char *name, void *arg)
{
	struct tasks *t = arg;
	char path[96], c;

	nf_fmt(path, sizeof(path), "task/%s/stat", name);
	/* 0: that thread has just exited. */
	if ((c = state(t->fz, path)) && c != 'T' && c != 't')
		t->running++;
	return 0;
}

/* Every thread of PID stopped (or gone)? 1 yes, 0 not yet, -1 unknown. */
static int
all_stopped(const struct freeze *fz)
{
	struct tasks t = { fz, 0 };
	char path[64];

	if (!state(fz, "stat"))
		return 1;
	nf_fmt(path, sizeof(path), "/proc/%d/task", (int)fz->pid);
	if (nf_dir_each(path, task, &t) < 0)
		return errno == ENOENT ? 1 : -1;
	return t.running == 0;
}

/*
 * Everything the guardian needs is in place before it says 'G': its own
 * session (a signal to nfshm's process group no longer reaches it), the
 * signals ignored (those sent meanwhile were held back by the mask nfshm
 * forked with, and are dropped), /dev/null open. Only then is PID stopped.
 */
static _Noreturn void
guardian(const struct freeze *fz, int fd, const sigset_t *mask)
{
	static const int deaf[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE,
	    SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ssize_t n;
	char c = 0;

	if (setsid() < 0)
		_exit(1);
	for (size_t i = 0; i < sizeof(deaf) / sizeof(deaf[0]); i++)
		signal(deaf[i], SIG_IGN);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
	}
	if (write(fd, "G", 1) != 1)
		_exit(1);
	/* 'R': nfshm resumed PID itself. End of file without it: nfshm is
	 * gone, or gave up, with PID perhaps still stopped. */
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && c == 'R')
		_exit(0);
	if (sendsig(fz, SIGCONT) < 0 && errno != ESRCH)
		nf_warn("guardian: %d: SIGCONT: %m: it may still be stopped",
		    (int)fz->pid);
	_exit(0);
}

void
freeze_stop(struct freeze *fz)
{
	struct nf_backoff b;
	sigset_t all, old;
	ssize_t n;
	pid_t g;
	int p[2], r;
	char c = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		nf_die(NF_SYS, "socketpair (the guardian); nothing stopped:");
	/* A ^Z must not stop nfshm with the server stopped behind it. */
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	/* The guardian starts with every signal held back, until it has
	 * made itself deaf to them. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((g = fork()) < 0)
		nf_die(NF_SYS, "fork (the guardian); nothing stopped:");
	if (g == 0) {
		close(p[0]);
		guardian(fz, p[1], &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	fz->gw = p[0];
	while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || c != 'G')
		nf_die(NF_SYS, "--freeze %d: the guardian did not start; nothing "
		    "stopped", (int)fz->pid);
	if (sendsig(fz, SIGSTOP) < 0)
		nf_die(errno == ESRCH ? NF_FALSE : NF_SYS, "--freeze %d: "
		    "SIGSTOP:", (int)fz->pid);
	fz->t0 = nf_now_us();
	fz->stopped = 1;
	/* The signal is delivered to each thread as it next runs: a thread
	 * that is still writing has not stopped yet. Every 50 us. */
	nf_backoff_init(&b, STOP_WAIT_MS, 50, 0, 50);
	while ((r = all_stopped(fz)) == 0 && nf_backoff_sleep(&b))
		;
	if (r != 1) {
		freeze_resume(fz);
		nf_die(NF_SYS, "--freeze %d: %s; resumed, nothing saved",
		    (int)fz->pid, r < 0 ? "its threads cannot be seen in /proc" :
		    "not every thread stopped within 5 s (one in state D?)");
	}
	nf_debug("%d stopped after %lld us", (int)fz->pid,
	    nf_now_us() - fz->t0);
	/* For the tests: kill nfshm in the middle of the copy. */
	nf_test_pause("frozen");
}

void
freeze_resume(void *arg)
{
	struct freeze *fz = arg;
	long long us = nf_now_us() - fz->t0;

	if (!fz->stopped)
		return;
	fz->stopped = 0;
	if (sendsig(fz, SIGCONT) < 0 && errno != ESRCH) {
		nf_warn("--freeze %d: SIGCONT: %m (the guardian tries again)",
		    (int)fz->pid);
	} else {
		/* (A guardian killed meanwhile must not kill us.) */
		send(fz->gw, "R", 1, MSG_NOSIGNAL);
		nf_debug("%d resumed: stopped for %lld.%03lld ms", (int)fz->pid,
		    us / 1000, us % 1000);
	}
	close(fz->gw);
	fz->gw = -1;
}
