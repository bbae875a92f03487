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

/*
 * A server writes its PID file after it starts: a process that started
 * later than the file was written is not its writer. File times come from
 * the kernel's coarse clock (a few ms behind), start times in ticks of
 * 10 ms, and the file's wall-clock time is compared through today's offset
 * to the boot clock, which ntpd may have slewed by up to 128 ms since: the
 * tolerance covers all three. (Shared with nfrestart.exe.)
 */
#define NF_START_SLACK_MS 250

/* Default waits, in ms: the old server's exit (and the restart lock), and
 * the new server's readiness; nfrestart.exe's exit wait and --hold. */
#define NF_WAIT_MS 10000
#define NF_READY_MS 30000
#define NF_WIN_WAIT_MS 15000
#define NF_WIN_HOLD_MS 10000

/* ---- fmt.c: a small formatter (no stdio); portable ---- */
/* %s %c %d %u %x with l/ll/z, width and '0'; %m is strerror(errno). */
size_t nf_vfmt(char *buf, size_t n, const char *fmt, va_list ap);
size_t nf_fmt(char *buf, size_t n, const char *fmt, ...);
/* As nf_vfmt, but what it wrote: at most N - 1 bytes. */
size_t nf_vfmtw(char *buf, size_t n, const char *fmt, va_list ap);
/* S as a shell word for a command we print for pasting: itself when it
 * is plain, else in single quotes; in BUF when quoted. */
const char *nf_shword(const char *s, char *buf, size_t n);
/* Now in UTC to the millisecond (2026-12-06T15:04:05.123Z), for -v. */
void nf_utc(char *buf, size_t n);
/* SECS since the epoch the same way, with MS milliseconds unless MS < 0;
 * nf_civil: its year, month, day, hour, minute, second. */
void nf_iso(char *buf, size_t n, long long secs, int ms);
void nf_civil(long long secs, long long f[6]);
/* A Windows command line by MSVCRT's rules: ARGV (argv[0] the program,
 * holding no '"') quoted into BUF, always NUL-terminated; returns the whole
 * length, which may be N or more. */
size_t nf_winquote(char *buf, size_t n, char **argv);
/* "3.141 s" from microseconds (a negative time is 0). */
const char *nf_secs(long long us, char *buf, size_t n);

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
/* The same for an option's argument: OPT ARG: why, and exit 2. */
long long nf_edur(const char *opt, const char *arg);
/* Bus ID w.z.t.i (world 4 bits, zone 12, type 8, index 8). */
int nf_parse_busid(const char *s, uint32_t *objkey, const char **why);
uint32_t nf_buskey(uint32_t objkey);
/* SysV key: 0x... hex or decimal, 32 bits (printed unsigned). */
int nf_parse_key(const char *s, uint32_t *key, const char **why);
/* Server names become file names: no '/', no NUL, not empty, not ./.. */
int nf_check_server(const char *s, const char **why);
/* Decimal digits at S into *v (0 if none); returns where they end. For
 * /proc's numbers, which the kernel writes itself. nf_scan_base: digits
 * of BASE (2..36, letters in either case). */
const char *nf_scan_ull(const char *s, unsigned long long *v);
const char *nf_scan_base(const char *s, unsigned base, unsigned long long *v);

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
/* The signal of -s ARG (dies 2 on a bad one); without -s (ARG NULL) the
 * default, chosen here for every tool: NFShmXFrame's restart (31) to a
 * server addressed as NFShmXFrame's (NFX: -S/-I or --shm), TERM to any
 * other (31 is SIGSYS: a server without a handler dumps core). */
int nf_esig(const char *arg, int nfx);
/* After an unknown option such as -USR2: add "-s USR2" to the message. */
void nf_sigopt_hint(void);
const char *nf_signame(int sig, char *buf, size_t n);
/* SCHEDULE per start-stop-daemon; `defsig` is used by a bare duration. */
int nf_parse_sched(const char *s, int defsig, struct nf_sched *sc,
    const char **why);

/*
 * ---- msg.c: diagnostics on stderr, data on stdout; portable ----
 * A library function that may end the process is named so: nf_die,
 * nf_exit, and, as sbase's e... functions, nf_e...; every other one
 * returns and lets its caller report.
 */
extern const char *nf_prog;
extern int nf_quiet;	/* -q */
extern int nf_verbose;	/* -v */
/* Our name for messages; fds 0-2 opened on /dev/null when closed (exits
 * 3 when even that fails, before anything is done). */
void nf_init(const char *argv0);
void nf_warn(const char *fmt, ...);	/* always */
void nf_info(const char *fmt, ...);	/* unless -q */
void nf_debug(const char *fmt, ...);	/* only -v, with a timestamp */
_Noreturn void nf_die(int code, const char *fmt, ...);
_Noreturn void nf_usage_die(const char *usage);	/* prints usage, exits 2 */
void nf_out(const char *fmt, ...);	/* stdout, buffered */
void nf_plan(const char *step, const char *fmt, ...);	/* -n: step<TAB>detail */
void nf_eoutflush(void);			/* dies 3 on a write error */
int nf_writeall(int fd, const void *buf, size_t n);	/* 0, or -1 */
/* -h, -q, -v, -V, the same in every tool: 1 if C was one of them (-h and
 * -V print and exit 0; -h prints USAGE, then OPTS: one line per option). */
int nf_ecommon_opt(int c, const char *usage, const char *opts,
    const char *tool);
/* -h's lines for what every tool shares. */
#define NF_HELP_ADDR \
"  -p, --pidfile FILE    the PID file\n" \
"  -S, --server SERVER   with -I: NFShmXFrame's SERVER_ID.pid\n" \
"  -I, --id ID           its bus ID w.z.t.i: its segment, signal 31\n" \
"  -C, --chdir DIR       change to DIR first\n" \
"      --name NAME       the process must be called NAME\n" \
"      --shm KEY         who has segment KEY attached is the server\n" \
"      --unsafe-pidfile  accept a file others could replace\n"
#define NF_HELP_COMMON \
"  -q, --quiet           no progress messages\n" \
"  -v, --verbose         each step, with times\n" \
"  -h, --help            this help\n" \
"  -V, --version         the version\n"
_Noreturn void nf_exit(int code);	/* flushes stdout, then exits */
/* The exit code for a command that exec(2) (CreateProcess) refused with
 * error E: 127 not found (no such file, or a path through a file that is
 * not a directory), 126 any other reason. */
int nf_exec_code(int e);
extern void (*nf_exit_hook)(int);	/* called by nf_exit, if set */
/* For the tests only: NF_TEST_PAUSE=STEP:MS stops for MS ms after STEP,
 * so that a test can kill the tool there (nfrestart(1), nfshm(1)). */
void nf_test_pause(const char *step);
long long nf_now_us(void);		/* monotonic */
void nf_sleep_ms(long long ms);
#ifdef _WIN32
const char *nf_winerr(unsigned long e);	/* FormatMessage, in a static buffer */
#endif

/* ---- backoff.c: looking again, ever less often, until a deadline;
 * portable ---- */
struct nf_backoff {
	long long t0, end;	/* us, nf_now_us()'s clock; end -1: none */
	long long iv;		/* us: the next pause */
	long long step, max;	/* us: its growth after each look, its cap */
	long long fast;		/* us from the start: iv stays first so long */
};
/* For MS ms in all (< 0: no end): pause FIRST_US, then STEP_US more each
 * time, up to MAX_US. */
void nf_backoff_init(struct nf_backoff *b, long long ms, long long first_us,
    long long step_us, long long max_us);
/* The next pause in us, cut at the deadline (the look there is the last);
 * -1 when the time is up. _ms: in ms, rounded up, for poll(2). */
long long nf_backoff_next(struct nf_backoff *b);
long long nf_backoff_next_ms(struct nf_backoff *b);
/* Pause for it: 1, or 0 (and no pause) when the time is up. */
int nf_backoff_sleep(struct nf_backoff *b);
int nf_backoff_over(const struct nf_backoff *b);	/* past the deadline? */

#include <sys/types.h>
#include <sys/stat.h>

/* ---- files.c: a file replaced atomically (portable) ---- */
struct nf_afile {
#ifdef _WIN32
	void *h;		/* the temporary file's HANDLE */
	const char *call;	/* what failed: CreateFile, WriteFile ... */
	unsigned long err;	/* and its GetLastError() */
#else
	int fd;			/* the temporary file, written by the caller */
#endif
	const char *path;
	char tmp[4096];		/* DIR/.BASE.TAGPID.N */
	char dir[4096];
};
/* 0 with the temporary file open, -1 (errno; on Windows f->call and
 * f->err), -2 when the name is too long. */
int nf_afile_open(struct nf_afile *f, const char *path, const char *tag,
    mode_t mode);
int nf_afile_write(struct nf_afile *f, const void *buf, size_t n); /* 0/-1 */
/* fsync, close, rename over PATH, fsync of the directory: 0; -1 (errno)
 * when the data could not be written, -2 when the rename failed (the
 * temporary file is removed either way). */
int nf_afile_commit(struct nf_afile *f);
void nf_afile_abort(struct nf_afile *f);	/* close, remove; errno kept */
void nf_dirof(const char *path, char *buf, size_t n);	/* ".", "/", DIR */


/* ---- pidfile.c (pidrules.c: the part every platform shares) ---- */
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
/* The rules for the N bytes a reader got (it reads at most 65): sets and
 * returns pf->status (pid, why, empty), or -1 after 5 ms when the file was
 * empty and should be read again (TRIES reads before this one). */
int nf_pidfile_judge(struct nf_pidfile *pf, const char *buf, size_t n,
    int tries, unsigned long pidmax, unsigned long self);
/* Print the status as `prog: FILE: ...`; returns the exit code for it. */
int nf_pidfile_report(const struct nf_pidfile *pf);
/* What every tool says while FILE.lock is held (args: FILE, FILE), and
 * when it cannot be looked at (arg: FILE; ends in ':' for errno). */
#define NF_BUSY_FMT "%s: a restart of this server is in progress (%s.lock " \
	"is held)"
/* A live process in state T (args: FILE or PID's text, PID, state, PID). */
#define NF_STOPPED_FMT "%s: %d is alive but stopped (state %c): it " \
	"serves nobody and acts on no signal but KILL until continued " \
	"(kill -CONT %d)"
#define NF_BUSY_UNKNOWN_FMT "%s.lock: cannot tell whether a restart is in " \
	"progress:"
#ifndef _WIN32
unsigned long nf_pid_max(void);
int nf_pidfile_read(const char *path, int unsafe_ok, struct nf_pidfile *pf);
int nf_pidfile_write(const char *path, pid_t pid);	/* temp+fsync+rename */
/* pidfile(3) order: open, flock, same file?, truncate, write, fsync.
 * Returns NF_OK with *fd locked (not close-on-exec when keep), NF_BUSY with
 * *holder set when a live owner holds it, or NF_SYS/NF_USAGE. */
int nf_pidfile_lock(const char *path, int unsafe_ok, pid_t pid, int keep,
    int *fd, pid_t *holder);
/* The restart lock FILE.lock, created 0644 whatever the umask: wait up to
 * ms (-1 forever). NF_OK/NF_BUSY/NF_SYS, NF_USAGE for an unsafe file. */
int nf_restart_lock(const char *pidpath, int unsafe_ok, long long ms,
    int *fd);
/* Is FILE.lock held by someone? 1 yes, 0 no, -1 cannot be looked at
 * (errno set): never "no" then. */
int nf_restart_locked(const char *pidpath);
int nf_unsafe_dir(const char *path, const struct stat *st);

/* ---- files.c: reading files, and a file replaced atomically ---- */
/* A small file whole (at most N - 1 bytes) into BUF, NUL-terminated: its
 * length, or -1 (errno). nf_readat: PATH relative to DIRFD (a /proc/PID
 * held open names that process, not its number). */
ssize_t nf_readfile(const char *path, char *buf, size_t n);
ssize_t nf_readat(int dirfd, const char *path, char *buf, size_t n);
/* Every entry of a directory but . and .. (no malloc); fn returning
 * non-zero stops and is returned; -1 if it cannot be opened. */
int nf_dir_each(const char *path, int (*fn)(const char *name, void *arg),
    void *arg);
/* Every line of a file, without its newline; the same returns. */
int nf_lines_each(const char *path, int (*fn)(char *line, void *arg),
    void *arg);

/* ---- proc.c: process facts ---- */
struct nf_proc {
	pid_t pid;
	char state;			/* from /proc/PID/stat */
	unsigned long long threads;	/* its thread group's, leader included */
	unsigned long long start_ms;	/* since boot, CLOCK_BOOTTIME */
	int exit_code;		/* a zombie's, as waitpid(2) has it; else -1 */
	char comm[32];
};
/* State T or t: stopped (SIGSTOP, a debugger): alive, acting on no signal
 * but KILL until continued. */
#define NF_STATE_STOPPED(c) ((c) == 'T' || (c) == 't')
/* 0 facts read, 1 gone (ESRCH), -1 cannot read (errno set). */
int nf_proc_read(pid_t pid, struct nf_proc *p);
/* The same from the text of a /proc/PID/stat (or task/TID/stat): 0, or
 * -1 (EINVAL) when it is not one. */
int nf_proc_parse(const char *buf, struct nf_proc *p);
/* Exited: gone from the table's view (X), or a zombie with no thread
 * left (a zombie leader whose other threads run is alive). */
int nf_proc_exited(const struct nf_proc *p);
/* 1 alive (exists, not exited), 0 gone or exited, -1 unknown; without
 * our /proc, kill(pid, 0) (which calls a zombie alive). */
int nf_alive(pid_t pid);
enum { NF_PROC_NONE, NF_PROC_OURS, NF_PROC_FOREIGN };
int nf_proc_kind(void);		/* is there a /proc, and is it ours? */
int nf_has_proc(void);		/* ours: its facts are about our processes */
int nf_proc_hidden(void);	/* hidepid may hide processes from us */
const char *nf_noproc_why(void);	/* why there are no facts */
/* A line of /proc/PID/maps: "start-end perms offset dev inode  path". */
struct nf_mapent {
	int w;				/* mapped writable */
	unsigned long long ino;		/* a SysV segment's: its shmid */
	const char *path;		/* "" for an anonymous mapping */
};
void nf_maps_parse(const char *line, struct nf_mapent *e);
/* Is it NAME ("/SYSV%08x", "/dev/shm/x"), removed or not? 1/0. */
int nf_maps_names(const struct nf_mapent *e, const char *name);
/* Is PID in our IPC namespace? 1/0, -1 unreadable. */
int nf_proc_same_ipcns(pid_t pid);
/* Does PID map segment shmid (key KEY) of our IPC namespace? 1 writable,
 * 2 read-only (an observer), 0 no, -1 unreadable. */
int nf_proc_has_seg(pid_t pid, uint32_t key, int shmid);
/* Has PID our segment KEY attached for writing (a server, not an
 * observer)? 1/0, -1 unreadable. */
int nf_proc_has_shm(pid_t pid, uint32_t key);
/* A SysV segment of another key that PID has attached for writing, in
 * our IPC namespace (it is another server's): its key, or 0. */
uint32_t nf_proc_other_seg(pid_t pid, uint32_t key);
/* The descriptor by which PID has the file (dev, ino) open: its number,
 * -1 none, -2 unreadable. */
int nf_proc_file_fd(pid_t pid, dev_t dev, ino_t ino);
/* Name matches comm (cut to 15 bytes) or exe basename? 1/0, -1 unknown. */
int nf_proc_name_is(pid_t pid, const struct nf_proc *p, const char *name);
/* The same, or exe renamed beside it (NAME~, NAME.old, NAME (deleted)). */
int nf_proc_looks_like(pid_t pid, const struct nf_proc *p, const char *name);
const char *nf_memfind(const char *hay, size_t n, const char *needle,
    size_t nl);
/* A file's mtime on the boot-time clock, in ms. */
long long nf_mtime_boot_ms(const struct stat *st);

/* ---- pidfd.c ---- */
int nf_pidfd_open(pid_t pid);	/* fd, or -1: ESRCH gone, else unavailable */
int nf_pidfd_ok(void);		/* pidfd wanted and available */
int nf_pidfd_send(int fd, int sig);

/* ---- guard.c: is this the process the PID file meant? ---- */
#define NF_LIKE_MAX 3
struct nf_addr;
struct nf_target {
	pid_t pid;
	const struct nf_pidfile *pf;	/* or NULL for a bare PID */
	const char *name;		/* --name, or NULL */
	int has_key;
	uint32_t key;			/* --shm / -S -I object segment */
	/* What the server is called (--name, COMMAND, NFShmXFrame's title
	 * NF{Server}{ID}): a live process that fails the checks but is
	 * called so is refused, never taken for an innocent. */
	const char *like[NF_LIKE_MAX];
	/* Judged already (nfrestart's step 2): when set, nf_watch only
	 * checks that the process it pins is that one (this start time),
	 * not the guard again: it may have changed since (detached its
	 * segment on another run's signal) and is still the server. */
	unsigned long long start_ms;
};
enum {
	NF_G_OK,		/* the process meant */
	NF_G_GONE,		/* exited */
	NF_G_STALE,		/* another process has the number: left alone */
	NF_G_UNKNOWN,		/* the facts cannot be read: fail closed (3) */
	NF_G_LOOKALIKE		/* not cleared, but looks like the server (5) */
};
struct nf_verdict {
	int v;
	const char *why;		/* a fixed phrase */
	unsigned long long start_ms;	/* the process judged, when read */
	char state;			/* its /proc state, when read */
	char evidence[200];		/* for -n and -v */
};
int nf_guard(const struct nf_target *t, struct nf_verdict *vd);
/* The exit code a verdict stands for when nothing was done: 0, 1, 3, 5. */
int nf_verdict_code(int v);
/* T as an address says it (-p's file PF or NULL, --name, --shm or -S/-I's
 * segment, the look-alike names: --name, COMMAND or NULL, -S/-I's title);
 * its pid PF's, or 0 for the caller to set. */
void nf_target_init(struct nf_target *t, const struct nf_addr *a,
    const struct nf_pidfile *pf, const char *command);
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
	char title[16];		/* -S/-I: the process title NF{Server}{ID} */
	char buf[4096];
};
/* Handles one option; 1 if it was an addressing option (dies 2 on a bad
 * --name or --shm). */
int nf_eaddr_opt(struct nf_addr *a, int c, const char *arg);
/* Validates, chdirs; dies 2 with a message on bad input. */
void nf_eaddr_finish(struct nf_addr *a, int need);
int nf_addr_nfx(const struct nf_addr *a);	/* NFShmXFrame addressing */

#ifndef _WIN32
/* PIDs from operands, or stdin when none and it is not a terminal; dies
 * 2 on one that is not a PID (all are read before any is acted on). */
pid_t *nf_eread_pids(int argc, char **argv, size_t *n);

/* ---- wait.c: waiting for exits; start-stop-daemon style schedules ---- */
enum { NF_W_EXITED, NF_W_LEFT };	/* exited / still running at the end */
struct nf_watchopt {
	int any;		/* done when one has exited */
	long long ms;		/* bound on the whole run; < 0: none */
	int judge;		/* judge each target with the guard first */
	const char *verb;	/* "not VERB: why" for those left out */
	/* Called once per target as it exits (those gone at the start
	 * first; nf_out is flushed after each batch), and, on NF_TIMEOUT,
	 * once per target still running. */
	void (*cb)(pid_t pid, int event, void *arg);
	void *arg;
	int sent;		/* out: how many of the schedule's steps sent */
};
/*
 * Watch the targets: a pidfd for each is opened first (where the kernel
 * has them: one poll for a few, one epoll set for many, RLIMIT_NOFILE's
 * soft limit raised to the hard one meanwhile, some descriptors always in
 * reserve); elsewhere /proc is looked at, every 1 ms for 2 s, then backing
 * off to 20 ms, the interval scaled with the number of PIDs; NF_NO_PIDFD=1
 * forces that. Exited means: gone, a zombie with no thread left, or (the
 * fallback) the number now has another start time.
 * With judge, each target is then judged (nf_guard): those not the process
 * meant are left out and reported (a look-alike: 5, facts unreadable: 3).
 * With a schedule, each step sends its signal to those still running
 * through what pinned them at the start (the pidfd, or the start time
 * taken then): never judged again by number. A step whose time has run
 * out sends nothing. Without one, just wait.
 * Returns 3 or 5 from the judgement first, else NF_OK when all (any: one)
 * have exited, NF_TIMEOUT when not, NF_SYS on a failed send or wait.
 */
int nf_watch(const struct nf_target *t, size_t n, const struct nf_sched *sc,
    struct nf_watchopt *wo);

/* ---- shm.c: SysV segments (declared in shm.h) ---- */
#include "shm.h"
/* ---- sum.c, segio.c, backup.c: copies of segments (backup.h) ---- */
#include "backup.h"

#endif /* !_WIN32 */
#endif
