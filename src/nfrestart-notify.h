/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
#ifndef NFRESTART_NOTIFY_H
#define NFRESTART_NOTIFY_H
/*
 * nfrestart under systemd (src/nfrestart-notify.c): a unit of Type=notify
 * with NotifyAccess=all runs nfrestart in ExecStart= (it becomes the server,
 * the main PID) and nfrestart -d in ExecReload= (a control process, with
 * $MAINPID). nfhandoff(7), SYSTEMD, has the unit.
 */
#include <sys/types.h>

extern int sd_on;		/* $NOTIFY_SOCKET is set */
extern pid_t sd_main;		/* $MAINPID: we run as a control process */

void sd_init(void);
/* Refuse, before anything, what would make systemd stop the unit. */
void sd_check(int dflag, int cmd, int force);
/* One datagram to $NOTIFY_SOCKET; 0, or -1 with errno. */
int sd_send(const char *fmt, ...);
/* 1 when PID runs under another Type=notify unit; UNIT gets its name. */
int sd_foreign(pid_t pid, char *unit, size_t n);

/* -d: the pipes between the foreground, the holder and the process that
 * will exec, and the old server's start time (before the forks: OLD may
 * be 0), then each process's ends: 0 foreground,
 * 1 middle (and the holder it forks), 2 the process that will exec. */
int sd_pipe(pid_t old);
void sd_role(int role);
/* The foreground: the middle process has exited, with 0 (the holder was
 * forked): the new server is systemd's child now. 0, or -1. */
int sd_middle(pid_t c1);
/* The process that will exec, when the foreground gave up. */
_Noreturn void sd_abandoned(int holdw);
/* The foreground, once the new server's PID is known: tell systemd, and
 * set the exit hook that tells it how the reload ended. */
int sd_begin(pid_t server);
/* The foreground, before it signals the old server: the holder must not
 * put the main PID back on a server that may be exiting. */
void sd_stopping(void);
/* The holder of -d: has the foreground ended (BLOCK: wait until it has)? */
int sd_fg_gone(int block);
/* A holder at its end: the holder of -d (mid) covers for a foreground that
 * was killed; the holder of a start sends READY=1 when the server is. */
void sd_held(int mid, pid_t server, int execfd, long long ms);

int nfr_ready_now(pid_t server);	/* src/nfrestart-ready.c: is it ready? */

#endif
