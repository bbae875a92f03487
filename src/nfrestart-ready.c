/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart, step 9: the foreground of -d returns when the new server is
 * ready -- a file (--ready-file), a listener of its own (--ready-tcp), a
 * line on a descriptor (--ready-fd) -- and a server that died is never
 * ready, whatever the file or the port says.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "nfrestart.h"
#include "nfrestart-notify.h"

#define TCP_LOOK_MS 100		/* --ready-tcp: one connect's bound */

static struct stat rst0;	/* --ready-file as it was before */
static int had_rfile;

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
	/* Never blocked by a full accept queue: TCP_LOOK_MS, then not yet. */
	r = connect(s, (const struct sockaddr *)&t->ss, t->len);
	if (r < 0 && errno == EINPROGRESS) {
		p.fd = s;
		p.events = POLLOUT;
		r = poll(&p, 1, TCP_LOOK_MS) == 1 && getsockopt(s, SOL_SOCKET,
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
	unsigned long long v;
	int f;

	/* local address "0100007F:1B58": the port is hex after its ':'. */
	if (!p || !(p = strchr(p + 1, ':')))
		return 0;
	p = (char *)nf_scan_base(p + 1, 16, &v);
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

int
ready_tcp_ok(const char *arg)
{
	struct tcpaddr t;

	return parse_tcp(arg, &t);
}

void
ready_before(void)
{
	had_rfile = o.ready_file && stat(o.ready_file, &rst0) == 0;
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

/* --ready-file: it exists, is not empty, and is not the one that was
 * there before the start. */
static int
file_ready(void)
{
	struct stat rs;

	return stat(o.ready_file, &rs) == 0 && rs.st_size > 0 &&
	    (!had_rfile || rs.st_ino != rst0.st_ino ||
	    rs.st_mtim.tv_sec != rst0.st_mtim.tv_sec ||
	    rs.st_mtim.tv_nsec != rst0.st_mtim.tv_nsec ||
	    rs.st_size != rst0.st_size);
}

/* What the server has shown: 1 ready, 0 not yet, -1 never (said). */
static int
ready_seen(pid_t server, const struct tcpaddr *ta)
{
	if (o.ready_file && file_ready())
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

/* Where the new server's output went, for the messages of a DOWN. */
static const char *
log_where(char *buf, size_t n)
{
	if (o.log)
		nf_fmt(buf, n, "; its output is in %s", o.log);
	else if (sd_on)
		nf_fmt(buf, n, "; its output is in the journal (journalctl -u "
		    "the unit)");
	else
		nf_fmt(buf, n, "; its output went to /dev/null (-o LOG keeps "
		    "it)");
	return buf;
}

static const char *ready_what(char *buf, size_t n);

/* The readiness check, once: 1 ready, 0 not yet, -1 never (DOWN, said). */
static int
ready_look(pid_t server, const struct tcpaddr *ta, int spfd)
{
	char b[48], w[160], l[PATH_MAX + 64];
	int r = ready_seen(server, ta), dead;
	struct pollfd p = { spfd, POLLIN, 0 };

	/* A dead server is not ready, whatever the file or port says; its
	 * pidfd tells, not its number (which may be another's by now). */
	dead = spfd >= 0 ? poll(&p, 1, 0) > 0 : nf_alive(server) == 0;
	if (r >= 0 && dead) {
		nf_warn("new server %d died before it was ready (%s), while "
		    "nfrestart waited for %s: DOWN%s", (int)server,
		    how_ended(server, spfd, b, sizeof(b)), ready_what(w,
		    sizeof(w)), log_where(l, sizeof(l)));
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

/* Step 9, after -d's launch. */
int
ready_wait(pid_t server, int spfd)
{
	struct tcpaddr ta;
	struct nf_backoff bo;
	long long t0, next, iv;
	int r;
	char b[32], w[160], l[PATH_MAX + 64];

	if (!o.ready_file && !o.ready_tcp && o.ready_fd < 0)
		return NF_OK;
	if (o.ready_tcp)
		parse_tcp(o.ready_tcp, &ta);
	t0 = nf_now_us();
	/* A ready file or port is looked at every 2 ms at first, then less
	 * often, up to 20 ms (a fd or the server's death wakes the poll at
	 * once). */
	nf_backoff_init(&bo, o.ready_ms, 2000, 1000, 20000);
	next = t0 + 2000000;
	for (;;) {
		struct pollfd p[2];
		int np = 0;

		if ((r = ready_look(server, &ta, spfd)) != 0)
			break;
		if ((iv = nf_backoff_next_ms(&bo)) < 0) {
			/* One last look: a stop of ours (SIGSTOP, a busy
			 * machine) may have slept through the answer. */
			if ((r = ready_look(server, &ta, spfd)) != 0)
				break;
			nf_warn("new server %d is %s but not ready after %s: "
			    "waited for %s: DOWN%s", (int)server,
			    nf_alive(server) == 1 ? "running" : "gone",
			    nf_secs(nf_now_us() - t0, b, sizeof(b)),
			    ready_what(w, sizeof(w)), log_where(l, sizeof(l)));
			return NF_DOWN;
		}
		if (nf_now_us() >= next) {
			nf_debug("waiting for new server %d to be ready (%s): "
			    "%s of %lld s", (int)server, ready_what(w,
			    sizeof(w)), nf_secs(nf_now_us() - t0, b,
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
		if (np)
			poll(p, (nfds_t)np, (int)iv);
		else
			nf_sleep_ms(iv);
	}
	if (r < 0)
		return NF_DOWN;
	nf_debug("new server %d ready after %s", (int)server,
	    nf_secs(nf_now_us() - t0, b, sizeof(b)));
	return NF_OK;
}

/* Under systemd, for the holder of a start: is the new server ready? */
int
nfr_ready_now(pid_t server)
{
	struct tcpaddr ta;

	if (o.ready_file)
		return file_ready();
	/* A listener of the new server's own, as at a reload. */
	if (o.ready_tcp)
		return parse_tcp(o.ready_tcp, &ta) == 0 && tcp_ready(&ta) &&
		    tcp_owned(&ta, server) != 0;
	return 1;
}
