/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
#ifndef NF_WINSIG_H
#define NF_WINSIG_H
/*
 * Windows has none of these signals, but nfrestart.exe reads the same signal
 * names and schedules as the POSIX tools (sig.c is built into it). There the
 * names keep their Linux numbers, as tokens: nfrestart.exe maps restart,
 * stop, reload and QUIT to NFShmXFrame's named events and KILL to
 * TerminateProcess, and refuses the rest.
 */
#define SIGHUP		1
#define SIGINT		2
#define SIGQUIT		3
#define SIGILL		4
#define SIGTRAP		5
#define SIGABRT		6
#define SIGBUS		7
#define SIGFPE		8
#define SIGKILL		9
#define SIGUSR1		10
#define SIGSEGV		11
#define SIGUSR2		12
#define SIGPIPE		13
#define SIGALRM		14
#define SIGTERM		15
#define SIGSTKFLT	16
#define SIGCHLD		17
#define SIGCONT		18
#define SIGSTOP		19
#define SIGTSTP		20
#define SIGTTIN		21
#define SIGTTOU		22
#define SIGURG		23
#define SIGXCPU		24
#define SIGXFSZ		25
#define SIGVTALRM	26
#define SIGPROF		27
#define SIGWINCH	28
#define SIGIO		29
#define SIGPWR		30
#define SIGSYS		31
#define NSIG		65

#endif
