/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Signal names and numbers, NFShmXFrame's restart/stop/reload, and
 * start-stop-daemon style schedules. Portable: nfrestart.exe reads the same
 * names and schedules (see winsig.h).
 */
#include <string.h>
#include <strings.h>

#include "nf.h"
#include "opts.h"
#ifdef _WIN32
#include "winsig.h"	/* nfrestart.exe: Linux numbers, as tokens */
#else
#include <signal.h>
#endif

#ifndef NSIG
#define NSIG 65
#endif

static const struct {
	const char *name;
	int sig;
} sigtab[] = {
	{ "restart", NF_SIG_RESTART }, { "stop", SIGUSR1 },
	{ "reload", SIGUSR2 },
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "IOT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
#ifdef SIGIO
	{ "IO", SIGIO }, { "POLL", SIGIO },
#endif
#ifdef SIGPWR
	{ "PWR", SIGPWR },
#endif
	{ "SYS", SIGSYS },
};

int
nf_parse_sig(const char *s, int *sig, const char **why)
{
	const char *n = s;
	unsigned long long v;

	if (*n >= '0' && *n <= '9') {
		if (nf_parse_ulong(n, 1, NSIG - 1, &v, why) < 0) {
			*why = "unknown signal (bad number)";
			return -1;
		}
		*sig = (int)v;
		return 0;
	}
	/*
	 * restart, stop and reload are NFShmXFrame's words: exact, any case;
	 * but stop only as written, since STOP (any other case) is SIGSTOP's
	 * name and must not become USR1, the server's stop-with-save.
	 */
	for (size_t i = 0; i < 3; i++)
		if (i == 1 ? !strcmp(n, sigtab[i].name) :
		    !strcasecmp(n, sigtab[i].name)) {
			*sig = sigtab[i].sig;
			return 0;
		}
	/* STOP freezes the process; stop is the server's stop with save. A
	 * spelling between the two is refused, not guessed. */
	if (strcmp(s, "SIGSTOP") && (!strcasecmp(s, "STOP") ||
	    !strcasecmp(s, "SIGSTOP"))) {
		*why = "ambiguous: write stop for NFShmXFrame's stop (USR1, "
		    "saves and exits), SIGSTOP or 19 to freeze the process";
		return -1;
	}
	if (!strncasecmp(n, "SIG", 3))
		n += 3;
	for (size_t i = 3; i < sizeof(sigtab) / sizeof(sigtab[0]); i++)
		if (!strcasecmp(n, sigtab[i].name)) {
			*sig = sigtab[i].sig;
			return 0;
		}
	*why = "unknown signal";
	return -1;
}

int
nf_esig(const char *arg, int nfx)
{
	const char *why;
	int sig;

	if (!arg)
		return nfx ? NF_SIG_RESTART : SIGTERM;
	if (nf_parse_sig(arg, &sig, &why) < 0)
		nf_die(NF_USAGE, "-s %s: %s", arg, why);
	return sig;
}

/* nfsignal -USR2, as kill(1) is typed: say how it is written here. */
void
nf_sigopt_hint(void)
{
	const char *why;
	size_t l = strlen(nf_opterr);
	int sig;

	if (nf_optbad && nf_parse_sig(nf_optbad, &sig, &why) == 0)
		nf_fmt(nf_opterr + l, sizeof(nf_opterr) - l, " (a signal is "
		    "given with -s: -s %s)", nf_optbad);
}

const char *
nf_signame(int sig, char *buf, size_t n)
{
	if (sig == NF_SIG_RESTART) {
		nf_fmt(buf, n, "restart(31)");
		return buf;
	}
	for (size_t i = 3; i < sizeof(sigtab) / sizeof(sigtab[0]); i++)
		if (sigtab[i].sig == sig) {
			/* STOP alone is refused as input: SIGSTOP is its name. */
			nf_fmt(buf, n, "%s%s", sig == SIGSTOP ? "SIG" : "",
			    sigtab[i].name);
			return buf;
		}
	nf_fmt(buf, n, "%d", sig);
	return buf;
}

int
nf_parse_sched(const char *s, int defsig, struct nf_sched *sc,
    const char **why)
{
	char item[64];
	const char *p = s;
	int want_sig = 1;
	long long ms;

	sc->n = 0;
	if (!*s) {
		*why = "empty schedule";
		return -1;
	}
	/* A bare duration means SIG/DUR/KILL/DUR, as start-stop-daemon reads it. */
	if (!strchr(s, '/') && nf_parse_dur(s, &ms, why) == 0) {
		sc->n = 2;
		sc->step[0].sig = defsig;
		sc->step[0].ms = ms;
		sc->step[1].sig = SIGKILL;
		sc->step[1].ms = ms;
		return 0;
	}
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n >= sizeof(item)) {
			*why = "empty or overlong schedule item";
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (want_sig) {
			const char *it = item[0] == '-' ? item + 1 : item;

			if (sc->n >= NF_SCHED_MAX) {
				*why = "schedule too long";
				return -1;
			}
			if (nf_parse_sig(it, &sc->step[sc->n].sig, why) < 0)
				return -1;
		} else {
			if (nf_parse_dur(item, &sc->step[sc->n].ms, why) < 0)
				return -1;
			sc->n++;
		}
		want_sig = !want_sig;
		p += n;
		if (!*p)
			break;
		p++;
		if (!*p) {
			*why = "schedule ends with a slash";
			return -1;
		}
	}
	if (!want_sig) {
		*why = "schedule must end with a duration (e.g. TERM/10/KILL/5)";
		return -1;
	}
	return 0;
}
