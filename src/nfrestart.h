/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart's private modules, beside src/nfrestart.c (the options, and
 * main() as the steps of nfrestart(1)): src/nfrestart-hold.c (what forks
 * before the old server is signalled: the holder that keeps the restart
 * lock and the segments after the exec, and -d's daemonization and
 * launch), src/nfrestart-ready.c (step 9: is the new server ready?),
 * src/nfrestart-backup.c (--backup, --restore) and src/nfrestart-notify.c
 * (systemd).
 */
#ifndef NFRESTART_H
#define NFRESTART_H

#include <sys/types.h>

#include <stdint.h>

#include "lib/nf.h"

#define MAXSHM 16

/* The options, as parse() leaves them (src/nfrestart.c). */
struct nfr_opts {
	struct nf_addr a;
	int sig;
	long long tmo;			/* -t: every wait; -1 if not given */
	struct nf_sched sched;
	int has_sched;
	int wflag, dflag, force, dry;
	int newok;			/* --new: a first start is allowed */
	const char *log;
	uint32_t shm[MAXSHM];		/* --shm keys, the object segment first */
	int nshm;
	uint32_t objkey;		/* -S/-I's object segment */
	const char *ready_file, *ready_tcp;
	int ready_fd;
	long long ready_ms;
	int ready_given;		/* --ready-timeout was given */
	char **cmd;
};
extern struct nfr_opts o;

/* What the steps found (src/nfrestart.c). */
extern pid_t oldpid;			/* the server we stop, or 0 */
extern int held[MAXSHM];		/* segments we stay attached to */
extern int nheld;

/* src/nfrestart.c: the operator's signals, and the exec. */
void signals_child(void);	/* what a process that will exec starts from */
void handoff_end(void);		/* the new server runs, or is about to */
/* Become the server (-w: our PID written first); TELLFD, under -d, hears
 * how it went. Returns only when it failed: the exit code. */
int exec_server(int tellfd);

/* src/nfrestart-hold.c: everything that forks happens before the old
 * server is signalled, so that nothing but an exec stands between its
 * exit and the new server's start. */
struct nfr_launch {
	int hold_w;		/* to the holder: 'G', then end of file at exec */
	int go_w;		/* -d: the go to the process that will exec */
	int tell_r;		/* -d: its PID, then -errno if the exec failed */
	int rfd_r;		/* -d: the read end of --ready-fd */
	pid_t server;		/* -d: the process that will exec */
};
extern struct nfr_launch L;
/* Under kernel.shm_rmid_forced=1: attach the segments, to hold them
 * through the gap. */
void hold_segments(void);
/* Without -d: fork the holder now, if it has a job. 0, or -errno. */
int prefork_holder(int lockfd);
/* -d: fork, setsid, fork; the first child holds for the second, which
 * waits for the go. Dies 3 when that cannot be set up. */
void prepare_daemon(int lockfd, int logfd);
/* -d, after the old server is gone: the go, the exec's answer, then the
 * readiness. The exit code. */
int launch_daemon(void);
/* How did PID, not our child, end? 1 and *status (as waitpid's) when it
 * can be known, 0 when not. */
int exit_status(pid_t pid, int pfd, int *status);

/* src/nfrestart-ready.c: step 9. */
int ready_tcp_ok(const char *arg);	/* --ready-tcp's [HOST:]PORT? 0/-1 */
void ready_before(void);	/* --ready-file as it was before the start */
/* Until SERVER is ready, by --ready-*, within --ready-timeout: NF_OK, or
 * NF_DOWN (said). SPFD: its pidfd, or -1. */
int ready_wait(pid_t server, int spfd);

#endif
