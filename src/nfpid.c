/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfpid: read, check, write, lock and remove PID files, strictly.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/opts.h"

static const char usage_text[] =
"usage: nfpid read|check|remove [-fqv] [--name NAME] [--shm KEY]\n"
"             [--unsafe-pidfile] [-C DIR] (-p FILE | -S SERVER -I ID)\n"
"       nfpid write [-qv] [-C DIR] -p FILE PID\n"
"       nfpid lock [-qv] [-C DIR] -p FILE [--] COMMAND [ARG ...]\n"
"       nfpid -h | -V\n";
static const char opts_text[] =
NF_HELP_ADDR
"  -f, --force           remove: even while the process lives\n"
NF_HELP_COMMON;

static int force;

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

static int
cmd_read(struct nf_addr *a)
{
	struct nf_pidfile pf;

	nf_pidfile_read(a->pidfile, a->unsafe, &pf);
	if (pf.status != NF_PF_OK)
		return nf_pidfile_report(&pf);
	nf_out("%d\n", (int)pf.pid);
	return NF_OK;
}

static int
judge(struct nf_addr *a, struct nf_pidfile *pf, struct nf_verdict *vd)
{
	struct nf_target t;

	nf_target_init(&t, a, pf, NULL);
	nf_guard(&t, vd);
	if (vd->evidence[0])
		nf_debug("%d: %s", (int)pf->pid, vd->evidence);
	return vd->v;
}

/* Alive (a keep-alive must not start a second server), but a stopped
 * server serves nobody and acts on no signal: say so. */
static void
stopped(const char *file, pid_t pid, char state)
{
	if (NF_STATE_STOPPED(state))
		nf_info(NF_STOPPED_FMT, file, (int)pid, state, (int)pid);
}

/*
 * With -S/-I or --shm: does a live process have the server's segment
 * attached for writing? Then the server runs, whatever its PID file says
 * (deleted, empty, garbled, stale): a keep-alive job must not start a
 * second one beside it. The exit code to give, or -1 when none does.
 */

static int
attached(struct nf_addr *a, const char *what)
{
	struct nf_seg s;
	struct shmid_ds ds;
	struct nf_proc p;
	pid_t pid;
	int r;

	if (!a->has_key)
		return -1;
	/*
	 * Our namespace's segment by that key (asking for no access needs
	 * no permission), with its count of attachments; none by that key
	 * may still be one marked for removal, which the key in the maps
	 * names (shmid -1: any).
	 */
	memset(&s, 0, sizeof(s));
	s.key = a->key;
	s.shmid = shmget((key_t)a->key, 0, 0);
	if (s.shmid >= 0 && shmctl(s.shmid, IPC_STAT, &ds) == 0)
		s.nattch = ds.shm_nattch;
	else if (s.shmid >= 0)
		s.nattch = ~0UL;	/* unknown: the scan must see it all */
	else if (errno != ENOENT)
		r = -1;
	if ((s.shmid < 0 && errno != ENOENT) ||
	    (r = nf_seg_writers(&s, &pid, 1)) < 0) {
		nf_warn("%s: %s, and who has segment 0x%08x attached cannot be "
		    "told:", a->pidfile, what, (unsigned)a->key);
		return NF_SYS;
	}
	if (r == 0)
		return -1;
	nf_info("%s: %s, but %d has the server's segment 0x%08x attached: "
	    "the server runs", a->pidfile, what, (int)pid, (unsigned)a->key);
	if (nf_proc_read(pid, &p) == 0)
		stopped(a->pidfile, pid, p.state);
	return NF_OK;
}

static int
cmd_check(struct nf_addr *a)
{
	struct nf_pidfile pf;
	struct nf_verdict vd;
	int r;

	if ((r = nf_restart_locked(a->pidfile)) != 0) {
		if (r < 0) {
			nf_warn(NF_BUSY_UNKNOWN_FMT, a->pidfile);
			return NF_SYS;
		}
		nf_info(NF_BUSY_FMT, a->pidfile, a->pidfile);
		return NF_BUSY;
	}
	nf_pidfile_read(a->pidfile, a->unsafe, &pf);
	if (pf.status != NF_PF_OK) {
		if (pf.status != NF_PF_UNREADABLE &&
		    pf.status != NF_PF_UNSAFE &&
		    (r = attached(a, pf.status == NF_PF_ABSENT ? "no pid file" :
		    pf.status == NF_PF_SELF ? "stale" : pf.empty ? "empty" :
		    "malformed")) >= 0)
			return r;
		return nf_pidfile_report(&pf);
	}
	switch (judge(a, &pf, &vd)) {
	case NF_G_OK:
		nf_debug("%d: alive: %s", (int)pf.pid, vd.why);
		stopped(a->pidfile, pf.pid, vd.state);
		return NF_OK;
	case NF_G_UNKNOWN:
		nf_warn("%s: %d: %s", a->pidfile, (int)pf.pid, vd.why);
		return NF_SYS;
	case NF_G_LOOKALIKE:
		nf_warn("%s: %d %s: it may be the server", a->pidfile,
		    (int)pf.pid, vd.why);
		return NF_REFUSED;
	default:
		if ((r = attached(a, "stale")) >= 0)
			return r;
		nf_info("%s: stale: %d %s", a->pidfile, (int)pf.pid, vd.why);
		return NF_FALSE;
	}
}

static int
cmd_remove(struct nf_addr *a)
{
	struct nf_pidfile pf;
	struct nf_verdict vd;
	struct stat st;
	int r;

	if ((r = nf_restart_locked(a->pidfile)) != 0 && !force) {
		if (r < 0)
			nf_warn(NF_BUSY_UNKNOWN_FMT, a->pidfile);
		else
			nf_warn(NF_BUSY_FMT "; not removed", a->pidfile,
			    a->pidfile);
		return r < 0 ? NF_SYS : NF_BUSY;
	}
	nf_pidfile_read(a->pidfile, a->unsafe, &pf);
	switch (pf.status) {
	case NF_PF_OK:
		switch (judge(a, &pf, &vd)) {
		case NF_G_OK:
		case NF_G_LOOKALIKE:
			if (!force) {
				nf_warn("%s: %d is alive (%s); not removed "
				    "(--force to remove anyway)", a->pidfile,
				    (int)pf.pid, vd.why);
				return NF_REFUSED;
			}
			break;
		case NF_G_UNKNOWN:
			if (!force) {
				nf_warn("%s: %d: %s; not removed", a->pidfile,
				    (int)pf.pid, vd.why);
				return NF_SYS;
			}
			break;
		default:
			nf_debug("%d %s", (int)pf.pid, vd.why);
			break;
		}
		break;
	case NF_PF_SELF:
		break;
	case NF_PF_MALFORMED:
		if (force)
			break;
		/* FALLTHROUGH */
	default:
		return nf_pidfile_report(&pf);
	}
	/* Remove only the file we judged: not one written since. */
	if (pf.st.st_ino && (lstat(a->pidfile, &st) < 0 ||
	    st.st_ino != pf.st.st_ino || st.st_dev != pf.st.st_dev ||
	    st.st_mtim.tv_sec != pf.st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != pf.st.st_mtim.tv_nsec)) {
		nf_warn("%s: changed while it was checked; not removed",
		    a->pidfile);
		return NF_BUSY;
	}
	if (unlink(a->pidfile) < 0)
		nf_die(errno == ENOENT ? NF_FALSE : NF_SYS, "%s: unlink:",
		    a->pidfile);
	nf_debug("%s: removed", a->pidfile);
	return NF_OK;
}

static int
cmd_write(struct nf_addr *a, int argc, char **argv)
{
	unsigned long long pid;
	const char *why;
	struct stat st;

	if (!a->pidfile && argc == 2) {	/* nfpid write FILE PID */
		a->pidfile = argv[0];
		argc--, argv++;
	}
	if (!a->pidfile || argc != 1)
		usage();
	if (nf_parse_ulong(argv[0], 2, nf_pid_max(), &pid, &why) < 0)
		nf_die(NF_USAGE, "%s: not a pid: %s", argv[0], why);
	if (!a->unsafe && lstat(a->pidfile, &st) == 0 &&
	    S_ISREG(st.st_mode) && nf_unsafe_dir(a->pidfile, &st))
		nf_die(NF_USAGE, "%s: unsafe pid file: owned by uid %u in a "
		    "world-writable directory (--unsafe-pidfile to accept)",
		    a->pidfile, (unsigned)st.st_uid);
	return nf_pidfile_write(a->pidfile, (pid_t)pid);
}

static int
cmd_lock(struct nf_addr *a, int argc, char **argv)
{
	pid_t holder = 0;
	int fd, r, e;

	if (!a->pidfile || argc < 1)
		usage();
	r = nf_pidfile_lock(a->pidfile, a->unsafe, getpid(), 1, &fd,
	    &holder);
	if (r == NF_BUSY) {
		if (holder)
			nf_warn("%s: locked by a live owner (pid %d)",
			    a->pidfile, (int)holder);
		else
			nf_warn("%s: locked by a live owner", a->pidfile);
	}
	if (r != NF_OK)
		return r;
	nf_debug("%s: locked, %d written; exec %s", a->pidfile,
	    (int)getpid(), argv[0]);
	nf_eoutflush();
	/* The descriptor stays open across exec: the lock lives exactly as
	 * long as the command. */
	execvp(argv[0], argv);
	e = errno;
	unlink(a->pidfile);
	errno = e;
	nf_warn("%s: exec:", argv[0]);
	return nf_exec_code(e);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct nf_addr a = { 0 };
	const char *cmd;
	int c;

	nf_init(argv[0]);
	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
		nf_ecommon_opt('h', usage_text, opts_text, "nfpid");
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version"))
		nf_ecommon_opt('V', usage_text, opts_text, "nfpid");
	if (strcmp(cmd, "read") && strcmp(cmd, "check") &&
	    strcmp(cmd, "remove") && strcmp(cmd, "write") &&
	    strcmp(cmd, "lock")) {
		nf_warn("%s: unknown command", cmd);
		usage();
	}
	argc--, argv++;
	while ((c = nf_getopt(argc, argv, "+" NF_ADDR_SHORT "fhqvV",
	    lo)) != -1) {
		if (nf_eaddr_opt(&a, c, nf_optarg))
			continue;
		switch (c) {
		case 'f':
			force = 1;
			break;
		default:
			if (!nf_ecommon_opt(c, usage_text, opts_text, "nfpid"))
				usage();
			break;
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	if (!strcmp(cmd, "write")) {
		nf_eaddr_finish(&a, 0);
		nf_exit(cmd_write(&a, argc, argv));
	}
	nf_eaddr_finish(&a, 1);
	if (!strcmp(cmd, "lock"))
		nf_exit(cmd_lock(&a, argc, argv));
	if (argc)
		usage();
	if (!strcmp(cmd, "read"))
		nf_exit(cmd_read(&a));
	if (!strcmp(cmd, "check"))
		nf_exit(cmd_check(&a));
	nf_exit(cmd_remove(&a));
}
