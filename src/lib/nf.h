/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
#ifndef NF_H
#define NF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define NF_VERSION "0.1.0"

/* Exit codes: one table for every tool and every man page. */
enum {
	NF_OK = 0,		/* done / condition true */
	NF_FALSE = 1,		/* not running, stale, no such segment */
	NF_USAGE = 2,		/* usage error or bad input */
	NF_SYS = 3,		/* system error; the message names the call */
	NF_BUSY = 4,		/* restart in progress / lock held by a live owner */
	NF_REFUSED = 5,		/* acting could lose data or hit the wrong process */
	NF_DOWN = 6,		/* old server gone, new one not ready: DOWN */
	NF_TIMEOUT = 124,	/* old process still running, nothing started */
	NF_NOEXEC = 126,	/* command could not be executed */
	NF_NOTFOUND = 127	/* command not found */
};

/* NFShmXFrame's names for its signals. */
#define NF_SIG_RESTART 31

/* ---- fmt.c: a small formatter (no stdio); portable ---- */
/* %s %c %d %u %x with l/ll/z, width and '0'; %m is strerror(errno). */
size_t nf_vfmt(char *buf, size_t n, const char *fmt, va_list ap);
size_t nf_fmt(char *buf, size_t n, const char *fmt, ...);
/* A Windows command line by MSVCRT's rules: ARGV (argv[0] the program,
 * holding no '"') quoted into BUF, always NUL-terminated; returns the whole
 * length, which may be N or more. */
size_t nf_winquote(char *buf, size_t n, char **argv);

/* ---- parse.c: input parsing, range-checked; portable ---- */
/* Unsigned decimal, digits only, lo..hi. 0 ok, -1 bad (why set). */
int nf_parse_ulong(const char *s, unsigned long long lo,
    unsigned long long hi, unsigned long long *out, const char **why);
/* PID file contents: optional ASCII whitespace around decimal digits,
 * value 2..pidmax. Returns 0 ok, 1 empty (whitespace only), -1 malformed. */
int nf_parse_pidbuf(const char *buf, size_t len, unsigned long pidmax,
    unsigned long *pid, const char **why);
/* Durations `10`, `1.5s`, `250ms`, `2m`, `1h` in milliseconds. */
int nf_parse_dur(const char *s, long long *ms, const char **why);
/* Bus ID w.z.t.i (world 4 bits, zone 12, type 8, index 8). */
int nf_parse_busid(const char *s, uint32_t *objkey, const char **why);
uint32_t nf_buskey(uint32_t objkey);
/* SysV key: 0x... hex or decimal, 32 bits (printed unsigned). */
int nf_parse_key(const char *s, uint32_t *key, const char **why);
/* Server names become file names: no '/', no NUL, not empty, not ./.. */
int nf_check_server(const char *s, const char **why);

/* ---- sig.c: signal names; portable (Linux numbers on Windows) ---- */
#define NF_SCHED_MAX 32
struct nf_step {
	int sig;
	long long ms;
};
struct nf_sched {
	int n;
	struct nf_step step[NF_SCHED_MAX];
};
int nf_parse_sig(const char *s, int *sig, const char **why);
const char *nf_signame(int sig, char *buf, size_t n);
/* SCHEDULE per start-stop-daemon; `defsig` is used by a bare duration. */
int nf_parse_sched(const char *s, int defsig, struct nf_sched *sc,
    const char **why);

/* ---- msg.c: diagnostics on stderr, data on stdout; portable ---- */
extern const char *nf_prog;
extern int nf_quiet;	/* -q */
extern int nf_verbose;	/* -v */
void nf_init(const char *argv0);
void nf_warn(const char *fmt, ...);	/* always */
void nf_info(const char *fmt, ...);	/* unless -q */
void nf_debug(const char *fmt, ...);	/* only -v, with a timestamp */
_Noreturn void nf_die(int code, const char *fmt, ...);
void nf_usage_die(const char *usage);	/* prints usage, exits 2 */
void nf_out(const char *fmt, ...);	/* stdout, buffered */
void nf_outflush(void);			/* dies 3 on a write error */
int nf_writeall(int fd, const void *buf, size_t n);	/* 0, or -1 */
/* -h, -q, -v, -V, the same in every tool: 1 if C was one of them. */
int nf_common_opt(int c, const char *usage, const char *tool);
_Noreturn void nf_exit(int code);	/* flushes stdout, then exits */
extern void (*nf_exit_hook)(int);	/* called by nf_exit, if set */
long long nf_now_us(void);		/* monotonic */
void nf_sleep_ms(long long ms);

#ifndef _WIN32
#include <sys/types.h>
#include <sys/stat.h>

/* ---- pidfile.c ---- */
enum {
	NF_PF_OK,		/* pid set */
	NF_PF_ABSENT,		/* no file, or a dangling symlink */
	NF_PF_MALFORMED,	/* why set; exit 2 */
	NF_PF_UNSAFE,		/* world-writable dir, foreign owner; exit 2 */
	NF_PF_UNREADABLE,	/* err set; exit 3 */
	NF_PF_SELF		/* names the caller: stale, never a target */
};
struct nf_pidfile {
	const char *path;
	pid_t pid;
	int status;
	int empty;		/* malformed because it stayed empty */
	int err;
	const char *why;
	struct stat st;		/* the file as read */
};
unsigned long nf_pid_max(void);
int nf_pidfile_read(const char *path, int unsafe_ok, struct nf_pidfile *pf);
/* Print the status as `prog: FILE: ...`; returns the exit code for it. */
int nf_pidfile_report(const struct nf_pidfile *pf);
int nf_pidfile_write(const char *path, pid_t pid);	/* temp+fsync+rename */
/* pidfile(3) order: open, flock, same file?, truncate, write, fsync.
 * Returns NF_OK with *fd locked (not close-on-exec when keep), NF_BUSY with
 * *holder set when a live owner holds it, or NF_SYS/NF_USAGE. */
int nf_pidfile_lock(const char *path, pid_t pid, int keep, int *fd,
    pid_t *holder);
/* The restart lock FILE.lock: wait up to ms (-1 forever). NF_OK/NF_BUSY/NF_SYS. */
int nf_restart_lock(const char *pidpath, long long ms, int *fd);
/* Is FILE.lock held by someone? 1 yes, 0 no. */
int nf_restart_locked(const char *pidpath);
int nf_unsafe_dir(const char *path, const struct stat *st);

/* ---- proc.c: process facts ---- */
struct nf_proc {
	pid_t pid;
	char state;			/* from /proc/PID/stat */
	unsigned long long start_ms;	/* since boot, CLOCK_BOOTTIME */
	char comm[32];
};
/* 0 facts read, 1 gone (ESRCH), -1 cannot read (errno set). */
int nf_proc_read(pid_t pid, struct nf_proc *p);
/* 1 alive (exists, not a zombie), 0 gone or zombie, -1 unknown. */
int nf_alive(pid_t pid);
int nf_has_proc(void);
/* Does PID have SysV segment KEY attached? 1/0, -1 unreadable. */
int nf_proc_has_shm(pid_t pid, uint32_t key);
/* Does PID have the file (dev, ino) open? 1/0, -1 unreadable. */
int nf_proc_has_file(pid_t pid, dev_t dev, ino_t ino);
/* Name matches comm (cut to 15 bytes) or exe basename? 1/0, -1 unknown. */
int nf_proc_name_is(pid_t pid, const struct nf_proc *p, const char *name);
const char *nf_memfind(const char *hay, size_t n, const char *needle,
    size_t nl);
/* A file's mtime on the boot-time clock, in ms. */
long long nf_mtime_boot_ms(const struct stat *st);
#define NF_START_SLACK_MS 50

/* ---- pidfd.c ---- */
int nf_pidfd_open(pid_t pid);	/* fd, or -1: ESRCH gone, else unavailable */
int nf_pidfd_ok(void);		/* pidfd wanted and available */
int nf_pidfd_send(int fd, int sig);

/* ---- guard.c: is this the process the PID file meant? ---- */
struct nf_target {
	pid_t pid;
	const struct nf_pidfile *pf;	/* or NULL for a bare PID */
	const char *name;		/* --name, or NULL */
	int has_key;
	uint32_t key;			/* --shm / -S -I object segment */
};
enum { NF_G_OK, NF_G_GONE, NF_G_STALE, NF_G_UNKNOWN };
struct nf_verdict {
	int v;
	const char *why;		/* a fixed phrase */
	char evidence[160];		/* for -n and -v */
};
int nf_guard(const struct nf_target *t, struct nf_verdict *vd);
/* Guarded signal: pidfd first, checks, send. Returns NF_G_* or, for a
 * failed send, -errno. */
int nf_guarded_kill(const struct nf_target *t, int sig, struct nf_verdict *vd);

#endif /* !_WIN32 */

/* ---- addr.c: -p / -S -I / -C (portable) and PID operands ---- */
struct nf_addr {
	const char *pidfile;
	const char *server;
	const char *id;
	const char *dir;
	const char *name;
	int has_key;
	uint32_t key;
	int unsafe;
	char buf[4096];
};
/* Handles one option; 1 if it was an addressing option. */
int nf_addr_opt(struct nf_addr *a, int c, const char *arg);
/* Validates, chdirs; dies 2 with a message on bad input. */
void nf_addr_finish(struct nf_addr *a, int need);
int nf_addr_nfx(const struct nf_addr *a);	/* NFShmXFrame addressing */

#ifndef _WIN32
/* PIDs from operands, or stdin when none and it is not a terminal. */
pid_t *nf_read_pids(int argc, char **argv, size_t *n);

/* ---- wait.c: waiting for exits; start-stop-daemon style schedules ---- */
/*
 * Wait until the PIDs have exited (all of them, or with any, one). ms < 0:
 * forever. on_exit(pid, arg) is called once per PID as it exits, those
 * already gone first; nf_out's buffer is flushed after each batch. Returns
 * the number of PIDs still running (0 = done; with any, < n means done).
 * pidfd where available, in one poll for up to 64 PIDs (no allocation) or
 * one epoll set for more (RLIMIT_NOFILE's soft limit is raised to the hard
 * one while waiting, then restored), else kill(pid,0) + the /proc
 * zombie check (a changed start time counts as exited too), every 1 ms for
 * the first 2 s then backing off to at most 20 ms, the interval scaled with
 * the number of PIDs (10 us each); NF_NO_PIDFD=1 forces the fallback;
 * zombies count as exited. Returns (size_t)-1 with errno on a system error
 * (EINVAL: a PID below 2; ENOMEM).
 */
size_t nf_wait(const pid_t *pids, size_t n, int any, long long ms,
    void (*on_exit)(pid_t, void *), void *arg);
/*
 * Run a start-stop-daemon style schedule on the targets: each step sends
 * step.sig through nf_guarded_kill to every target still running, then
 * waits up to step.ms. The pidfds that watch the targets are opened before
 * the first signal. A target that fails the guard as stale is not
 * signalled, is reported (nf_info) and counts as gone, without on_exit;
 * one gone is passed to on_exit. Returns NF_OK when all (with any, one)
 * have exited, NF_TIMEOUT when the schedule ran out with some still
 * running, NF_SYS on a failed send (EPERM...; the other targets of that
 * step are still signalled) or when the guard cannot read the facts
 * (reported with nf_warn, nothing sent to that target).
 */
int nf_run_sched(const struct nf_target *t, size_t n,
    const struct nf_sched *sc, int any, void (*on_exit)(pid_t, void *),
    void *arg);
/* The same, but the whole run is bounded by ms (< 0: no bound): NF_TIMEOUT
 * when it runs out first. */
int nf_run_sched_for(const struct nf_target *t, size_t n,
    const struct nf_sched *sc, int any, long long ms,
    void (*on_exit)(pid_t, void *), void *arg);

/* ---- shm.c: SysV segments (declared in shm.h) ---- */
#include "shm.h"

#endif /* !_WIN32 */
#endif
