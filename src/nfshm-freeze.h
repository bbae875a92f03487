/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/* nfshm save --freeze PID: the server stopped for the copy, always resumed. */
#ifndef NFSHM_FREEZE_H
#define NFSHM_FREEZE_H

#include <sys/types.h>

struct freeze {
	pid_t pid;
	int pidfd;			/* or -1: kill() after a check */
	int procfd;			/* /proc/PID: that check */
	int gw;				/* to the guardian */
	long long t0;			/* when it was stopped */
	int stopped;
};
/* Before anything: PID's facts and its pidfd. Dies 1 (no such process),
 * 5 (already stopped or traced: it would be resumed) or 3 (no facts). */
void freeze_open(struct freeze *fz, pid_t pid);
/* Fork the guardian, stop PID, wait until all its threads have stopped;
 * dies 3, after resuming it, when they do not within 5 s. */
void freeze_stop(struct freeze *fz);
/* Resume PID (once) and tell the guardian; for nf_bksave's copied. */
void freeze_resume(void *fz);

#endif
