/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfwait: wait for PIDs to exit, printing each as it goes; give up after
 * -t (124), or follow a start-stop-daemon style schedule (-r) whose signals
 * go through the same guarded path as nfsignal's.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/opts.h"

static const char usage_text[] =
"usage: nfwait [-qv] [-t DUR] [-s SIG] [-r SCHEDULE] [--any] [--name NAME]\n"
"              [--shm KEY] [--unsafe-pidfile] [-C DIR]\n"
"              [-p FILE | -S SERVER -I ID | PID ...]\n"
"       nfwait -h | -V\n";
static const char opts_text[] =
NF_HELP_ADDR
"  -t, --timeout DUR     give up after DUR: 124 (10, 1.5s, 250ms, 2m)\n"
"  -s, --signal SIG      the signal of a bare -r DUR\n"
"  -r, --retry SCHEDULE  signals to send while waiting: TERM/10/KILL/5\n"
"      --any             return when one of the PIDs has exited\n"
NF_HELP_COMMON;

static long long t0;

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

/* Exited: on stdout as it happens; still running at the end: on stderr. */
static void
event(pid_t pid, int ev, void *arg)
{
	long long d = nf_now_us() - t0;

	(void)arg;
	if (ev == NF_W_LEFT) {
		nf_warn("%d: still running", (int)pid);
		return;
	}
	nf_out("%d\n", (int)pid);
	nf_debug("%d exited after %lld.%06lld s", (int)pid, d / 1000000,
	    d % 1000000);
}

static void *
emap(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		nf_die(NF_SYS, "mmap:");
	return m;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "timeout", required_argument, NULL, 't' },
		{ "signal", required_argument, NULL, 's' },
		{ "retry", required_argument, NULL, 'r' },
		{ "any", no_argument, NULL, NF_OPT_ANY },
		{ NULL, 0, NULL, 0 }
	};
	struct nf_addr a = { 0 };
	struct nf_pidfile pf;
	struct nf_target *t;
	pid_t *p;
	struct nf_sched sc;
	const char *sigarg = NULL, *sched = NULL, *why;
	long long ms = -1;
	size_t n, k;
	int c, sig, any = 0, rc;
	struct nf_watchopt wo = { 0 };

	nf_init(argv[0]);
	while ((c = nf_getopt(argc, argv, NF_ADDR_SHORT "hqr:s:t:vV",
	    lo)) != -1) {
		if (nf_eaddr_opt(&a, c, nf_optarg))
			continue;
		switch (c) {
		case 'r':
			sched = nf_optarg;
			break;
		case 's':
			sigarg = nf_optarg;
			break;
		case 't':
			ms = nf_edur("-t", nf_optarg);
			break;
		case NF_OPT_ANY:
			any = 1;
			break;
		default:
			if (!nf_ecommon_opt(c, usage_text, opts_text, "nfwait")) {
				nf_sigopt_hint();
				usage();
			}
			break;
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	if (sigarg && !sched)
		nf_die(NF_USAGE, "-s %s: -s is the signal of a bare -r DUR; nfwait "
		    "sends nothing without -r (nfsignal sends)", sigarg);
	sig = nf_esig(sigarg, nf_addr_nfx(&a));
	if (sched && nf_parse_sched(sched, sig, &sc, &why) < 0)
		nf_die(NF_USAGE, "-r %s: %s", sched, why);
	nf_eaddr_finish(&a, 0);
	if (a.pidfile && argc)
		nf_die(NF_USAGE, "give -p FILE (or -S SERVER -I ID) or PIDs, "
		    "not both");
	t0 = nf_now_us();
	if (a.pidfile) {
		nf_pidfile_read(a.pidfile, a.unsafe, &pf);
		if (pf.status == NF_PF_SELF) {
			/* We inherited its number: the process it named is
			 * gone. */
			nf_info("%s: names our own pid %d: its process is gone",
			    a.pidfile, (int)pf.pid);
			nf_exit(NF_OK);
		}
		if (pf.status != NF_PF_OK)
			nf_exit(nf_pidfile_report(&pf));
		n = 1;
		p = &pf.pid;
	} else
		p = nf_eread_pids(argc, argv, &n);
	t = emap(n * sizeof(*t));
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == getpid()) {
			nf_info("%d: not waited for: is ourselves", (int)p[i]);
			continue;
		}
		nf_target_init(&t[k], &a, a.pidfile ? &pf : NULL, NULL);
		t[k].pid = p[i];
		k++;
	}
	/*
	 * Bare PIDs are watched as they are (a pidfd pins each at once); a
	 * PID file's PID, or a --name, is judged by the guard first, after
	 * its pidfd is open. A schedule then signals what was pinned.
	 */
	wo.any = any;
	wo.ms = ms;
	wo.judge = a.pidfile || a.name;
	wo.verb = "waited for";
	wo.cb = event;
	rc = nf_watch(t, k, sched ? &sc : NULL, &wo);
	nf_exit(rc);
}
