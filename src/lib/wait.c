/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Waiting for processes to exit, and start-stop-daemon style schedules.
 *
 * Where the kernel has pidfds, every PID gets one, opened before anything
 * is signalled, and all of them wait in one poll (a few PIDs: its wake-up
 * and teardown cost less) or one epoll set (many): an exit wakes us
 * within microseconds, costs no CPU while we wait, and a PID recycled while
 * we wait cannot fool us. A zombie's pidfd is readable, so a parent that
 * never reaps does not delay us. Elsewhere (kernels before 5.3, seccomp
 * profiles that refuse pidfd_open, NF_NO_PIDFD=1) each PID is looked at in
 * /proc: gone, a zombie, or a different start time (the PID was reused)
 * all count as exited; kill(pid, 0) is the last resort where /proc cannot
 * be read. The look happens every millisecond for the first two seconds
 * and then backs off to 20 ms, never more often than the number of PIDs
 * allows (about 10 us of looking per PID per interval).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nf.h"

/* running, gone at open, reported, left out (not the process meant) */
enum { W_RUN, W_GONE0, W_DONE, W_DROPPED };
#define NO_START (~0ULL)
#define FAST_US 2000000LL		/* look every 1 ms this long */
#define BASE_US 1000LL
#define SLOW_US 20000LL
#define PER_PID_US 10LL
#define POLL_MAX 64			/* more PIDs than this: epoll */
#define FD_RESERVE 16			/* descriptors never taken by pidfds */
#define PROGRESS_US 2000000LL		/* -v: a word this often in a wait */

struct ws {
	size_t n, ndone, npoll;
	pid_t *pid;
	int *fd;			/* pidfd, or -1 while polled */
	struct pollfd *pfd;		/* with poll: the pidfds, -1 when done */
	unsigned char *st;
	unsigned long long *start;	/* for the fallback's reuse check */
	int ep;
	int usepoll;
	int raised;
	struct rlimit orig;
	void *map;
	size_t maplen;
	int err;			/* a look that failed: errno */
};

typedef void (*ws_cb)(struct ws *, size_t, void *);

/*
 * RLIMIT_NOFILE, set (NEW) or read (OLD), by the prlimit system call:
 * musl's setrlimit() applies it to every thread (__synccall), 1.5 KiB of
 * a static binary; these tools have one thread.
 */
static int
nofile(const struct rlimit *new, struct rlimit *old)
{
	return (int)syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, new, old);
}

/*
 * A few PIDs (the usual handoff) live in static storage: no mmap before
 * the wait, and above all no munmap after it, whose TLB shootdown costs
 * the waiter a hundred microseconds or more on a virtual machine.
 */
#define SMALL_N POLL_MAX
static unsigned long long small[(SMALL_N * (sizeof(unsigned long long) +
    sizeof(pid_t) + sizeof(int) + sizeof(struct pollfd) + 1) + 1 +
    sizeof(unsigned long long) - 1) / sizeof(unsigned long long)];
static int small_busy;

static void
ws_close(struct ws *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->fd[i] >= 0)
			close(w->fd[i]);
	if (w->ep >= 0)
		close(w->ep);
	if (w->raised)
		nofile(&w->orig, NULL);
	if (w->map == (void *)small)
		small_busy = 0;
	else
		munmap(w->map, w->maplen);
}

/* Room for n PIDs: one mapping, no malloc. The caller fills w->pid. */
static int
ws_alloc(struct ws *w, size_t n)
{
	size_t len;

	memset(w, 0, sizeof(*w));
	w->ep = -1;
	if (n > ((size_t)-1) / 32) {
		errno = ENOMEM;
		return -1;
	}
	len = n * (sizeof(unsigned long long) + sizeof(pid_t) + sizeof(int) +
	    sizeof(struct pollfd) + 1) + 1;
	if (n <= SMALL_N && !small_busy) {
		small_busy = 1;
		w->map = small;
		memset(small, 0, sizeof(small));
	} else if ((w->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return -1;
	w->maplen = len;
	w->n = n;
	w->start = w->map;
	w->pid = (pid_t *)(w->start + n);
	w->fd = (int *)(w->pid + n);
	w->pfd = (struct pollfd *)(w->fd + n);
	w->st = (unsigned char *)(w->pfd + n);
	for (size_t i = 0; i < n; i++) {
		w->fd[i] = -1;
		w->pfd[i].fd = -1;
		w->pfd[i].events = POLLIN;
	}
	return 0;
}

/*
 * What the fallback sees: 1 exited (gone, exited, or the number now
 * belongs to a process with another start time), 0 running, -1 it cannot
 * be told (errno set: hidepid, no descriptors left): never kill(pid, 0),
 * which calls a zombie alive, where there is a /proc of ours.
 */
static int
looked_gone(struct ws *w, size_t i)
{
	struct nf_proc p;
	int r = nf_proc_read(w->pid[i], &p);

	if (r == 1)
		return 1;
	if (r < 0) {	/* no /proc (or not ours): kill(pid, 0) is all there is */
		if (nf_has_proc()) {
			w->err = errno;
			return -1;
		}
		return !(kill(w->pid[i], 0) == 0 || errno == EPERM);
	}
	if (nf_proc_exited(&p))
		return 1;
	if (w->start[i] == NO_START)
		w->start[i] = p.start_ms;
	return p.start_ms != w->start[i];
}

/* Open a pidfd per PID (polled where none can be had); note those gone. */
static void
ws_arm(struct ws *w)
{
	struct rlimit rl;

	if (nf_pidfd_ok() && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < w->n + 64 &&
	    rl.rlim_cur < rl.rlim_max) {
		w->orig = rl;
		rl.rlim_cur = rl.rlim_max;
		if (nofile(&rl, NULL) == 0)
			w->raised = 1;
		nf_debug("RLIMIT_NOFILE raised to %llu for %zu pids",
		    (unsigned long long)rl.rlim_cur, w->n);
	}
	if (nf_pidfd_ok()) {
		if (w->n <= POLL_MAX)
			w->usepoll = 1;
		else if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
			nf_debug("epoll_create1: %m: looking at /proc instead");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1 << 20;
	for (size_t i = 0; i < w->n; i++) {
		int fds = w->usepoll || w->ep >= 0;
		int fd;

		w->start[i] = NO_START;
		if (w->pid[i] < 2) {	/* not a target: never kill(0 or -1) */
			w->st[i] = W_DONE;
			w->ndone++;
			continue;
		}
		fd = fds ? nf_pidfd_open(w->pid[i]) : -1;
		/* Descriptors in reserve: the /proc reads of those we look
		 * at instead, and of the guard, need some. */
		if (fd >= 0 && (rlim_t)fd + FD_RESERVE >= rl.rlim_cur) {
			close(fd);
			fd = -1;
			errno = EMFILE;
		}
		if (fd >= 0 && w->usepoll) {
			w->fd[i] = w->pfd[i].fd = fd;
			continue;
		}
		if (fd >= 0) {
			struct epoll_event ev;

			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLIN;
			ev.data.u64 = i;
			if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
				w->fd[i] = fd;
				continue;
			}
			close(fd);
		} else if (fds && errno == ESRCH) {
			w->st[i] = W_GONE0;
			continue;
		}
		/* EMFILE, EINVAL (a thread), ENOSYS: look at it instead. */
		if (looked_gone(w, i) == 1)
			w->st[i] = W_GONE0;
		else
			w->npoll++;
	}
	{
		size_t gone = 0;

		for (size_t i = 0; i < w->n; i++)
			gone += w->st[i] == W_GONE0;
		nf_debug("watching %zu pids: %zu by pidfd + %s, %zu by "
		    "looking at /proc, %zu gone already", w->n, w->n - gone -
		    w->npoll, w->usepoll ? "poll" : "epoll", w->npoll, gone);
	}
}

static void
ws_done(struct ws *w, size_t i, ws_cb cb, void *ctx)
{
	if (w->st[i] == W_DONE)
		return;
	if (w->fd[i] >= 0) {
		close(w->fd[i]);	/* also leaves the epoll set */
		w->fd[i] = w->pfd[i].fd = -1;
	} else if (w->st[i] == W_RUN)
		w->npoll--;
	w->st[i] = W_DONE;
	w->ndone++;
	if (cb)
		cb(w, i, ctx);
}

static int
ws_finished(const struct ws *w, int any)
{
	return any ? w->ndone > 0 : w->ndone == w->n;
}

static void
ws_sweep(struct ws *w, ws_cb cb, void *ctx)
{
	for (size_t i = 0; i < w->n && w->npoll; i++)
		if (w->st[i] == W_RUN && w->fd[i] < 0 && looked_gone(w, i) == 1)
			ws_done(w, i, cb, ctx);
}

/* "waiting for 4242 (and 2 more): 4.0 of 10 s" */
static void
progress(struct ws *w, long long us, long long ms)
{
	size_t left = w->n - w->ndone, first = 0;
	char of[32] = "";

	while (first < w->n && w->st[first] != W_RUN)
		first++;
	if (first == w->n)
		return;
	if (ms >= 0)
		nf_fmt(of, sizeof(of), " of %lld.%lld", ms / 1000,
		    ms % 1000 / 100);
	if (left > 1)
		nf_debug("waiting for %d (and %zu more): %lld.%lld%s s",
		    (int)w->pid[first], left - 1, us / 1000000,
		    us / 100000 % 10, of);
	else
		nf_debug("waiting for %d: %lld.%lld%s s", (int)w->pid[first],
		    us / 1000000, us / 100000 % 10, of);
}

/* Wait up to ms (< 0: forever) until all (any: one) are done. 0 when
 * finished, 1 on timeout, -1 on a system error. */
static int
ws_run(struct ws *w, int any, long long ms, ws_cb cb, void *ctx)
{
	long long t0 = nf_now_us(), end = ms < 0 ? -1 : t0 + ms * 1000;
	long long base = BASE_US, next = t0 + PROGRESS_US;
	int first = 1;

	/* Those already gone when we looked come first. */
	for (size_t i = 0; i < w->n; i++)
		if (w->st[i] == W_GONE0)
			ws_done(w, i, cb, ctx);
	nf_outflush();
	for (;;) {
		long long now = nf_now_us(), wait = -1;
		size_t nfd = w->n - w->ndone - w->npoll;

		if (ws_finished(w, any))
			return 0;
		if (!first) {
			if (end >= 0 && now >= end)
				return 1;
			if (w->npoll) {
				long long scaled = (long long)w->npoll *
				    PER_PID_US;

				if (now - t0 >= FAST_US && base < SLOW_US) {
					base += base / 4 + 1000;
					if (base > SLOW_US)
						base = SLOW_US;
				}
				wait = base > scaled ? base : scaled;
			}
			if (end >= 0 && (wait < 0 || end - now < wait))
				wait = end - now;
		} else
			wait = 0;
		first = 0;
		/* -v: a word every 2 s of a long wait. */
		if (nf_verbose && (wait < 0 || now + wait > next))
			wait = next > now ? next - now : 0;
		if (nf_verbose && now >= next) {
			progress(w, now - t0, ms);
			next += PROGRESS_US;
		}
		if (nfd && w->usepoll) {
			int k = poll(w->pfd, (nfds_t)w->n, wait < 0 ? -1 :
			    (int)((wait + 999) / 1000));

			if (k < 0 && errno != EINTR)
				return -1;
			for (size_t i = 0; k > 0 && i < w->n; i++)
				if (w->pfd[i].fd >= 0 && w->pfd[i].revents) {
					ws_done(w, i, cb, ctx);
					k--;
				}
		} else if (nfd && w->ep >= 0) {
			struct epoll_event ev[256];
			int k = epoll_wait(w->ep, ev, 256, wait < 0 ? -1 :
			    (int)((wait + 999) / 1000));

			if (k < 0 && errno != EINTR)
				return -1;
			for (int j = 0; j < k; j++)
				ws_done(w, (size_t)ev[j].data.u64, cb, ctx);
		} else if (wait > 0) {
			struct timespec ts = { (time_t)(wait / 1000000),
			    (long)(wait % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		}
		if (w->npoll)
			ws_sweep(w, cb, ctx);
		nf_outflush();
		if (w->err) {	/* fail closed: never 124 for what is not known */
			errno = w->err;
			return -1;
		}
	}
}

struct watch {
	void (*cb)(pid_t, int, void *);
	void *arg;
};

static void
watch_cb(struct ws *w, size_t i, void *ctx)
{
	struct watch *x = ctx;

	if (x->cb)
		x->cb(w->pid[i], NF_W_EXITED, x->arg);
}

/* Has the process pinned for target i exited? Its pidfd is readable then;
 * without one, the fallback's identity (start time) decides. */
static int
exited_now(struct ws *w, size_t i)
{
	if (w->fd[i] >= 0) {
		struct pollfd p = { w->fd[i], POLLIN, 0 };

		return poll(&p, 1, 0) > 0;
	}
	return looked_gone(w, i) == 1;
}

/*
 * Send SIG to target i through what pins it: its pidfd, or, without one,
 * kill() right after checking that the number still belongs to the
 * process judged (same start time, not exited). Never a fresh judgement
 * by number: a server that detached its segment on the first signal is
 * still the server. 0 sent, 1 it has exited, -errno.
 */
static int
ws_send(struct ws *w, size_t i, int sig)
{
	int r;

	if (w->fd[i] >= 0) {
		if (nf_pidfd_send(w->fd[i], sig) == 0)
			return 0;
		return errno == ESRCH ? 1 : -errno;
	}
	if ((r = looked_gone(w, i)) != 0)
		return r == 1 ? 1 : -errno;
	if (kill(w->pid[i], sig) == 0)
		return 0;
	return errno == ESRCH ? 1 : -errno;
}

/* The first that applies of 3 and 5 (judgement failures), else RC. */
static int
worst(int judged, int rc)
{
	if (judged == NF_SYS || rc == NF_SYS)
		return NF_SYS;
	if (judged == NF_REFUSED)
		return NF_REFUSED;
	return rc;
}

/* A target judged before: is the process there now that one (its start
 * time), alive? OK, GONE, or UNKNOWN. */
static int
same(const struct nf_target *t, struct nf_verdict *vd)
{
	struct nf_proc p;
	int r = nf_proc_read(t->pid, &p);

	vd->evidence[0] = '\0';
	vd->start_ms = p.start_ms;
	if (r < 0) {
		vd->why = nf_has_proc() ? "cannot read /proc/PID/stat" :
		    nf_noproc_why();
		return vd->v = NF_G_UNKNOWN;
	}
	if (r == 1 || nf_proc_exited(&p) || p.start_ms != t->start_ms) {
		vd->why = "exited";
		return vd->v = NF_G_GONE;
	}
	vd->why = "the process judged";
	return vd->v = NF_G_OK;
}

/* Judge each target (its pidfd is open already): those that are not the
 * process meant are dropped, reported with VERB. The code of the worst. */
static int
ws_judge(struct ws *w, const struct nf_target *t, const char *verb)
{
	int bad = NF_OK;

	for (size_t i = 0; i < w->n; i++) {
		struct nf_verdict vd;
		int g;

		if (w->st[i] != W_RUN)
			continue;
		if (t[i].start_ms)
			g = same(&t[i], &vd);
		else
			g = nf_guard(&t[i], &vd);
		if (vd.evidence[0])
			nf_debug("%d: %s", (int)t[i].pid, vd.evidence);
		if (g == NF_G_OK) {
			/* The process judged must be the one pinned. */
			if (w->fd[i] < 0 && w->start[i] == NO_START)
				w->start[i] = vd.start_ms;
			if ((w->fd[i] < 0 && w->start[i] != vd.start_ms) ||
			    exited_now(w, i))
				g = NF_G_GONE;
		}
		if (g == NF_G_OK)
			continue;
		if (g == NF_G_GONE) {
			if (w->fd[i] >= 0) {
				close(w->fd[i]);
				w->fd[i] = w->pfd[i].fd = -1;
			} else
				w->npoll--;
			w->st[i] = W_GONE0;
			continue;
		}
		if (g == NF_G_STALE)
			nf_info("%d: not %s: %s%s", (int)t[i].pid, verb, vd.why,
			    t[i].pf ? " (the process the pid file named is "
			    "gone)" : "");
		else
			nf_warn("%d: not %s: %s%s", (int)t[i].pid, verb, vd.why,
			    g == NF_G_LOOKALIKE ? ": refusing" : "");
		if (g == NF_G_UNKNOWN)
			bad = NF_SYS;
		else if (g == NF_G_LOOKALIKE && bad != NF_SYS)
			bad = NF_REFUSED;
		ws_done(w, i, NULL, NULL);
		w->st[i] = W_DROPPED;
	}
	return bad;
}

int
nf_watch(const struct nf_target *t, size_t n, const struct nf_sched *sc,
    struct nf_watchopt *wo)
{
	struct watch x = { wo->cb, wo->arg };
	struct ws w;
	long long end = wo->ms < 0 ? -1 : nf_now_us() + wo->ms * 1000;
	int rc = NF_TIMEOUT, judged = NF_OK, r;

	wo->sent = 0;
	if (ws_alloc(&w, n) < 0) {
		nf_warn("mmap:");
		return NF_SYS;
	}
	for (size_t i = 0; i < n; i++)
		w.pid[i] = t[i].pid;
	/* The pidfds are open before anything is judged or signalled: an
	 * exit cannot be missed, nor a recycled PID mistaken for the
	 * target. */
	ws_arm(&w);
	if (wo->judge)
		judged = ws_judge(&w, t, wo->verb);
	if (!sc) {
		r = ws_run(&w, wo->any, wo->ms, watch_cb, &x);
		rc = r < 0 ? NF_SYS : r == 0 ? NF_OK : NF_TIMEOUT;
		if (r < 0)
			nf_warn("wait: /proc/PID/stat:");
		goto out;
	}
	/* Those gone already are reported, and may be all we wait for. */
	for (size_t i = 0; i < n; i++)
		if (w.st[i] == W_GONE0)
			ws_done(&w, i, watch_cb, &x);
	nf_outflush();
	if (ws_finished(&w, wo->any))
		rc = NF_OK;
	for (int s = 0; s < sc->n && rc != NF_OK; s++) {
		char sn[32];
		long long left, step = sc->step[s].ms;
		int bad = 0, capped;

		/* No time left: no further signal (it could not be waited
		 * for, and the answer would be about a process just hit). */
		if (end >= 0 && nf_now_us() >= end)
			break;
		nf_signame(sc->step[s].sig, sn, sizeof(sn));
		wo->sent = s + 1;
		for (size_t i = 0; i < n; i++) {
			if (ws_finished(&w, wo->any))
				break;	/* with any: one is gone, spare the rest */
			if (w.st[i] != W_RUN)
				continue;
			r = ws_send(&w, i, sc->step[s].sig);
			if (r == 0)
				nf_debug("%d: sent %s", (int)t[i].pid, sn);
			else if (r == 1)
				ws_done(&w, i, watch_cb, &x);
			else {
				errno = -r;
				nf_warn("%d: kill %s:", (int)t[i].pid, sn);
				bad = 1;
			}
		}
		nf_outflush();
		if (bad) {
			rc = NF_SYS;
			break;
		}
		if (ws_finished(&w, wo->any)) {
			rc = NF_OK;
			break;
		}
		left = end < 0 ? -1 : (end - nf_now_us() + 999) / 1000;
		if (left < 0 && end >= 0)
			left = 0;
		capped = left >= 0 && step >= left;
		if (capped)
			step = left;
		r = ws_run(&w, wo->any, step, watch_cb, &x);
		if (r < 0) {
			nf_warn("wait: /proc/PID/stat:");
			rc = NF_SYS;
			break;
		}
		if (r == 0) {
			rc = NF_OK;
			break;
		}
		if (capped)
			break;	/* the bound ran out, not the step */
	}
	/* One last look before saying it still runs. */
	if (rc == NF_TIMEOUT && ws_run(&w, wo->any, 0, watch_cb, &x) == 0)
		rc = NF_OK;
out:
	if (rc == NF_TIMEOUT && x.cb)
		for (size_t i = 0; i < n; i++)
			if (w.st[i] == W_RUN)
				x.cb(w.pid[i], NF_W_LEFT, x.arg);
	ws_close(&w);
	return worst(judged, rc);
}
