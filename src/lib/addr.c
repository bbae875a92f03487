/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Addressing a server: -p FILE, -S SERVER -I ID, -C DIR, and PIDs as
 * operands or on stdin. Every input is validated before anything is acted on.
 */
#define _GNU_SOURCE
#ifndef _WIN32
#include <sys/mman.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nf.h"
#include "opts.h"

int
nf_eaddr_opt(struct nf_addr *a, int c, const char *arg)
{
	const char *why;

	switch (c) {
	case 'p':
		a->pidfile = arg;
		break;
	case 'S':
		a->server = arg;
		break;
	case 'I':
		a->id = arg;
		break;
	case 'C':
		a->dir = arg;
		break;
	case NF_OPT_NAME:
		if (!*arg)
			nf_die(NF_USAGE, "--name: empty name");
		a->name = arg;
		break;
	case NF_OPT_SHM:
		if (nf_parse_key(arg, &a->key, &why) < 0)
			nf_die(NF_USAGE, "--shm %s: %s", arg, why);
		a->has_key = 1;
		break;
	case NF_OPT_UNSAFE:
		a->unsafe = 1;
		break;
	default:
		return 0;
	}
	return 1;
}

void
nf_eaddr_finish(struct nf_addr *a, int need)
{
	const char *why;

	if (!a->server != !a->id)
		nf_die(NF_USAGE, "-S SERVER and -I ID go together");
	if (a->server) {
		uint32_t key;

		if (nf_check_server(a->server, &why) < 0)
			nf_die(NF_USAGE, "-S %s: %s", a->server, why);
		if (nf_parse_busid(a->id, &key, &why) < 0)
			nf_die(NF_USAGE, "-I %s: %s", a->id, why);
		if (!a->has_key) {
			a->key = key;
			a->has_key = 1;
		}
		if (!a->pidfile) {
			nf_fmt(a->buf, sizeof(a->buf), "%s_%s.pid", a->server,
			    a->id);
			a->pidfile = a->buf;
		}
		/* The framework titles its process so; comm keeps 15. */
		nf_fmt(a->title, sizeof(a->title), "NF%s%s", a->server, a->id);
	}
	if (a->pidfile && !*a->pidfile)
		nf_die(NF_USAGE, "-p: empty file name");
	if (need && !a->pidfile)
		nf_die(NF_USAGE, "no pid file: give -p FILE or -S SERVER -I ID");
	if (a->dir && chdir(a->dir) < 0)
		nf_die(errno == ENOENT || errno == ENOTDIR ? NF_USAGE : NF_SYS,
		    "-C %s: chdir:", a->dir);
}

int
nf_addr_nfx(const struct nf_addr *a)
{
	return a->server != NULL || a->has_key;
}

#ifndef _WIN32	/* nfrestart.exe takes no PID operands */
/*
 * PIDs live in one mapping sized for pid_max, and a bitmap drops repeats:
 * no malloc, only the pages touched are used, thousands of PIDs cost little.
 */
struct pidset {
	pid_t *v;
	unsigned char *seen;
	size_t n;
};

static void
add(struct pidset *ps, const char *s)
{
	unsigned long long pid;
	const char *why;

	if (nf_parse_ulong(s, 2, nf_pid_max(), &pid, &why) < 0)
		nf_die(NF_USAGE, "%s: not a pid: %s", s, why);
	if (ps->seen[pid / 8] & (1u << (pid % 8)))
		return;
	ps->seen[pid / 8] |= (unsigned char)(1u << (pid % 8));
	ps->v[ps->n++] = (pid_t)pid;
}

pid_t *
nf_eread_pids(int argc, char **argv, size_t *np)
{
	struct pidset ps;
	size_t max = nf_pid_max() + 1;
	void *m;

	m = mmap(NULL, max * sizeof(pid_t) + max / 8 + 1, PROT_READ |
	    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		nf_die(NF_SYS, "mmap:");
	ps.v = m;
	ps.seen = (unsigned char *)(ps.v + max);
	ps.n = 0;
	if (argc > 0) {
		for (int i = 0; i < argc; i++)
			add(&ps, argv[i]);
	} else if (isatty(0)) {
		nf_die(NF_USAGE, "no pids: give -p FILE, -S SERVER -I ID, "
		    "PID operands, or PIDs on stdin");
	} else {
		char buf[4096], tok[32];
		size_t tl = 0;
		ssize_t r;
		const char *bad = NULL;

		while ((r = read(0, buf, sizeof(buf))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				nf_die(NF_SYS, "stdin: read:");
			}
			for (ssize_t i = 0; i < r; i++) {
				char c = buf[i];

				if (c == '\n' || c == ' ' || c == '\t' ||
				    c == '\r') {
					if (bad)
						nf_die(NF_USAGE, "stdin: not a "
						    "pid: %s", bad);
					if (tl) {
						tok[tl] = '\0';
						add(&ps, tok);
						tl = 0;
					}
				} else if (bad) {
					continue;
				} else if (c == '\0') {
					/* Not the end of the token: "12\0x"
					 * is not 12. */
					bad = "contains a NUL byte";
				} else if (tl < sizeof(tok) - 1) {
					tok[tl++] = c;
				} else {
					bad = "a token too long";
				}
			}
		}
		if (bad)
			nf_die(NF_USAGE, "stdin: not a pid: %s", bad);
		if (tl) {
			tok[tl] = '\0';
			add(&ps, tok);
		}
		if (!ps.n)
			nf_die(NF_USAGE, "stdin: no pids");
	}
	*np = ps.n;
	return ps.v;
}
#endif /* !_WIN32 */
