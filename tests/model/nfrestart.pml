/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A model of nfrestart's restart protocol (src/nfrestart.c), for spin.
 * `make model` (tests/model.sh) checks it over every interleaving.
 *
 * What is modelled:
 * - the restart lock FILE.lock: flock(2) on an open description; every
 *   run opens its own, forks share it, the exec closes it (O_CLOEXEC), and
 *   it is released when the last process holding it closes it or dies;
 * - the holder, forked before the old server is signalled, which keeps the
 *   lock until the PID file names a live process other than the old one,
 *   or the exec'd server died without daemonizing, or --ready-timeout;
 *   with -d it is the middle process of the daemonization, the server's
 *   parent, and always knows how the server ended (waitpid);
 * - the PID file: absent, empty (a server killed between its truncate and
 *   its write) or naming a PID; written by the server itself, truncate then
 *   write, possibly after daemonizing; removed by nfrestart's step 6;
 * - the old server: exits on the signal (at once or slowly) or ignores it
 *   until KILL; new servers that run in the foreground (nfrestart -d, or
 *   nfrestart exec'ing in the foreground) or that daemonize themselves
 *   (fork, the parent exits 0, the child writes the PID file);
 * - NR concurrent nfrestart runs, each choosing -d or not and a schedule
 *   with or without KILL;
 * - a crash (SIGKILL) of any nfrestart, server or daemon child at any step:
 *   it releases what the process held;
 * - PIDs: a pool of NPID numbers shared by servers, the processes that will
 *   exec them and an innocent process that may be born on any free number,
 *   so that a dead server's PID is reused;
 * - the reuse guard (src/lib/guard.c nf_guard()): gone (no process, or a
 *   zombie: a zombie is modelled as reaped at once, which only adds
 *   behaviours), the segment attached, or "started no later than the PID
 *   file was written" (abstracted as: born before the write; the tolerance
 *   NF_START_SLACK_MS is taken as zero). Signals go through a pidfd opened
 *   before the checks (nf_guarded_kill()), so check and kill are one step.
 *
 * Properties:
 *   P1 never two servers alive at once     (assertion at every exec)
 *   P2 never a signal to a non-server      (assertion at every signal)
 *   P3 the restart lock is always released eventually (ltl p3, weak
 *      fairness)
 *   P4 an operator's own signal (INT, TERM, HUP, PIPE) to nfrestart after
 *      the old server was signalled never ends the handoff half way: the
 *      old server stopped, the new one never started (assertion at every
 *      such signal; OPSIG)
 *   P5 (SYSTEMD) systemd's view of the main PID: the unit is never
 *      killed by a reload. A server that exits on a reload's signal (or
 *      its KILL step) is never systemd's main PID at that moment (but
 *      after a 124, whose documented outcome is that it may still exit),
 *      and the process that was to exec the new server, given up, never
 *      dies as the main PID while an old server that was not signalled
 *      runs (systemd would kill the unit's cgroup, that server included;
 *      once signalled, it may be exiting, and the restart of the unit
 *      that this exit, 6, brings is what the unit needs). "Never two
 *      servers" is P1, here over the same interleavings.
 *
 * Assumptions, stated rather than hidden:
 * - timing: --ready-timeout (default 30 s) runs out only after the new
 *   server has written its PID file or is dead (the holder's deadline, and
 *   the timing it stands for). TIMEOUT_ANYTIME drops this: the deadline may
 *   come at any time. The holder keeps the lock past it while a server of
 *   its own is still running and not yet visible (hold()); only a server
 *   that daemonized, which it cannot see, lets the lock go then: a
 *   self-daemonizing server slower than its ready timeout is a
 *   counterexample, as it is in reality.
 * - nfrestart is given -S/-I (or --shm): the segment checks are made.
 *   Preflight verdicts, kernel.shm_rmid_forced, --force, --name, -w and
 *   readiness checks are not modelled (a readiness check only keeps the
 *   foreground nfrestart, and so the lock, longer; the crash branch covers
 *   it leaving early).
 *
 * Variants (cpp defines; tests/model.sh runs each):
 *   (none)                 the documented path: servers in the foreground.
 *                          P1, P2, P3 hold.
 *   DAEMONIZING            the server daemonizes itself; with KERNEL_TELLS
 *                          the holder learns the exit status (Linux 6.15+,
 *                          or the zombie seen in time), without it it may not;
 *                          READY_TIMEOUT_GIVEN: --ready-timeout was given,
 *                          and an unknown status means "keep waiting";
 *                          NO_MIDKILL: nobody SIGKILLs the server's parent
 *                          between its fork and its exit.
 *   HOLDER_CRASH           the holder itself may be SIGKILLed.
 *   HOLDER_FORK_FAILS      the holder's fork (or pipe) may fail: nfrestart
 *                          exits 3 before any signal (prefork_holder()
 *                          and its caller prepare_new(); with -d,
 *                          prepare_daemon()).
 *   TIMEOUT_ANYTIME        see above.
 *   BROKEN_RELEASE_AT_EXEC no holder: the lock ends at exec. Must fail P1.
 *   BROKEN_NO_GUARD        signal whatever live process the PID file names.
 *                          Must fail P2.
 *   LINGER                 the old server may detach its segment on the
 *                          signal and go on running until KILL (a server
 *                          hung in its shutdown); with CLOCK_STEP its PID
 *                          file's time is after its start (an NTP step), so
 *                          the segment was its only proof. Every later step
 *                          of the schedule goes to the process pinned by
 *                          the pidfd at the start (wait.c ws_send()).
 *   BROKEN_REJUDGE         the schedule's later steps judge the target by
 *                          its number again, and "stale now" counts as
 *                          exited (the first review's hole 1). With LINGER
 *                          CLOCK_STEP: must fail P1.
 *   BROKEN_READ_BEFORE_LOCK  step 2 (the PID file, the guard) before the
 *                          restart lock (the first review's hole 3, in
 *                          nfrestart.exe): two runs both find nothing to
 *                          stop. Must fail P1.
 *   OPSIG                  an operator's catchable signal may reach
 *                          nfrestart at every step: before the old server is
 *                          signalled it aborts (nothing touched), after it
 *                          the handoff goes on (handoff_begin()). With
 *                          BROKEN_OPSIG it aborts there too: must fail P4.
 *   FIXED_OPTS             run 0 uses -d, run 1 does not (instead of each
 *                          choosing): a smaller space for the liveness run.
 *   ALL_D                  every run uses -d.
 *   NR=3                   three runs (the default is two).
 *   SYSTEMD                every run is a reload of a systemd unit
 *                          (ExecReload=nfrestart -d, src/nfrestart-notify.c):
 *                          MAINPID=<the process that will exec> with a
 *                          barrier before any signal (sd_begin()); the
 *                          foreground's exit puts the main PID back on the
 *                          old server while it lives (fg_exit()), the holder
 *                          does when the foreground was killed (sd_held());
 *                          the process that will exec, given up, closes the
 *                          holder's pipe and dies only once the holder is
 *                          gone (sd_abandoned()); the holder puts it back
 *                          only on an old server that was not signalled
 *                          yet (sd_stopping()). Implies ALL_D. P1, P5 hold.
 *   BROKEN_MAINPID_LATE    (with SYSTEMD) MAINPID= only once the old server
 *                          has exited. Must fail P5.
 *   BROKEN_NO_RESTORE      (with SYSTEMD) a failed reload leaves the main
 *                          PID on the process that will exec. Must fail P5.
 *
 * Under SYSTEMD, a SIGKILL of the process that will exec while it is the
 * main PID (before its exec) is taken as a crash of the main PID, as a
 * server's crash is: systemd restarts the unit. It is not a reload's doing.
 * And a SIGKILL takes effect at once: within the KILL step's wait, and
 * before anyone looks at that process again (so the main PID is not put
 * back on it). A process that SIGKILL cannot end in time (stuck in the
 * kernel) gives 124 with the main PID back on it, and its death later
 * restarts the unit, with the data kept: the operator asked for KILL.
 *
 * Known limitations the model shows (documented in nfrestart(1), THE
 * RESTART LOCK), each a counterexample to P1:
 * - a self-daemonizing server where the holder cannot learn the exit
 *   status (without -d, on an older kernel), without --ready-timeout: its
 *   parent's exit releases the lock before the child has written the PID
 *   file (with the option the lock is kept: DAEMONIZING
 *   READY_TIMEOUT_GIVEN NO_MIDKILL verifies; with -d the holder is the
 *   parent and knows: DAEMONIZING NO_MIDKILL ALL_D verifies);
 * - a self-daemonizing server whose parent is SIGKILLed between its fork
 *   and its exit: the holder takes the death for a failure;
 * - a SIGKILLed holder after the exec, before the server wrote its PID file
 *   (for any server): the lock goes with it, and a second nfrestart finds
 *   neither a PID file nor an attached segment;
 *
 * Functions are nfrestart's (src/nfrestart.c and the modules that
 * src/nfrestart.h lists) unless a file is named.
 *
 * Promela note: an option written `:: atomic { true -> if ... :: else fi }`
 * keeps the `true ->`: without it spin takes the inner if as the option's
 * guard, and its else would be judged against the outer options.
 */

#ifndef NR
#define NR	2		/* concurrent nfrestart runs */
#endif
#ifndef NPID
#define NPID	3		/* the PID pool: 1..NPID */
#endif

#define OLD	NR		/* instance index of the server running at first */

#ifdef SYSTEMD
#ifndef ALL_D
#define ALL_D
#endif
#endif

/* Who has a PID. */
#define FREE	0
#define INNO	1		/* an innocent process */
#define NFR	2		/* nfrestart's process that will exec */
#define SRV	3		/* a server process */

/* PID file states. */
#define ABSENT	0
#define EMPTY	1
#define NAMES	2

byte owner[NPID + 1];
bool att[NPID + 1];		/* has the server's segment attached */
bool sig[NPID + 1];		/* a stop signal is pending */
bool kil[NPID + 1];		/* SIGKILL sent: dies at its next step */
bool oldsig;			/* a run has signalled the old server */

byte pf_st = NAMES;		/* the PID file */
byte pf_pid = 1;
bool pf_fresh = 1;		/* the process at pf_pid was born before the write */

byte lk;			/* the restart lock: 0, or r+1 for run r's description */
byte refs[NR];			/* processes holding run r's description */

/* Server instances (a daemonizing one has two processes for a moment). */
byte icnt[NR + 1];		/* live processes of run r's server, [OLD] the old one */
byte ninst;			/* live instances */
bool iwrote[NR + 1];		/* run r's server has written its PID file */

/* Per run. */
byte spid[NR];			/* PID of the process that will exec */
bool sgone[NR];			/* it died (before or after exec) */
bool sexit0[NR];		/* ... with status 0 (a daemonizing parent) */
bool sexec[NR];			/* it exec'd */
bool gword[NR];			/* 'G' written to the holder */
bool goword[NR];		/* -d: 'g' written to the process that will exec */
bool pgone[NR];			/* the foreground nfrestart is gone */
byte snap[NR];			/* PID read at step 2 */
bool snapfresh[NR];		/* its process was born before that file's write */
byte tgt[NR];			/* the pidfd of the wait (wait.c ws_arm()) */
bool tgtgone[NR];		/* ... says the process exited */
bool sent[NR];			/* run r has signalled the old server */
bool snapdead[NR];		/* the process judged at step 2 has died since
				 * (its start time no longer matches) */

#ifdef SYSTEMD
byte mainpid = 1;		/* systemd's main PID: the old server at first */
byte sdold[NR];			/* the old server when MAINPID= was sent */
bool sdoldgone[NR];		/* ... that very process has died since */
bool sclosed[NR];		/* the process that will exec gave up, closed
				 * the holder's pipe, and waits for the holder */
bool rest[NR];			/* the main PID is where it belongs, said by
				 * the foreground ('d') or by the holder */
bool sdsig[NR];			/* 's': the old server is being signalled */
bool restarted;			/* systemd saw the main PID exit (died()) */
bool late[NPID + 1];		/* main again after a 124: its exit on the
				 * signal it was sent is 124's documented
				 * outcome (nothing runs), not the reload's */
/* P5: a server exiting on a reload's signal is not the main PID. */
#define SD_NOT_MAIN(p)	assert(restarted || mainpid != p || late[p])
/* fg_exit(), sd_held(): back on the old server while that process lives. */
#ifdef BROKEN_NO_RESTORE
#define SD_RESTORE(r)	skip
#else
#define SD_RESTORE(r)	if \
	:: sdold[r] != 0 && !sdoldgone[r] && !kil[sdold[r]] -> \
		mainpid = sdold[r] \
	:: else \
	fi
#endif
#else
#define SD_NOT_MAIN(p)	skip
#endif

/* ---- processes and PIDs ---- */

/* A process is born on a free PID, or p = 0 (fork: EAGAIN). */
#if NPID == 3
#define PICK(p)	if :: owner[1] == FREE -> p = 1 :: owner[2] == FREE -> p = 2 \
	:: owner[3] == FREE -> p = 3 :: else -> p = 0 fi
#elif NPID == 4
#define PICK(p)	if :: owner[1] == FREE -> p = 1 :: owner[2] == FREE -> p = 2 \
	:: owner[3] == FREE -> p = 3 :: owner[4] == FREE -> p = 4 \
	:: else -> p = 0 fi
#else
#error NPID must be 3 or 4
#endif

inline born(p, k)
{
	owner[p] = k;
	sig[p] = 0;
	kil[p] = 0;
	att[p] = 0;
#ifdef SYSTEMD
	late[p] = 0;
#endif
	/* Born after every write so far: a reused PID looks stale. */
	if
	:: pf_pid == p -> pf_fresh = 0
	:: else
	fi;
	i = 0;
	do
	:: i < NR ->
		if
		:: snap[i] == p -> snapfresh[i] = 0
		:: else
		fi;
		i++
	:: else -> break
	od
}

/* The process at PID p dies (a pidfd on it now reads as exited). */
inline died(p)
{
#ifdef SYSTEMD
	/* systemd sees its main PID exit: it kills the unit's cgroup and
	 * starts the unit again (a crash, or a reload given up with nothing
	 * running). That is not modelled: from here on the processes of the
	 * model no longer exist in reality, and P5 no longer judges them. */
	if
	:: mainpid == p -> mainpid = 0; restarted = 1
	:: else
	fi;
#endif
	owner[p] = FREE;
	att[p] = 0;
	sig[p] = 0;
	kil[p] = 0;
	i = 0;
	do
	:: i < NR ->
		if
		:: tgt[i] == p -> tgtgone[i] = 1
		:: else
		fi;
		if
		:: snap[i] == p -> snapdead[i] = 1
		:: else
		fi;
		if
		:: spid[i] == p -> sgone[i] = 1
		:: else
		fi;
#ifdef SYSTEMD
		if
		:: sdold[i] == p -> sdoldgone[i] = 1
		:: else
		fi;
#endif
		i++
	:: else -> break
	od
}

/* A server process of instance n dies. */
inline srvdied(p, n)
{
	died(p);
	icnt[n]--;
	if
	:: icnt[n] == 0 -> ninst--
	:: else
	fi
}

/* Run r's lock description loses a holder: the last one releases it. */
inline unref(r)
{
	refs[r]--;
	if
	:: refs[r] == 0 && lk == r + 1 -> lk = 0
	:: else
	fi
}

/* nf_guard() (guard.c) with the PID and the file's stat read at
 * step 2 (snap): 0 gone, 1 OK, 2 stale. */
#ifdef BROKEN_NO_GUARD
#define GUARD(r, g) if :: owner[snap[r]] == FREE -> g = 0 :: else -> g = 1 fi
#else
#define GUARD(r, g) \
	if \
	:: owner[snap[r]] == FREE -> g = 0	/* gone or zombie */ \
	:: else -> \
		if \
		:: att[snap[r]] -> g = 1	/* segment attached */ \
		:: else -> \
			if \
			:: snapfresh[r] -> g = 1	/* started before */ \
			:: else -> g = 2	/* pid reused */ \
			fi \
		fi \
	fi
#endif

/* nf_guarded_kill() (guard.c): pidfd, guard, send, one step. */
inline gkill(r, g, KILL)
{
	GUARD(r, g);
	if
	:: g == 1 ->
		assert(owner[snap[r]] == SRV);		/* P2 */
		if
		:: KILL -> kil[snap[r]] = 1
		:: else -> sig[snap[r]] = 1
		fi
	:: else
	fi
}

/* ---- the server (after exec) ---- */

/*
 * Runs in the process that exec'd (pid me, instance n) and in a daemon
 * child. The framework writes its PID file (truncate, then write), then
 * attaches and recovers the segment, then serves until signalled.
 */
inline serve(me, n)
{
	/* Truncate. */
	if
	:: atomic { srvdied(me, n); goto dead }
	:: atomic { !kil[me] -> pf_st = EMPTY }
	fi;
	/* Write. */
	if
	:: atomic { srvdied(me, n); goto dead }
	:: atomic { !kil[me] -> pf_st = NAMES; pf_pid = me; pf_fresh = 1;
		iwrote[n] = 1 }
	fi;
	/* Attach the segment. */
	if
	:: atomic { srvdied(me, n); goto dead }
	:: atomic { !kil[me] -> att[me] = 1 }
	fi;
	/*
	 * Serve: exit 0 on the signal (detach, exit), or ignore it; die at
	 * once on SIGKILL. Whether it crashes some time is chosen here, so
	 * that weak fairness does not force every server to crash.
	 */
	if
	:: skip
	:: atomic { srvdied(me, n); goto dead }
	fi;
end_serve:
	do
	:: atomic { sig[me] && !kil[me] ->
		if
		:: me == spid[n] -> sexit0[n] = 1
		:: else
		fi;
		SD_NOT_MAIN(me);
		srvdied(me, n); goto dead }
	:: atomic { sig[me] && !kil[me] -> sig[me] = 0 }
	:: atomic { kil[me] -> SD_NOT_MAIN(me); srvdied(me, n); goto dead }
	od
}

proctype Child(byte me; byte n)
{
	byte i;

	serve(me, n);
dead:
	skip
}

/*
 * exec_server() and what follows: the process me of run r writes
 * 'G' to the holder (and, with -d, a zero to the foreground) and execs; the lock fd closes (O_CLOEXEC, pidfile.c
 * lockpath()), and so does the holder's pipe.
 */
inline become_server(r, me)
{
	byte c;

	/* 'G' to the holder. */
	if
	:: atomic { unref(r); died(me); goto dead }
	:: gword[r] = 1
	fi;
	/* execvp: now the server; the lock fd closes. */
	atomic {
		assert(ninst == 0);			/* P1 */
		ninst++;
		icnt[r] = 1;
		owner[me] = SRV;
		sexec[r] = 1;
		unref(r)
	}
#ifdef DAEMONIZING
	/*
	 * The server forks; the parent exits 0; the child writes the file.
	 * From the fork on, the instance is the child: the parent will only
	 * exit (it is still a process that a signal may reach).
	 */
	if
	:: atomic { srvdied(me, r); goto dead }
	:: atomic { !kil[me] ->
		PICK(c);
		if
		:: c == 0 -> srvdied(me, r); goto dead	/* fork failed: exit 1 */
		:: else ->
			born(c, SRV);
			run Child(c, r)
		fi
	   }
	fi;
	if
#ifdef NO_MIDKILL
	:: atomic { kil[me] -> died(me) }	/* only our own KILL step */
#else
	:: atomic { died(me) }		/* SIGKILLed between fork and exit */
#endif
	:: atomic { !kil[me] -> sexit0[r] = 1; died(me) }
	fi;
	goto dead;
#else
	serve(me, r);
#endif
}

/* ---- the holder: hold() (src/nfrestart-hold.c) ---- */

proctype Holder(byte r; byte old; bool kn)
{
	bool daemonized;

	/* Wait for 'G'; end of file without it: give up. */
	if
	:: atomic { gword[r] -> skip }
#ifdef SYSTEMD
	/* hold(): sd_held() before the exit, the lock still held. */
	:: atomic { !gword[r] && (sgone[r] || sclosed[r]) -> goto sdout }
#else
	:: atomic { !gword[r] && sgone[r] -> unref(r); goto out }
#endif
#ifdef HOLDER_CRASH
	:: atomic { unref(r); goto out }
#endif
	fi;
	/* Its loop, polled every 2 ms and then less often: modelled as steps taken when enabled. */
end_hold:
	do
	/* The PID file names a live process other than the old
	 * one (and not the process that will exec, until it has exec'd:
	 * execd is the end of file on the pipe). */
	:: atomic { pf_st == NAMES && pf_pid != old &&
	    (pf_pid != spid[r] || sexec[r] || sgone[r]) &&
	    owner[pf_pid] != FREE -> unref(r); goto out }
	/* server_ended(): the server died: exit status 0 means it daemonized. */
	:: atomic { !daemonized && sgone[r] ->
		if
#ifdef KERNEL_TELLS
		:: sexit0[r] -> daemonized = 1
		:: !sexit0[r] -> unref(r); goto out
#else
		:: sexit0[r] -> daemonized = 1	/* status read */
		:: !sexit0[r] -> unref(r); goto out	/* read: a failure */
		/* Unknown: only without -d (with it, the holder is the
		 * server's parent and waitpid tells it). */
#ifdef READY_TIMEOUT_GIVEN
		:: !kn -> daemonized = 1	/* --ready-timeout */
#else
		:: !kn -> unref(r); goto out	/* a failure */
#endif
#endif
		fi }
	/* --ready-timeout: kept while our server runs, unseen. */
#ifdef TIMEOUT_ANYTIME
	:: atomic { daemonized -> unref(r); goto out }
#else
	:: atomic { (iwrote[r] || (sgone[r] && icnt[r] == 0)) ->
		unref(r); goto out }
#endif
#ifdef HOLDER_CRASH
	:: atomic { unref(r); goto out }
#endif
	od;
#ifdef SYSTEMD
	goto out;
sdout:
	/* sd_held(): once the foreground has ended, its word ('d'), or our
	 * own: the main PID back on an old server that was not signalled. */
	atomic { pgone[r] ->
		if
		:: !rest[r] && !sdsig[r] -> SD_RESTORE(r)
		:: else
		fi;
		rest[r] = 1;
		unref(r) }
#endif
out:
	skip
}

/*
 * prefork_holder(): pipe, fork twice, the holder inherits the
 * lock fd. Under HOLDER_FORK_FAILS the fork may fail: the callers give up
 * before any signal (see Run).
 */
inline prefork(r, old, kn)
{
#if defined(BROKEN_RELEASE_AT_EXEC)
	skip
#else
	refs[r]++;
	run Holder(r, old, kn)
#endif
}

/* ---- -d: the second child, which will exec (prepare_daemon()) ---- */

proctype Pre(byte r; byte me; byte old)
{
	byte i;

	/* Wait for the go; end of file without it: exit 0. */
	if
	:: atomic { goword[r] -> skip }
#ifdef SYSTEMD
	/* sd_abandoned(): close the holder's pipe, wait until the holder is
	 * gone, then die (exit 6). */
	:: atomic { !goword[r] && pgone[r] -> sclosed[r] = 1 };
	   atomic { rest[r] ->
		/* P5: not while a server runs that was not signalled (once
		 * it was, it may be exiting, and systemd restarting the unit
		 * at this exit, 6, is what the unit needs). */
		assert(restarted || !(mainpid == me && ninst > 0 && !sdsig[r]));
		unref(r); died(me); goto dead }
#else
	:: atomic { !goword[r] && pgone[r] -> unref(r); died(me); goto dead }
#endif
	:: atomic { unref(r); died(me); goto dead }
	fi;
	/* exec_server(). */
	become_server(r, me);
dead:
	skip
}

/* ---- nfrestart: main() ---- */

/* 1. nf_restart_lock() (pidfile.c): wait for the lock, or -t runs out
 * (exit 4); a crash here holds nothing. */
inline takelock(r)
{
	if
	:: atomic { lk == 0 -> lk = r + 1; refs[r] = 1; locked = 1 }
	:: goto quit
	fi
}

/*
 * An operator's own signal (INT, TERM, HUP; PIPE on a closed stderr):
 * before the old server is signalled it aborts, nothing touched; after
 * it, handoff_begin() has them held back or ignored and the handoff goes
 * on (P4). The BROKEN one aborts there too.
 */
inline opsig(r)
{
#ifdef OPSIG
	if
	:: skip
	:: atomic { !sent[r] -> goto quit }
	:: atomic { sent[r] ->
#ifdef BROKEN_OPSIG
		assert(!sent[r]);	/* P4: the handoff abandoned half way */
		goto quit
#else
		skip			/* held back, reported at the end */
#endif
	   }
	fi
#else
	skip
#endif
}

proctype Run(byte r)
{
	byte i, me, old, g, s;
	bool dflag, killsched, nothing, locked, judged;
#ifdef SYSTEMD
	bool crashed;
#endif

	/* Options: -d or not; run 0 has KILL in its schedule
	 * (restart/T/KILL/T), the others do not (restart/T: 124). */
#if defined(FIXED_OPTS)
	dflag = r == 0;		/* run 0 with -d, run 1 without */
#elif defined(ALL_D)
	dflag = 1;		/* every run with -d */
#else
	if
	:: dflag = 1
	:: dflag = 0
	fi;
#endif
	killsched = r == 0;
	/* Without -d, nfrestart itself becomes the server: its PID counts. */
	if
	:: !dflag -> atomic {
		PICK(me);
		if
		:: me == 0 -> goto gone		/* could not be started */
		:: else -> born(me, NFR); spid[r] = me
		fi }
	:: else
	fi;

#ifndef BROKEN_READ_BEFORE_LOCK
	takelock(r);
#endif

	/*
	 * Steps 2 and the guard only read: a crash during them is the same
	 * as the crash offered before the forks below, so they offer none
	 * (nor does ws_arm(), whose pidfd only this run reads).
	 */
	/* 2. find_old(), read_old(): absent, empty (with -S/-I: the
	 * segment check decides), our own PID, a PID. */
	if
	:: atomic { true ->
		if
		:: pf_st == ABSENT || pf_st == EMPTY -> nothing = 1
		:: pf_st == NAMES && pf_pid == me -> nothing = 1; snap[r] = me
		:: pf_st == NAMES && pf_pid != me ->
			snap[r] = pf_pid; snapfresh[r] = pf_fresh; judged = 1;
			snapdead[r] = 0
		fi }
	fi;
	/* judge_old(), nf_guard(): OK is the old server; gone: nothing to
	 * stop; stale: refuse if it looks like the server (lookalike()
	 * its name, or the segment), else an innocent process. */
	if
	:: atomic { true ->
		if
		:: !nothing ->
			GUARD(r, g);
			if
			:: g == 1 -> old = snap[r]
			:: g == 0 -> skip
			:: g == 2 && (owner[snap[r]] == SRV || att[snap[r]]) ->
				goto quit		/* exit 5 */
			:: g == 2 && owner[snap[r]] != SRV && !att[snap[r]] ->
				skip
			fi
		:: else
		fi }
	fi;
	/* still_attached(): no old server but the segment is
	 * attached: refuse (5). */
	if
	:: atomic { true ->
		if
		:: old == 0 && (att[1] || att[2] || att[3]
#if NPID == 4
		    || att[4]
#endif
		    ) -> goto quit
		:: else
		fi }
	fi;
#ifdef BROKEN_READ_BEFORE_LOCK
	takelock(r);
#endif
	opsig(r);

	/* prepare_new(): everything that forks, before the signal. */
	if
	:: goto crash
	:: atomic { true ->
		if
		:: dflag ->
			/* prepare_daemon(): fork, setsid, pipe, fork; the
			 * pid comes back on the tell pipe. */
			PICK(s);
			if
			:: s == 0 -> goto quit		/* exit 3 */
#ifdef HOLDER_FORK_FAILS
			/* The holder's pipe failed in the first child: it
			 * tells why instead of a PID, and exits. */
			:: s != 0 -> goto quit		/* exit 3 */
#endif
			:: s != 0 ->
				/* The first child is the holder (middle_holds()),
				 * the second will exec. */
				prefork(r, old, 1);
				born(s, NFR);
				spid[r] = s;
				refs[r]++;
				run Pre(r, s, old)
			fi
		:: else ->
#ifdef HOLDER_FORK_FAILS
			if
			:: goto quit	/* exit 3, before any signal */
			:: prefork(r, old, 0)
			fi
#else
			prefork(r, old, 0)
#endif
		fi }
	fi;

#if defined(SYSTEMD) && !defined(BROKEN_MAINPID_LATE)
	/* sd_begin(): MAINPID=<the process that will exec>, BARRIER=1: systemd
	 * has read it before any signal; a process that died by then is not
	 * taken (systemd ignores a dead main PID): 3, before any signal. */
	if
	:: goto crash
	:: atomic { !sgone[r] -> mainpid = spid[r]; sdold[r] = old;
		sdoldgone[r] = old == 0 }
	:: atomic { sgone[r] -> goto quit }
	fi;
#endif
	/* 4. stop_old() -> signal_old() -> nf_watch() (wait.c). */
	if
	:: old != 0 ->
		/* wait.c ws_arm(): pidfds open before the first signal. */
		if
		:: goto crash
		:: atomic { tgt[r] = old;
			tgtgone[r] = owner[old] == FREE || snapdead[r];
#ifdef SYSTEMD
			sdsig[r] = 1	/* sd_stopping(): 's' to the holder */
#endif
		   }
		fi;
		/* wait.c nf_watch(): the first signal. */
		if
#ifdef BROKEN_REJUDGE
		:: atomic { !tgtgone[r] -> gkill(r, g, 0);
			if
			:: g != 1 -> tgtgone[r] = 1	/* gone or stale: done */
			:: else -> oldsig = 1; sent[r] = 1
			fi }
#else
		/* The process judged at step 2, pinned by its pidfd (its
		 * start time checked, wait.c ws_judge()): the same one, or
		 * it has exited. Not judged again: it may have changed since
		 * (detached on another run's signal). */
		:: atomic { !tgtgone[r] ->
			assert(owner[tgt[r]] == SRV);		/* P2 */
			sig[tgt[r]] = 1; oldsig = 1; sent[r] = 1 }
#endif
		:: atomic { tgtgone[r] -> skip }
		fi;
		/* wait.c ws_run(): wait for the exit, or the step's time. */
		if
		:: atomic { tgtgone[r] -> skip }
		:: goto crash
		:: !tgtgone[r] ->
			if
			:: killsched ->
#ifdef BROKEN_REJUDGE
				/* The KILL step, judged again by number; stale
				 * now counts as gone. */
				atomic { gkill(r, g, 1);
					if
					:: g != 1 -> tgtgone[r] = 1
					:: else
					fi };
#else
				/* The KILL step, to the process pinned at the
				 * start (wait.c ws_send(): its pidfd). */
				atomic { true ->
					if
					:: !tgtgone[r] ->
						assert(owner[tgt[r]] == SRV);	/* P2 */
						kil[tgt[r]] = 1
					:: else		/* it exited meanwhile */
					fi };
#endif
				if
				:: atomic { tgtgone[r] -> skip }
#ifndef SYSTEMD
				:: goto quit	/* 124 */
#endif
				:: goto crash
				fi
			:: else -> goto quit	/* 124, nothing started */
			fi
		fi
	:: else
	fi;

	opsig(r);
#if defined(SYSTEMD) && defined(BROKEN_MAINPID_LATE)
	/* Broken: MAINPID= only once the old server has exited. */
	if
	:: goto crash
	:: atomic { mainpid = spid[r]; sdold[r] = old; sdoldgone[r] = 1 }
	fi;
#endif
	/* 5. wait_detached(): nobody attached any more, or -t. */
	if
	:: old != 0 ->
		if
		:: atomic { !(att[1] || att[2] || att[3]
#if NPID == 4
		    || att[4]
#endif
		    ) -> skip }
		:: goto quit			/* 124 */
		:: goto crash
		fi
	:: else
	fi;

	opsig(r);
	/* 6. remove_pidfile(): refuse (5) if the file names
	 * a live process (not our own PID, NF_PF_SELF) other than the one
	 * read at step 2; else unlink. */
	if
	:: goto crash
	:: atomic { pf_st == NAMES && pf_pid != me && owner[pf_pid] != FREE &&
	    !(judged && snap[r] == pf_pid) -> goto quit }
	:: atomic { !(pf_st == NAMES && pf_pid != me && owner[pf_pid] != FREE &&
	    !(judged && snap[r] == pf_pid)) -> skip }
	fi;
	if
	:: goto crash
	:: pf_st = ABSENT			/* unlink */
	fi;

	opsig(r);
	/* 7-8. */
	if
	:: dflag ->
		/* launch_daemon(): the go; then read until the exec closes
		 * the tell pipe, or the process dies. */
		if
		:: goto crash
		:: goword[r] = 1
		:: atomic { sgone[r] -> goto quit }
		fi;
		if
		:: atomic { (sexec[r] || sgone[r]) -> goto quit }
		:: goto crash
		fi
	:: else ->
		/* exec_server(). */
		become_server(r, me)
	fi;
	goto gone;
crash:
#ifdef SYSTEMD
	crashed = 1;
#endif
quit:
	/* Exit or SIGKILL: the fds close. */
	atomic {
#ifdef SYSTEMD
		/* fg_exit() at an exit, not at a SIGKILL: the main PID back
		 * on the old server while it lives, then 'd' to the holder. */
		if
		:: !crashed && !rest[r] -> SD_RESTORE(r); rest[r] = 1;
			if
			:: sdsig[r] && mainpid == sdold[r] -> late[sdold[r]] = 1
			:: else
			fi
		:: else
		fi;
#endif
		pgone[r] = 1;
		if
		:: locked -> unref(r)
		:: else
		fi;
		if
		:: me != 0 -> died(me)
		:: else
		fi
	}
	goto gone;
dead:
	pgone[r] = 1;
gone:
	skip
}

/* The old server: instance OLD on PID 1, its PID file written, attached. */
proctype Old()
{
	byte i;

	if
	:: skip
	:: atomic { srvdied(1, OLD); goto dead }	/* it crashes some time */
	fi;
end_serve:
	do
	:: atomic { sig[1] && !kil[1] -> SD_NOT_MAIN(1); srvdied(1, OLD); goto dead }
	:: atomic { sig[1] && !kil[1] -> sig[1] = 0 }	/* ignored */
#ifdef LINGER
	/* Detached on the signal, still running: only KILL ends it. */
	:: atomic { sig[1] && !kil[1] -> sig[1] = 0; att[1] = 0 }
#endif
	:: atomic { kil[1] -> SD_NOT_MAIN(1); srvdied(1, OLD); goto dead }
	od;
dead:
	skip
}

/* An innocent process, born on any free PID, that lives for a while,
 * again and again. */
proctype Inno()
{
	byte i, p;

end_inno:
	do
	:: atomic { p == 0 -> PICK(p);
		if
		:: p != 0 -> born(p, INNO)
		:: else
		fi }
	:: atomic { p != 0 && owner[p] == INNO -> died(p); p = 0 }
	od
}

init
{
	byte r;

	atomic {
		owner[1] = SRV;
		att[1] = 1;
#ifdef CLOCK_STEP
		pf_fresh = 0;	/* its file's time is after its start */
#endif
		icnt[OLD] = 1;
		ninst = 1;
		iwrote[OLD] = 1;
		r = 0;
		do
		:: r < NR -> run Run(r); r++
		:: else -> break
		od;
		run Old();
		run Inno()
	}
}

/* P3: the restart lock is always released again. */
ltl p3 { [] (lk != 0 -> <> (lk == 0)) }
