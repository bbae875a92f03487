/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Options, as getopt_long(3) reads them, in a few hundred bytes: musl's
 * getopt_long brings stdio along for its messages (about 4 KiB of a static
 * binary), and its words differ from ours. Short options in clusters
 * (`-qv`, `-t10`, `-t 10`), long ones with `=` or a separate argument, a
 * long name may be shortened while it stays unambiguous, `--` ends the
 * options. A leading '+' in SO stops at the first operand; without it
 * options may follow operands (they are moved in front, as GNU does).
 * Nothing is printed here: on '?' nf_opterr says why, and nf_usage_die()
 * prints it before the synopsis.
 */
#include <sys/stat.h>

#include <string.h>

#include "nf.h"
#include "opts.h"

char *nf_optarg;
int nf_optind = 1;
const char *nf_optbad;		/* the unknown option's word, without '-' */
char nf_opterr[128];		/* why the last '?', for nf_usage_die */
static int pos;			/* inside a cluster of short options */

static int
bad(const char *what, const char *dash, const char *name, size_t l)
{
	static char nm[48];

	if (l >= sizeof(nm))
		l = sizeof(nm) - 1;
	memcpy(nm, name, l);
	nm[l] = '\0';
	nf_fmt(nf_opterr, sizeof(nf_opterr), what, dash, nm);
	nf_optbad = *what == 'u' ? nm : NULL;
	return '?';
}

static int
longopt(int argc, char **argv, const struct option *lo)
{
	char *s = argv[nf_optind] + 2, *eq = strchr(s, '=');
	size_t l = eq ? (size_t)(eq - s) : strlen(s);
	const struct option *hit = NULL;
	int n = 0;

	for (const struct option *o = lo; o && o->name; o++) {
		if (strncmp(o->name, s, l))
			continue;
		if (!o->name[l]) {	/* exact: wins over prefixes */
			hit = o;
			n = 1;
			break;
		}
		if (!hit || hit->val != o->val || hit->has_arg != o->has_arg)
			n++;
		hit = o;
	}
	nf_optind++;
	if (n != 1)
		return bad(n ? "option %s%s is ambiguous" :
		    "unknown option %s%s", "--", s, l);
	if (hit->has_arg == no_argument && eq)
		return bad("option %s%s takes no argument", "--", hit->name,
		    strlen(hit->name));
	if (hit->has_arg == required_argument) {
		if (eq)
			nf_optarg = eq + 1;
		else if (nf_optind < argc)
			nf_optarg = argv[nf_optind++];
		else
			return bad("option %s%s needs an argument", "--",
			    hit->name, strlen(hit->name));
	}
	return hit->val;
}

static int
next(int argc, char **argv, const char *so, const struct option *lo)
{
	char *a = argv[nf_optind];
	const char *p, *w;
	int c;

	if (!pos) {
		if (a[1] == '-')
			return longopt(argc, argv, lo);
		pos = 1;
	}
	w = a + pos;
	c = (unsigned char)a[pos++];
	p = c == ':' || c == '+' ? NULL : strchr(so, c);
	if (!p) {
		/* "-USR2": name the whole word, it tells more than its 'U'. */
		if (pos == 2 && a[pos]) {
			pos = 0;
			nf_optind++;
			return bad("unknown option %s%s", "-", a + 1,
			    strlen(a + 1));
		}
		if (!a[pos]) {
			pos = 0;
			nf_optind++;
		}
		return bad("unknown option %s%s", "-", w, 1);
	}
	if (p[1] == ':') {
		if (a[pos])
			nf_optarg = a + pos;
		else if (nf_optind + 1 < argc)
			nf_optarg = argv[++nf_optind];
		else {
			pos = 0;
			nf_optind++;
			return bad("option %s%s needs an argument", "-", w, 1);
		}
		pos = 0;
		nf_optind++;
	} else if (!a[pos]) {
		pos = 0;
		nf_optind++;
	}
	return c;
}

static int
isopt(const char *a)
{
	return a[0] == '-' && a[1];
}

/* How many words option word A takes: 2 when its argument is the next. */
static int
words(const char *a, const char *so, const struct option *lo)
{
	if (a[1] == '-') {
		size_t l = strcspn(a + 2, "=");

		if (a[2 + l])
			return 1;
		for (const struct option *o = lo; o && o->name; o++)
			if (!strncmp(o->name, a + 2, l) &&
			    o->has_arg == required_argument)
				return 2;
		return 1;
	}
	for (a++; *a; a++) {
		const char *p = *a == ':' ? NULL : strchr(so, *a);

		if (!p)
			return 1;
		if (p[1] == ':')
			return a[1] ? 1 : 2;
	}
	return 1;
}

int
nf_getopt(int argc, char **argv, const char *so, const struct option *lo)
{
	int skip;

	nf_optarg = NULL;
	if (*so == '+')
		so++;
	else if (!pos) {
		/* Options may follow operands: bring the next one (and its
		 * argument) in front of those, keeping every order. */
		skip = nf_optind;
		while (skip < argc && argv[skip] && !isopt(argv[skip]))
			skip++;
		if (skip < argc && argv[skip] && skip > nf_optind) {
			int w = words(argv[skip], so, lo);

			if (skip + w > argc)
				w = argc - skip;
			for (int i = 0; i < w; i++) {
				char *t = argv[skip + i];

				memmove(&argv[nf_optind + i + 1],
				    &argv[nf_optind + i],
				    (size_t)(skip - nf_optind) * sizeof(*argv));
				argv[nf_optind + i] = t;
			}
		}
	}
	if (pos)
		return next(argc, argv, so, lo);
	if (nf_optind >= argc || !argv[nf_optind] || !isopt(argv[nf_optind]))
		return -1;
	if (!strcmp(argv[nf_optind], "--")) {
		nf_optind++;
		return -1;
	}
	return next(argc, argv, so, lo);
}

/*
 * COMMAND is every word from the first operand on, as nfrestart takes it
 * (a leading '+' in its option string). A start-stop-daemon habit,
 * `nfrestart -d /srv/game -S G -I ID -- ./server`, ends the options at
 * /srv/game: it becomes COMMAND, and -S, -I and -- its arguments. Say so
 * (2) instead of a puzzling "no pid file" or an exec of a directory. Not
 * when -- came first: then every word after it is COMMAND's as written.
 * DIRGIVEN: -C was given (a relative COMMAND is looked up there).
 */
void
nf_ecmd_placed(int argc, char **argv, int dirgiven)
{
	const char *w, *opt = NULL;
	struct stat st;
	int i, isdir;

	if (nf_optind >= argc || (nf_optind > 1 &&
	    !strcmp(argv[nf_optind - 1], "--")))
		return;
	w = argv[nf_optind];
	for (i = nf_optind + 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!opt && argv[i][0] == '-' && argv[i][1])
			opt = argv[i];
	isdir = (w[0] == '/' || !dirgiven) && stat(w, &st) == 0 &&
	    S_ISDIR(st.st_mode);
	if (i < argc && opt)
		nf_die(NF_USAGE, "%s was taken as COMMAND (options end at the "
		    "first word that is not one), but %s and -- follow it: put "
		    "the options first and COMMAND after --%s", w, opt, isdir ?
		    "; a directory is given with -C DIR" : "");
	/* A word without a slash is looked up in PATH (on Windows, with .exe
	 * added), not here: a directory of that name beside us is no sign. */
	if (isdir && (strchr(w, '/')
#ifdef _WIN32
	    || strchr(w, '\\')
#endif
	    ))
		nf_die(NF_USAGE, "%s is a directory, taken as COMMAND: a "
		    "directory is given with -C DIR, COMMAND after --", w);
}
