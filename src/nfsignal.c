/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfsignal: send a signal to the PIDs it is given, never to the wrong
 * process. Each PID goes through the reuse guard on a pidfd opened before
 * the checks; the PIDs signalled are printed, one per line, for nfwait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/opts.h"

static const char usage_text[] =
"usage: nfsignal [-nqv] [-s SIG] [--name NAME] [--shm KEY] [--unsafe-pidfile]\n"
"                [-C DIR] [-p FILE | -S SERVER -I ID | PID ...]\n"
"       nfsignal -h | -V\n";
static const char opts_text[] =
NF_HELP_ADDR
"  -s, --signal SIG      TERM; restart (31) with -S/-I or --shm\n"
"  -n, --dry-run         say what would be sent, send nothing\n"
NF_HELP_COMMON;

static int dryrun;

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

static void
plan(const struct nf_target *t, const struct nf_verdict *vd, const char *sn)
{
	const char *e = vd->evidence;

	if (vd->v == NF_G_OK)
		nf_out("%d: would send %s: %s", (int)t->pid, sn, vd->why);
	else if (vd->v == NF_G_LOOKALIKE)
		nf_out("%d: would refuse: %s", (int)t->pid, vd->why);
	else
		nf_out("%d: would not signal: %s", (int)t->pid, vd->why);
	nf_out("%s%s%s\n", *e ? " (" : "", e, *e ? ")" : "");
}

/* One target: what was done, as the exit code it stands for. */
static int
one(const struct nf_target *t, int sig, const char *sn)
{
	struct nf_verdict vd;
	int g, pid = (int)t->pid;

	if (dryrun) {
		g = nf_guard(t, &vd);
		/* Would the kernel let us? Signal 0 sends nothing and asks. */
		if (g == NF_G_OK && t->pid >= 2 && kill(t->pid, 0) < 0 &&
		    errno == EPERM) {
			nf_out("%d: would fail: kill %s: %m\n", pid, sn);
			return NF_SYS;
		}
		plan(t, &vd, sn);
	} else
		g = nf_guarded_kill(t, sig, &vd);
	switch (g) {
	case NF_G_OK:
		if (!dryrun) {
			nf_out("%d\n", pid);
			nf_debug("%d: sent %s: %s (%s)", pid, sn, vd.why,
			    vd.evidence);
			if (NF_STATE_STOPPED(vd.state) &&
			    sig != SIGKILL && sig != SIGCONT)
				nf_info("%d: sent %s, but it is stopped (state "
				    "%c): the signal waits until it is "
				    "continued (kill -CONT %d)", pid, sn,
				    vd.state, pid);
		}
		return NF_OK;
	case NF_G_LOOKALIKE:
		/* It may be the server itself: refuse rather than guess. */
		if (!dryrun)
			nf_warn("%d: refused: %s: it may be the server", pid,
			    vd.why);
		return NF_REFUSED;
	case NF_G_STALE:
	case NF_G_GONE:
		if (!dryrun)
			nf_info("%d: not signalled: %s", pid, vd.why);
		return NF_FALSE;
	case NF_G_UNKNOWN:
		if (!dryrun)
			nf_warn("%d: not signalled: %s", pid, vd.why);
		return NF_SYS;
	default:
		errno = -g;
		nf_warn("%d: kill %s:", pid, sn);
		return NF_SYS;
	}
}

/* The first that applies of 2, 3, 5, 0, 1. */
static int
worse(int a, int b)
{
	static const int order[] = { NF_USAGE, NF_SYS, NF_REFUSED, NF_OK,
	    NF_FALSE };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return a;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "signal", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct nf_addr a = { 0 };
	struct nf_pidfile pf;
	struct nf_target t = { 0 };
	const char *sigarg = NULL;
	char sn[32];
	int c, sig, rc = -1;

	nf_init(argv[0]);
	while ((c = nf_getopt(argc, argv, NF_ADDR_SHORT "hnqs:vV",
	    lo)) != -1) {
		if (nf_eaddr_opt(&a, c, nf_optarg))
			continue;
		switch (c) {
		case 'n':
			dryrun = 1;
			break;
		case 's':
			sigarg = nf_optarg;
			break;
		default:
			if (!nf_ecommon_opt(c, usage_text, opts_text, "nfsignal")) {
				nf_sigopt_hint();
				usage();
			}
			break;
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	sig = nf_esig(sigarg, nf_addr_nfx(&a));
	nf_signame(sig, sn, sizeof(sn));
	nf_eaddr_finish(&a, 0);
	if (a.pidfile && argc)
		nf_die(NF_USAGE, "give -p FILE (or -S SERVER -I ID) or PIDs, "
		    "not both");
	if (a.pidfile) {
		nf_pidfile_read(a.pidfile, a.unsafe, &pf);
		if (pf.status != NF_PF_OK)
			nf_exit(nf_pidfile_report(&pf));
		nf_target_init(&t, &a, &pf, NULL);
		nf_exit(one(&t, sig, sn));
	}
	nf_target_init(&t, &a, NULL, NULL);
	{
		size_t n;
		pid_t *pids = nf_eread_pids(argc, argv, &n);

		/* All input is valid by now: act on each PID. */
		for (size_t i = 0; i < n; i++) {
			t.pid = pids[i];
			c = one(&t, sig, sn);
			rc = rc < 0 ? c : worse(rc, c);
		}
	}
	nf_exit(rc);
}
