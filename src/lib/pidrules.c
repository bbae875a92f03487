/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The half of the PID-file reader that every platform shares: what the
 * bytes read from the file mean, and what each reading says. Opening and
 * reading the file is the platform's (src/lib/pidfile.c on POSIX,
 * readpid() in src/nfrestart-win.c on Windows); the rules and the words
 * are these, so the tools agree on every file.
 */
#include <errno.h>

#include "nf.h"

int
nf_pidfile_judge(struct nf_pidfile *pf, const char *buf, size_t n,
    int tries, unsigned long pidmax, unsigned long self)
{
	unsigned long pid;
	int pr;

	if (n > 64) {
		pf->why = "longer than 64 bytes";
		return pf->status = NF_PF_MALFORMED;
	}
	pr = nf_parse_pidbuf(buf, n, pidmax, &pid, &pf->why);
	if (pr == 1 && tries < 3) {
		/* A writer may be between its truncate and its write. */
		nf_sleep_ms(5);
		return -1;
	}
	if (pr != 0) {
		pf->empty = pr == 1;
		return pf->status = NF_PF_MALFORMED;
	}
	pf->pid = (pid_t)pid;
	if (pid == self)
		return pf->status = NF_PF_SELF;
	return pf->status = NF_PF_OK;
}

int
nf_pidfile_report(const struct nf_pidfile *pf)
{
	switch (pf->status) {
	case NF_PF_OK:
		return NF_OK;
	case NF_PF_ABSENT:
		nf_info("%s: no pid file", pf->path);
		return NF_FALSE;
	case NF_PF_MALFORMED:
		nf_warn("%s: malformed pid file: %s", pf->path, pf->why);
		return NF_USAGE;
	case NF_PF_UNSAFE:
		nf_warn("%s: unsafe pid file: owned by uid %u in a "
		    "world-writable directory (--unsafe-pidfile to accept)",
		    pf->path, (unsigned)pf->st.st_uid);
		return NF_USAGE;
	case NF_PF_SELF:
		nf_info("%s: stale: names our own pid %d", pf->path,
		    (int)pf->pid);
		return NF_FALSE;
	default:
#ifdef _WIN32
		nf_warn("%s: open: %s", pf->path, nf_winerr((unsigned long)
		    pf->err));
#else
		errno = pf->err;
		nf_warn("%s: open:", pf->path);
#endif
		return NF_SYS;
	}
}
