/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart under systemd. systemd watches one main PID: when it exits,
 * the unit is taken for dead and its cgroup is killed. So a reload tells
 * systemd the new server's PID (MAINPID= on $NOTIFY_SOCKET, a datagram)
 * before the old server can exit, puts it back on the old server when the
 * reload fails before the new server runs, and says READY=1 when the new
 * server is ready. The sender must be alive when systemd reads a message
 * (it finds the unit by the sender's PID), hence BARRIER=1 before a
 * process that is not the control process exits.
 *
 * Who tells what: the foreground (the control process of ExecReload=), at
 * its exit; the middle process of -d, which outlives it, when it was
 * killed; the holder of a start (ExecStart=), READY=1.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/nf.h"
#include "nfrestart-notify.h"

/* How long systemd is given to read a message, or to see an exit. */
#define SD_WAIT_MS 5000

int sd_on;
pid_t sd_main;
static const char *sock;
/*
 * -d: d, from the foreground to the holder: 's' before the old server is
 * signalled, 'd' when the foreground told systemd how the reload ended,
 * end of file without 'd' when it was killed; x, held open by the holder
 * only: end of file when the holder is gone.
 */
static int dr = -1, dw = -1, xr = -1, xw = -1;
static pid_t sserver, sold;
static unsigned long long soldstart;	/* the old server's, against reuse */
static unsigned long long smainstart;	/* $MAINPID's, at our start */
static int fgstop, fgdone, fgend;	/* read from d: 's', 'd', its end */

void
sd_init(void)
{
	const char *m = getenv("MAINPID"), *why;
	unsigned long long v;

	sock = getenv("NOTIFY_SOCKET");
	sd_on = sock && *sock;
	if (m && nf_parse_ulong(m, 2, nf_pid_max(), &v, &why) == 0) {
		struct nf_proc p;

		sd_main = (pid_t)v;
		if (nf_proc_read(sd_main, &p) == 0)
			smainstart = p.start_ms;
	}
}

/* Is $MAINPID still the process it was when we started (not a process
 * that got its number since)? */
static int
main_lives(void)
{
	struct nf_proc p;

	return sd_main && smainstart && nf_alive(sd_main) == 1 &&
	    nf_proc_read(sd_main, &p) == 0 && p.start_ms == smainstart;
}

void
sd_check(int dflag, int cmd, int force)
{
	if (!cmd || !sd_main)
		return;
	if (!sd_on && !force)
		nf_die(NF_REFUSED, "run by systemd ($MAINPID) without "
		    "$NOTIFY_SOCKET: the old server's exit would stop the unit, "
		    "which needs NotifyAccess=all (nfhandoff(7), SYSTEMD); "
		    "nothing was touched");
	if (sd_on && !dflag)
		nf_die(NF_USAGE, "in systemd's ExecReload= give -d (without "
		    "it nfrestart would become the server inside the reload)");
}

/* MSG, and FD with it (SCM_RIGHTS) when FD >= 0. */
static int
sendfd(const char *msg, size_t n, int fd)
{
	struct sockaddr_un sa;
	struct iovec iov;
	struct msghdr mh;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	size_t l = strlen(sock);
	int s, r, e;

	if (l >= sizeof(sa.sun_path) || (*sock != '/' && *sock != '@')) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	memset(&mh, 0, sizeof(mh));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, l);
	if (*sock == '@')
		sa.sun_path[0] = '\0';	/* an abstract name */
	iov.iov_base = (void *)msg;
	iov.iov_len = n;
	mh.msg_name = &sa;
	mh.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* The system call itself: musl's sendmsg() copies the message to
	 * zero the padding of its struct, which memset() did here. */
	r = syscall(SYS_sendmsg, s, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
	e = errno;
	close(s);
	errno = e;
	return r;
}

int
sd_send(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = nf_vfmtw(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (nf_verbose) {
		char d[256];

		for (size_t i = 0; i <= n; i++)
			d[i] = buf[i] == '\n' ? ' ' : buf[i];
		nf_debug("systemd: %s", d);
	}
	return sendfd(buf, n, -1);
}

/*
 * Until systemd has read everything sent before: BARRIER=1 with a pipe's
 * write end, which it closes (systemd 246 and later). 0, or -1.
 */
static int
barrier(void)
{
	struct pollfd pf;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	r = sendfd("BARRIER=1", 9, p[1]);
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	while (r == 0 && (r = poll(&pf, 1, SD_WAIT_MS)) < 0 && errno == EINTR)
		r = 0;
	close(p[0]);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* /proc/PID/WHAT (PID 0: ours) into BUF, NUL-terminated; its length. */
static ssize_t
slurp(pid_t pid, const char *what, char *buf, size_t n)
{
	char path[64];

	nf_fmt(path, sizeof(path), "/proc/%d/%s", pid ? (int)pid :
	    (int)getpid(), what);
	return nf_readfile(path, buf, n);
}

int
sd_foreign(pid_t pid, char *unit, size_t n)
{
	static char env[16384], cg[2][2048];
	ssize_t l = slurp(pid, "environ", env, sizeof(env));
	const char *e, *u;
	size_t k;

	/* A process of a Type=notify unit has $NOTIFY_SOCKET; one of our own
	 * unit shares our cgroups. */
	if (l <= 0 || (strncmp(env, "NOTIFY_SOCKET=", 14) &&
	    !nf_memfind(env, (size_t)l, "\0NOTIFY_SOCKET=", 15)))
		return 0;
	if (slurp(pid, "cgroup", cg[0], sizeof(cg[0])) < 0 ||
	    (slurp(0, "cgroup", cg[1], sizeof(cg[1])) >= 0 &&
	    !strcmp(cg[0], cg[1])))
		return 0;
	nf_fmt(unit, n, "its unit");
	if ((e = nf_memfind(cg[0], strlen(cg[0]), ".service\n", 9))) {
		for (u = e; u > cg[0] && u[-1] != '/'; u--)
			;
		k = (size_t)(e + 8 - u);
		if (k < n) {
			memcpy(unit, u, k);
			unit[k] = '\0';
		}
	}
	return 1;
}

/* Has PID exec'd (its executable is not ours), and does it live? */
static int
execd(pid_t pid)
{
	struct stat a, b;
	char path[32];

	nf_fmt(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return nf_alive(pid) == 1 && stat(path, &a) == 0 &&
	    stat("/proc/self/exe", &b) == 0 &&
	    (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

/* Is the old server still that very process? */
static int
old_lives(void)
{
	struct nf_proc p;

	return sold && nf_alive(sold) == 1 && nf_proc_read(sold, &p) == 0 &&
	    p.start_ms == soldstart;
}

int
sd_pipe(pid_t old)
{
	struct nf_proc pr;
	int p[2], q[2];

	if (!sd_on)
		return 0;
	sold = old;
	if (old && nf_proc_read(old, &pr) == 0)
		soldstart = pr.start_ms;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(q, O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	dr = p[0];
	dw = p[1];
	xr = q[0];
	xw = q[1];
	return 0;
}

static void
keep(int *fd, int yes)
{
	if (!yes && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void
sd_role(int role)
{
	keep(&dr, role == 1);
	keep(&dw, role == 0);
	keep(&xr, role == 2);
	keep(&xw, role == 1);
}

int
sd_middle(pid_t c1)
{
	int st;

	while (waitpid(c1, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

_Noreturn void
sd_abandoned(int holdw)
{
	char c;

	if (!sd_on)
		_exit(0);
	/*
	 * Our PID may be systemd's main PID: exit only once the holder has
	 * put it back on the old server (or not: that is gone too) and has
	 * gone. systemd, our parent, then sees this exit, as a failure, and
	 * restarts a unit that is down.
	 */
	if (holdw >= 0)
		close(holdw);
	while (read(xr, &c, 1) < 0 && errno == EINTR)
		;
	_exit(NF_DOWN);
}

/* The foreground's exit: how the reload ended, for systemd. */
static void
fg_exit(int code)
{
	pid_t back = 0;
	int up = execd(sserver);
	struct nf_backoff b;

	nf_exit_hook = NULL;
	if (code == NF_OK)
		sd_send("READY=1\nSTATUS=");
	else if (up)
		sd_send(code == NF_DOWN ? "READY=1\nSTATUS=reload failed (%d): "
		    "new server %d is not ready" : "READY=1\nSTATUS=reload "
		    "ended with %d: new server %d runs (see the journal)", code,
		    (int)sserver);
	else {
		/* Back only on the very process systemd had, never on one
		 * that took its number since. */
		if (old_lives())
			back = sold;
		else if (main_lives())
			back = sd_main;
		if (back)
			sd_send("MAINPID=%d\nREADY=1\nSTATUS=reload failed (%d): "
			    "%d still serves", (int)back, code, (int)back);
		else
			sd_send("READY=1\nSTATUS=reload failed (%d): DOWN", code);
	}
	(void)!write(dw, "d", 1);
	close(dw);
	if (code == NF_OK || up || back)
		return;
	/* Until systemd has seen that the main PID it was told is gone:
	 * every 2 ms, for SD_WAIT_MS at most. */
	nf_backoff_init(&b, SD_WAIT_MS, 2000, 0, 2000);
	while (kill(sserver, 0) == 0 && nf_backoff_sleep(&b))
		;
}

void
sd_stopping(void)
{
	if (dw >= 0)
		(void)!write(dw, "s", 1);
}

int
sd_begin(pid_t server)
{
	struct nf_proc a, b;

	sserver = server;
	nf_exit_hook = fg_exit;
	if (nf_proc_read(server, &a) != 0 || sd_send(sd_main ?
	    "RELOADING=1\nMAINPID=%d" : "MAINPID=%d", (int)server) < 0 ||
	    barrier() < 0) {
		nf_warn("NOTIFY_SOCKET=%s: systemd cannot be told the new main "
		    "PID; nothing was touched:", sock);
		return NF_SYS;
	}
	/* systemd ignores a main PID that is dead when it reads it. */
	if (nf_alive(server) != 1 || nf_proc_read(server, &b) != 0 ||
	    b.start_ms != a.start_ms) {
		nf_warn("the process for the new server %d died before systemd "
		    "took it for the main PID; nothing was touched", (int)server);
		return NF_SYS;
	}
	return NF_OK;
}

int
sd_fg_gone(int block)
{
	struct pollfd pf;
	char c;

	pf.fd = dr;
	pf.events = POLLIN;
	while (dr >= 0 && !fgdone && !fgend &&
	    (block || poll(&pf, 1, 0) > 0)) {
		ssize_t r = read(dr, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 1 && c == 's')
			fgstop = 1;
		else if (r == 1 && c == 'd')
			fgdone = 1;
		else
			fgend = 1;
	}
	return fgdone || fgend || dr < 0;
}

void
sd_held(int mid, pid_t server, int execfd, long long ms)
{
	struct nf_backoff b;
	char c = 0;

	if (!sd_on)
		return;
	if (mid) {
		/* Once the foreground has ended: 'd' if it told systemd. */
		sd_fg_gone(1);
		if (fgdone)
			return;
		/*
		 * Killed. A server that was signalled may be exiting: the main
		 * PID stays on the process that was to exec, whose exit (6)
		 * makes systemd restart the unit.
		 */
		if (execd(server)) {
			nf_warn("the reload's nfrestart was killed: new server %d "
			    "runs, its readiness was not checked", (int)server);
			sd_send("READY=1\nSTATUS=nfrestart was killed: "
			    "readiness not checked");
		} else if (!fgstop && old_lives())
			sd_send("MAINPID=%d\nREADY=1", (int)sold);
		else
			sd_send("READY=1");
		barrier();
		return;
	}
	/* The holder of a start: the exec (end of file), then readiness. */
	fcntl(execfd, F_SETFL, 0);
	for (;;) {
		ssize_t r = read(execfd, &c, 1);

		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	/* Every 2 ms, then 1 ms less often each time, up to 20 ms. */
	nf_backoff_init(&b, ms, 2000, 1000, 20000);
	while (nf_alive(server) == 1) {
		if (execd(server) && nfr_ready_now(server)) {
			sd_send("READY=1");
			break;
		}
		if (!nf_backoff_sleep(&b)) {
			nf_warn("new server %d not ready after --ready-timeout",
			    (int)server);
			sd_send("STATUS=not ready after --ready-timeout");
			break;
		}
	}
	barrier();
}
