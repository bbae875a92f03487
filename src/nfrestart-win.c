/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart.exe: the Windows handoff over NFShmXFrame's named events, in
 * the steps of nfrestart(1): take the restart lock, judge the old server,
 * open what must outlive it, stop it, remove its PID file, start the new
 * process -- and hold the lock until the new server is visible.
 *
 * The old server polls NFServer_Kill_{pid} every 10 ms and answers with
 * NFServer_KillSuccess_{pid}. The framework's own sender closes its kill
 * event 50 ms after setting it, so an old server whose polling thread is late
 * never sees it; and it relies on the old server sleeping 10 s to keep the
 * shared memory alive. Here the answer event exists before the signal, the
 * kill event stays open until the old server has answered or exited, and
 * named file mappings can be held across the gap (-m).
 */
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "lib/nf.h"
#include "lib/opts.h"
#include "lib/winsig.h"

static const char usage_text[] =
"usage: nfrestart.exe [-nqvw] [-p FILE | -S SERVER -I ID] [-C DIR] [-s SIG]\n"
"                     [-t DUR] [-r SCHEDULE] [-m NAME ...] [--hold DUR]\n"
"                     [--ready-timeout DUR] [--name NAME] [--force]\n"
"                     [--] [COMMAND [ARG ...]]\n"
"       nfrestart.exe -h | -V\n";
static const char opts_text[] =
"  -p, --pidfile FILE    the PID file\n"
"  -S, --server SERVER   with -I: an NFShmXFrame server, SERVER_ID.pid\n"
"  -I, --id ID           its bus ID (w.z.t.i)\n"
"  -C, --chdir DIR       change to DIR first\n"
"      --name NAME       the process must be called NAME\n"
"  -s, --signal SIG      restart: the Kill event; stop, reload: theirs\n"
"  -t, --timeout DUR     how long to wait for the old process (15 s)\n"
"  -r, --retry SCHEDULE  with KILL: TerminateProcess after that wait\n"
"  -m, --mapping NAME    hold this file mapping through the restart\n"
"      --hold DUR        how long to hold the mappings (10 s)\n"
"      --ready-timeout DUR   how long the lock waits for the new PID file\n"
"  -w, --write-pidfile   write the new process's PID\n"
"      --force           go on despite a look-alike\n"
"  -n, --dry-run         print the plan, do nothing\n"
NF_HELP_COMMON;

#define MAXMAPS		16
#define CMDMAX		32767	/* CreateProcess's limit, in characters */
#define KILLED_MS	5000	/* a suspended process's end after TerminateProcess */

/* ntdll: the state of an event without consuming it. */
typedef struct {
	int type;
	LONG state;
} evbasic;
NTSYSAPI LONG NTAPI NtQueryEvent(HANDLE, int, PVOID, ULONG, PULONG);

enum { R_ANSWERED, R_EXITED, R_KILLED, R_TIMEOUT };

/* A PID file as read here: the shared reading, and which file it was. */
struct wpf {
	struct nf_pidfile pf;
	ULONGLONG mtime;		/* 100 ns since 1601, as FILETIME */
	DWORD vol, hi, lo;
};

static struct {
	struct nf_addr a;
	int sig;
	struct nf_sched sc;
	int has_sched;
	long long tmo;			/* -t; -1 if not given */
	long long hold_ms, ready_ms;
	int ready_given;
	int wflag, dry, force;
	const char *maps[MAXMAPS];
	int nmaps;
	char **cmd;			/* NULL: stop only */
	char *cmdline;			/* CMDMAX + 1, on main's stack */
} o;

/*
 * What is under way, for the end: every exit (nf_exit, nf_die) goes
 * through finish(), nf_exit_hook.
 */
static struct {
	HANDLE lock;
	HANDLE mh[MAXMAPS];		/* the -m mappings */
	int nmh;
	HANDLE pending;			/* the new process, still suspended */
	HANDLE job;			/* its job, ended with us until resumed */
	struct nf_afile *pidw;		/* -w: the PID file's new version */
	int tmp;			/* ... whose temporary file is open */
	long long hold0;		/* when the -m hold began (us) */
} S;

/* Ctrl+C and Ctrl+Break: before the old server is signalled they abort
 * (nothing was touched); from then on they are held back. */
enum { C_IDLE, C_TOUCHED, C_ABORTED };
static volatile LONG cstate, cheld;

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

/*
 * The end of every run after the lock: a new process that is still
 * suspended is terminated (none of its code has run), the -w temporary
 * file removed, and, once the old server was signalled, the -m mappings
 * are held for the rest of --hold whatever went wrong: they may be all
 * that keeps its data.
 */
static void
finish(int code)
{
	char b[32];

	(void)code;
	if (S.pending) {
		TerminateProcess(S.pending, 1);
		WaitForSingleObject(S.pending, KILLED_MS);
		S.pending = NULL;
	}
	if (S.tmp) {
		nf_afile_abort(S.pidw);
		S.tmp = 0;
	}
	if (S.nmh && cstate == C_TOUCHED) {
		long long left;

		if (!S.hold0)
			S.hold0 = nf_now_us();
		left = o.hold_ms - (nf_now_us() - S.hold0) / 1000;
		if (left > 0) {
			nf_info("-m: holding the mappings for the rest of "
			    "--hold, %s", nf_secs(left * 1000, b, sizeof(b)));
			Sleep((DWORD)left);
		}
	}
	if (cheld)
		nf_info("Ctrl+C was held back until the handoff was done");
}

static BOOL WINAPI
onctrl(DWORD ev)
{
	if (ev != CTRL_C_EVENT && ev != CTRL_BREAK_EVENT)
		return FALSE;
	if (InterlockedCompareExchange(&cstate, C_ABORTED, C_IDLE) ==
	    C_TOUCHED)
		InterlockedExchange(&cheld, 1);
	return TRUE;	/* the main thread acts on it */
}

/* Before anything is touched: give up if Ctrl+C came. */
static void
interrupted(void)
{
	if (cstate == C_ABORTED) {
		nf_warn("interrupted: nothing was touched");
		nf_exit((int)STATUS_CONTROL_C_EXIT);
	}
}

/* The old server is about to be signalled: from here on, finish. */
static void
touch(void)
{
	if (InterlockedCompareExchange(&cstate, C_TOUCHED, C_IDLE) !=
	    C_IDLE)
		interrupted();
}

static ULONGLONG
ft64(FILETIME ft)
{
	return (ULONGLONG)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
}

/*
 * The PID file, by the rules every tool follows (nf_pidfile_judge): a
 * regular file (not a directory, pipe, device or reparse point), at most
 * 64 bytes; an empty one is read again.
 */
static int
readpid(const char *path, struct wpf *w)
{
	struct nf_pidfile *pf = &w->pf;

	memset(w, 0, sizeof(*w));
	pf->path = path;
	for (int tries = 0;; tries++) {
		BY_HANDLE_FILE_INFORMATION fi;
		char buf[65];
		DWORD a, n = 0, t;
		HANDLE h;

		a = GetFileAttributesA(path);
		if (a == INVALID_FILE_ATTRIBUTES) {
			DWORD e = GetLastError();

			if (e == ERROR_FILE_NOT_FOUND ||
			    e == ERROR_PATH_NOT_FOUND)
				return pf->status = NF_PF_ABSENT;
		} else if (a & (FILE_ATTRIBUTE_DIRECTORY |
		    FILE_ATTRIBUTE_REPARSE_POINT)) {
			pf->why = a & FILE_ATTRIBUTE_DIRECTORY ?
			    "is a directory" : "is a symbolic link";
			return pf->status = NF_PF_MALFORMED;
		}
		h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ |
		    FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
		    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
		if (h == INVALID_HANDLE_VALUE) {
			pf->err = (int)GetLastError();
			return pf->status = pf->err == ERROR_FILE_NOT_FOUND ||
			    pf->err == ERROR_PATH_NOT_FOUND ? NF_PF_ABSENT :
			    NF_PF_UNREADABLE;
		}
		t = GetFileType(h);
		if (t != FILE_TYPE_DISK) {
			CloseHandle(h);
			pf->why = t == FILE_TYPE_PIPE ? "is a FIFO" :
			    "not a regular file";
			return pf->status = NF_PF_MALFORMED;
		}
		if (!GetFileInformationByHandle(h, &fi) ||
		    !ReadFile(h, buf, sizeof(buf), &n, NULL)) {
			pf->err = (int)GetLastError();
			CloseHandle(h);
			return pf->status = NF_PF_UNREADABLE;
		}
		CloseHandle(h);
		if (fi.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY |
		    FILE_ATTRIBUTE_REPARSE_POINT)) {
			pf->why = "not a regular file";
			return pf->status = NF_PF_MALFORMED;
		}
		w->mtime = ft64(fi.ftLastWriteTime);
		w->vol = fi.dwVolumeSerialNumber;
		w->hi = fi.nFileIndexHigh;
		w->lo = fi.nFileIndexLow;
		if (nf_pidfile_judge(pf, buf, n, tries, 0xffffffffUL,
		    GetCurrentProcessId()) >= 0)
			return pf->status;
	}
}

static int
signalled(HANDLE h)
{
	return WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
}

/* Is PID a live process? */
static int
alive(DWORD pid)
{
	HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pid);
	int r;

	if (!h)
		return GetLastError() == ERROR_ACCESS_DENIED;
	r = !signalled(h);
	CloseHandle(h);
	return r;
}

static const char *
base(const char *p)
{
	const char *s;

	for (s = p; *p; p++)
		if (*p == '/' || *p == '\\' || *p == ':')
			s = p + 1;
	return s;
}

/* Same program name, any case, with or without .exe. */
static int
samename(const char *a, const char *b)
{
	size_t la, lb;

	a = base(a);
	b = base(b);
	la = strlen(a);
	lb = strlen(b);
	if (la > 4 && !strcasecmp(a + la - 4, ".exe"))
		la -= 4;
	if (lb > 4 && !strcasecmp(b + lb - 4, ".exe"))
		lb -= 4;
	return la == lb && !strncasecmp(a, b, la);
}

static const char *
imagename(HANDLE h)
{
	static char buf[MAX_PATH * 2];
	DWORD n = sizeof(buf);

	if (!QueryFullProcessImageNameA(h, 0, buf, &n))
		return NULL;
	return buf;
}

/* What a signal name means here; NULL: not available on Windows. */
static const char *
evkind(int sig)
{
	switch (sig) {
	case NF_SIG_RESTART:
		return "Kill";
	case SIGUSR1:
	case SIGTERM:
		return "Stop";
	case SIGUSR2:
		return "Reload";
	case SIGQUIT:
		return "Quit";
	case SIGKILL:
		return "";	/* TerminateProcess */
	}
	return NULL;
}

static void
checksig(int sig, const char *what)
{
	char b[32];

	if (!evkind(sig))
		nf_die(NF_USAGE, "%s: %s has no Windows equivalent (use "
		    "restart, stop, reload, QUIT or KILL)", what,
		    nf_signame(sig, b, sizeof(b)));
}

static HANDLE
event(const char *kind, DWORD pid, int *existed)
{
	char name[64];
	HANDLE h;

	nf_fmt(name, sizeof(name), "NFServer_%s_%lu", kind,
	    (unsigned long)pid);
	/* Auto-reset, as the framework's; no Global\ prefix. */
	h = CreateEventA(NULL, FALSE, FALSE, name);
	if (!h)
		nf_die(NF_SYS, "CreateEvent %s: %s", name,
		    nf_winerr(GetLastError()));
	if (existed)
		*existed = GetLastError() == ERROR_ALREADY_EXISTS;
	return h;
}

/* ---- 1. the restart lock ---- */

/*
 * FILE.lock opened without sharing: one restart of a server at a time. The
 * handle is the lock; it ends when it is closed, or with the process.
 */
static void
takelock(void)
{
	char path[MAX_PATH * 2];
	long long ms = o.tmo >= 0 ? o.tmo : NF_WAIT_MS;
	struct nf_backoff bo;
	char b[32];

	nf_fmt(path, sizeof(path), "%s.lock", o.a.pidfile);
	/* Every 1 ms, then 1 ms less often each time, up to 20 ms. */
	nf_backoff_init(&bo, ms, 1000, 1000, 20000);
	for (int first = 1;; first = 0) {
		DWORD e;

		S.lock = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0,
		    NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
		if (S.lock != INVALID_HANDLE_VALUE)
			break;
		S.lock = NULL;
		e = GetLastError();
		if (e != ERROR_SHARING_VIOLATION && e != ERROR_LOCK_VIOLATION)
			nf_die(NF_SYS, "%s: CreateFile: %s", path,
			    nf_winerr(e));
		interrupted();
		if (nf_backoff_over(&bo))
			nf_die(NF_BUSY, NF_BUSY_FMT, o.a.pidfile, o.a.pidfile);
		if (first)
			nf_debug(NF_BUSY_FMT ": waiting up to %s", o.a.pidfile,
			    o.a.pidfile, nf_secs(ms * 1000, b, sizeof(b)));
		nf_backoff_sleep(&bo);
	}
	nf_debug("restart lock %s taken", path);
}

/* -n: is the lock held? Opening it without sharing tells, for an instant. */
static int
lockheld(void)
{
	char path[MAX_PATH * 2];
	HANDLE h;

	nf_fmt(path, sizeof(path), "%s.lock", o.a.pidfile);
	h = CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	if (h != INVALID_HANDLE_VALUE) {
		CloseHandle(h);
		return 0;
	}
	return GetLastError() == ERROR_SHARING_VIOLATION ||
	    GetLastError() == ERROR_LOCK_VIOLATION;
}

static void
unlock(const char *why)
{
	if (!S.lock)
		return;
	CloseHandle(S.lock);
	S.lock = NULL;
	nf_debug("%s: restart lock released", why);
}

/* ---- 2. the old server ---- */

/*
 * Is the process the PID file names the one that wrote it? Returns an
 * open handle on the old server, or NULL when there is nothing to stop.
 * What cannot be read is a system error (3): the guard fails closed.
 */
static HANDLE
oldserver(struct wpf *w, DWORD *pidp, int *canterm)
{
	DWORD acc = SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION |
	    PROCESS_TERMINATE, pid, e;
	struct nf_pidfile *pf = &w->pf;
	FILETIME ct, et, kt, ut;
	const char *img, *why, *path = o.a.pidfile;
	long long late;
	HANDLE h;

	readpid(path, w);
	switch (pf->status) {
	case NF_PF_OK:
		break;
	case NF_PF_ABSENT:
		nf_info("%s: no pid file: nothing to stop", path);
		return NULL;
	case NF_PF_SELF:
		nf_info("%s: names our own pid: stale, nothing to stop", path);
		return NULL;
	default:
		nf_exit(nf_pidfile_report(pf));
	}
	pid = (DWORD)pf->pid;
	*canterm = 1;
	h = OpenProcess(acc, FALSE, pid);
	if (!h && GetLastError() == ERROR_ACCESS_DENIED) {
		h = OpenProcess(acc & ~(DWORD)PROCESS_TERMINATE, FALSE, pid);
		*canterm = 0;
	}
	if (!h) {
		if ((e = GetLastError()) != ERROR_INVALID_PARAMETER)
			nf_die(NF_SYS, "old server %lu: OpenProcess: %s; nothing "
			    "was touched", (unsigned long)pid, nf_winerr(e));
		nf_info("old server %lu: not running: nothing to stop",
		    (unsigned long)pid);
		return NULL;
	}
	if (signalled(h)) {
		nf_info("old server %lu: exited: nothing to stop",
		    (unsigned long)pid);
		CloseHandle(h);
		return NULL;
	}
	if (!GetProcessTimes(h, &ct, &et, &kt, &ut) || !(img = imagename(h)))
		nf_die(NF_SYS, "old server %lu: cannot read its start time or "
		    "image: %s; nothing was touched", (unsigned long)pid,
		    nf_winerr(GetLastError()));
	late = ((long long)ft64(ct) - (long long)w->mtime) / 10000;
	nf_debug("old %lu: %s, created %lld ms %s the pid file was written",
	    (unsigned long)pid, img, late < 0 ? -late : late,
	    late < 0 ? "before" : "after");
	if (o.a.name && !samename(img, o.a.name))
		why = "has another name";
	else if (late > NF_START_SLACK_MS)
		why = "started after the pid file was written (pid reused)";
	else {
		nf_debug("old server %lu: started before the pid file was "
		    "written", (unsigned long)pid);
		*pidp = pid;
		return h;
	}
	/* Two servers on one set of shared memory is the worst outcome. */
	if (!(o.cmd && samename(img, o.cmd[0])) &&
	    !(o.a.name && samename(img, o.a.name))) {
		nf_info("%s names %lu, another process (%s): left alone, "
		    "nothing to stop", path, (unsigned long)pid, why);
		CloseHandle(h);
		return NULL;
	}
	if (!o.force)
		nf_die(NF_REFUSED, "%s names %lu, which %s but looks like the "
		    "server: refusing (--force treats it as the old server)",
		    path, (unsigned long)pid, why);
	nf_warn("%s names %lu, which %s but looks like the server: stopping "
	    "it (--force)", path, (unsigned long)pid, why);
	*pidp = pid;
	return h;
}

/* ---- 3. what must outlive the old server, before it is touched ---- */

/* The -m mappings: held from before the signal to --hold after the start. */
static void
openmaps(int old)
{
	for (int i = 0; i < o.nmaps; i++) {
		HANDLE h = OpenFileMappingA(FILE_MAP_READ, FALSE, o.maps[i]);

		if (h) {
			S.mh[S.nmh++] = h;
			continue;
		}
		if (!old) {
			nf_info("-m %s: no such mapping (no old server to "
			    "hold it for)", o.maps[i]);
			continue;
		}
		if (!o.force)
			nf_die(NF_REFUSED, "-m %s: no such mapping: %s; the old "
			    "server does not have it (check the name; --force "
			    "to go on)", o.maps[i], nf_winerr(GetLastError()));
		nf_warn("-m %s: no such mapping (--force: going on)",
		    o.maps[i]);
	}
}

/*
 * -w, the atomic write of nfpid(1) write in two halves: the temporary file
 * beside the PID file (.BASE.PID.N, created new, never an old one) is made
 * before the old server is touched, so that a leftover or a directory that
 * cannot be written stops nothing; after the stop it is written, flushed
 * and moved over the PID file.
 */
static void
tmpopen(void)
{
	int r = nf_afile_open(S.pidw, o.a.pidfile, "", 0644);

	if (r == -2)
		nf_die(NF_USAGE, "%s: path too long", o.a.pidfile);
	if (r < 0)
		nf_die(NF_SYS, "%s: CreateFile: %s; nothing was touched",
		    S.pidw->tmp, nf_winerr(S.pidw->err));
	S.tmp = 1;
}

/* 0, or -1 with the temporary file removed, S.pidw naming the call that
 * failed. */
static int
tmpcommit(DWORD pid)
{
	char line[16];
	size_t n = nf_fmt(line, sizeof(line), "%lu\n", (unsigned long)pid);

	S.tmp = 0;
	if (nf_afile_write(S.pidw, line, n) < 0) {
		nf_afile_abort(S.pidw);
		return -1;
	}
	return nf_afile_commit(S.pidw) < 0 ? -1 : 0;
}

/* The job's limits: kill on close while suspended, none once resumed. */
static int
joblimit(DWORD flags)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;

	memset(&li, 0, sizeof(li));
	li.BasicLimitInformation.LimitFlags = flags;
	return SetInformationJobObject(S.job, JobObjectExtendedLimitInformation,
	    &li, sizeof(li));
}

/* Without the job: say what that means. */
static void
nojob(const char *call)
{
	DWORD e = GetLastError();

	if (S.job)
		CloseHandle(S.job);
	S.job = NULL;
	nf_warn("%s: %s: should nfrestart.exe be ended before it resumes the "
	    "new process, that process stays suspended (end it by hand)",
	    call, nf_winerr(e));
}

/*
 * The new process, created suspended before the old server is signalled:
 * a COMMAND that cannot be started leaves the old server alone, and after
 * the answer only ResumeThread is left to do. Until then none of its code
 * has run; finish() terminates it. And if nfrestart.exe itself is ended
 * first (TerminateProcess, Task Manager, a CI timeout), it would stay
 * suspended forever, holding its image and what it inherited: it is put in
 * a job that kills its processes when its last handle closes -- ours, not
 * inherited --, until main() lifts that limit right before ResumeThread.
 */
static void
create(PROCESS_INFORMATION *pi, int old)
{
	STARTUPINFOA si;
	DWORD e;

	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!(S.job = CreateJobObjectA(NULL, NULL)))
		nojob("CreateJobObject");
	else if (!joblimit(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE))
		nojob("SetInformationJobObject");
	if (CreateProcessA(NULL, o.cmdline, NULL, NULL, TRUE,
	    CREATE_NEW_PROCESS_GROUP | CREATE_SUSPENDED, NULL, NULL, &si, pi)) {
		S.pending = pi->hProcess;
		if (S.job && !AssignProcessToJobObject(S.job, pi->hProcess))
			nojob("AssignProcessToJobObject");
		return;
	}
	e = GetLastError();
	nf_die(nf_exec_code((int)e), "%s: CreateProcess: %s%s", o.cmd[0], nf_winerr(e), old ?
	    "; the old server was not touched" : "");
}

/* ---- 4. signal and wait ---- */

/*
 * The schedule: each step sets its event (created once, kept open until the
 * end) or terminates the process, then waits for the answer or the exit.
 * total_ms < 0: no overall bound.
 */
static int
runsched(HANDLE proc, DWORD pid, HANDLE succ, long long total_ms)
{
	HANDLE ev[4] = { 0 };
	static const char *kinds[4] = { "Kill", "Stop", "Reload", "Quit" };
	long long t0 = nf_now_us(), left;
	int res = R_TIMEOUT;
	char b[32];

	for (int i = 0; i < o.sc.n && res == R_TIMEOUT; i++) {
		const char *k = evkind(o.sc.step[i].sig);
		HANDLE hs[2] = { succ, proc };
		long long ms = o.sc.step[i].ms;
		DWORD w;

		if (total_ms >= 0) {
			left = total_ms - (nf_now_us() - t0) / 1000;
			if (left <= 0)
				break;
			if (ms > left)
				ms = left;
		}
		if (!*k) {
			if (!TerminateProcess(proc, 1) && !signalled(proc))
				nf_die(NF_SYS, "TerminateProcess %lu: %s",
				    (unsigned long)pid,
				    nf_winerr(GetLastError()));
			nf_info("%lu did not stop; terminated (KILL)",
			    (unsigned long)pid);
			w = WaitForSingleObject(proc, (DWORD)ms);
			if (w == WAIT_OBJECT_0)
				res = R_KILLED;
			continue;
		}
		for (int j = 0; j < 4; j++) {
			if (strcmp(k, kinds[j]))
				continue;
			if (!ev[j])
				ev[j] = event(k, pid, NULL);
			if (!SetEvent(ev[j]))
				nf_die(NF_SYS, "SetEvent NFServer_%s_%lu: %s", k,
				    (unsigned long)pid,
				    nf_winerr(GetLastError()));
			nf_debug("%s: NFServer_%s_%lu set; waiting up to %lld ms",
			    nf_signame(o.sc.step[i].sig, b, sizeof(b)), k,
			    (unsigned long)pid, ms);
		}
		w = WaitForMultipleObjects(2, hs, FALSE, (DWORD)ms);
		if (w == WAIT_OBJECT_0)
			res = R_ANSWERED;
		else if (w == WAIT_OBJECT_0 + 1)
			res = R_EXITED;
		else if (w != WAIT_TIMEOUT)
			nf_die(NF_SYS, "WaitForMultipleObjects: %s",
			    nf_winerr(GetLastError()));
	}
	/* Held until now, so that a late poller still finds them. */
	for (int j = 0; j < 4; j++)
		if (ev[j])
			CloseHandle(ev[j]);
	return res;
}

static void
stopold(HANDLE proc, DWORD pid)
{
	long long t0 = nf_now_us();
	int existed, r;
	HANDLE succ;
	char b[32];

	/* The answer exists before the signal, so it cannot be missed. */
	succ = event("KillSuccess", pid, &existed);
	if (existed && signalled(succ))
		nf_debug("NFServer_KillSuccess_%lu was already set: cleared",
		    (unsigned long)pid);
	touch();
	r = runsched(proc, pid, succ, o.has_sched ? o.tmo : -1);
	CloseHandle(succ);
	nf_secs(nf_now_us() - t0, b, sizeof(b));
	switch (r) {
	case R_ANSWERED:
		nf_debug("old %lu answered after %s", (unsigned long)pid, b);
		break;
	case R_EXITED:
		nf_warn("old %lu exited without answering after %s; going on",
		    (unsigned long)pid, b);
		break;
	case R_KILLED:
		nf_warn("old %lu terminated after %s; going on",
		    (unsigned long)pid, b);
		break;
	default:
		/* It was asked to stop and may still do so, leaving nothing
		 * running: say what was sent and what to do. */
		nf_die(NF_TIMEOUT, "old server %lu neither answered nor exited "
		    "within %s of NFServer_%s_%lu: it is still running and may "
		    "still stop; nothing was started and %s still names it "
		    "(wait and check, or escalate: -r restart/15/KILL/5)",
		    (unsigned long)pid, b, evkind(o.sc.step[0].sig),
		    (unsigned long)pid, o.a.pidfile);
	}
}

/*
 * -s stop|reload|QUIT without COMMAND: set the event and keep it until the
 * server has taken it (an auto-reset event goes back to unset when a waiter
 * consumes it), it exits, or the time is up.
 */
static int
deliver(HANDLE proc, DWORD pid, const char *kind, long long ms)
{
	long long t0 = nf_now_us(), nap;
	HANDLE ev = event(kind, pid, NULL);
	struct nf_backoff bo;
	char b[32];

	touch();
	if (!SetEvent(ev))
		nf_die(NF_SYS, "SetEvent: %s", nf_winerr(GetLastError()));
	/* Is it still set? Every millisecond. */
	nf_backoff_init(&bo, ms, 1000, 0, 1000);
	for (;;) {
		evbasic eb;

		if (NtQueryEvent(ev, 0, &eb, sizeof(eb), NULL) < 0)
			nf_die(NF_SYS, "NtQueryEvent: cannot tell whether %lu "
			    "took the event", (unsigned long)pid);
		if (!eb.state) {
			nf_debug("%lu took NFServer_%s_%lu after %s",
			    (unsigned long)pid, kind, (unsigned long)pid,
			    nf_secs(nf_now_us() - t0, b, sizeof(b)));
			CloseHandle(ev);
			return NF_OK;
		}
		if ((nap = nf_backoff_next_ms(&bo)) < 0) {
			nf_warn("%lu did not take NFServer_%s_%lu within %s",
			    (unsigned long)pid, kind, (unsigned long)pid,
			    nf_secs(ms * 1000, b, sizeof(b)));
			return NF_TIMEOUT;
		}
		if (WaitForSingleObject(proc, (DWORD)nap) == WAIT_OBJECT_0) {
			nf_warn("%lu exited before it took NFServer_%s_%lu",
			    (unsigned long)pid, kind, (unsigned long)pid);
			return NF_FALSE;
		}
	}
}

/* ---- 6. the stale PID file ---- */

/*
 * Delete the file W was read from, only if it is still that file: checked
 * and deleted through one handle. 1 removed, 0 it changed, -1 gone already.
 */
static int
removepid(const struct wpf *w)
{
	BY_HANDLE_FILE_INFORMATION fi;
	FILE_DISPOSITION_INFO di = { TRUE };
	HANDLE h;
	DWORD e;

	h = CreateFileA(o.a.pidfile, DELETE | FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
			return -1;
		nf_die(NF_SYS, "%s: CreateFile: %s", o.a.pidfile, nf_winerr(e));
	}
	if (!GetFileInformationByHandle(h, &fi))
		nf_die(NF_SYS, "%s: GetFileInformationByHandle: %s", o.a.pidfile,
		    nf_winerr(GetLastError()));
	if (fi.dwVolumeSerialNumber != w->vol || fi.nFileIndexHigh != w->hi ||
	    fi.nFileIndexLow != w->lo || ft64(fi.ftLastWriteTime) != w->mtime) {
		CloseHandle(h);
		return 0;
	}
	if (!SetFileInformationByHandle(h, FileDispositionInfo, &di,
	    sizeof(di)))
		nf_die(NF_SYS, "%s: delete: %s", o.a.pidfile,
		    nf_winerr(GetLastError()));
	CloseHandle(h);
	return 1;
}

/*
 * Remove the stale PID file -- also one that names a process already gone
 * (the framework's --Start refuses while the file names a live process,
 * and a reused PID would be one) -- unless a live process it did not name
 * before is in it now: someone started a server meanwhile.
 */
static void
removestale(const struct wpf *judged, DWORD stopped)
{
	for (int tries = 0; tries < 100; tries++) {
		struct wpf w;

		readpid(o.a.pidfile, &w);
		if (w.pf.status == NF_PF_ABSENT)
			return;
		if (w.pf.status == NF_PF_OK && !(judged->pf.status ==
		    NF_PF_OK && judged->pf.pid == w.pf.pid) &&
		    alive((DWORD)w.pf.pid)) {
			/* After a stop, not 5: something was touched. */
			if (!stopped)
				nf_die(NF_REFUSED, "%s: now names %lu, a live "
				    "process: someone started a server during "
				    "the restart; not starting another; nothing "
				    "was touched", o.a.pidfile,
				    (unsigned long)w.pf.pid);
			nf_die(NF_DOWN, "%s: now names %lu, a live process "
			    "that someone started while the old server %lu "
			    "stopped: not starting a second server beside it, "
			    "nothing was started: DOWN unless %lu is the server",
			    o.a.pidfile, (unsigned long)w.pf.pid,
			    (unsigned long)stopped, (unsigned long)w.pf.pid);
		}
		if (removepid(&w)) {
			nf_debug("%s: removed", o.a.pidfile);
			return;
		}
	}
	nf_die(NF_SYS, "%s: keeps changing; not removed", o.a.pidfile);
}

/* ---- 9. until the new server is visible ---- */

/*
 * The restart lock is held until the PID file names a live process other
 * than the old one (at once with -w, which wrote it), or the new process
 * has ended (exit status 0 with --ready-timeout given: taken for a
 * launcher that started the server, so the wait goes on), or
 * --ready-timeout has passed: until then a second nfrestart.exe, finding
 * no PID file, would start a second server. The -m mappings are held until
 * --hold after the start, even if the new process dies. Returns NF_OK, or
 * NF_DOWN when the new process died first.
 */
static int
holdon(HANDLE np, DWORD npid, DWORD oldpid)
{
	long long t0 = S.hold0 = nf_now_us(), el, nap;
	int lock = S.lock != NULL, maps = S.nmh > 0, ended = 0;
	int rc = NF_OK;
	struct nf_backoff bo;
	DWORD code = 0;
	char b[32];

	if (o.wflag && lock) {
		unlock("-w wrote the pid file");
		lock = 0;
	}
	/* While the PID file is looked for: every 2 ms at first, then 1 ms
	 * less often each time, up to 50 ms (the deadlines are below); for
	 * the mappings alone, until --hold. */
	nf_backoff_init(&bo, -1, 2000, 1000, 50000);
	while (lock || maps) {
		struct wpf w;

		el = (nf_now_us() - t0) / 1000;
		if (lock && readpid(o.a.pidfile, &w) == NF_PF_OK &&
		    (DWORD)w.pf.pid != oldpid && alive((DWORD)w.pf.pid)) {
			nf_debug("%s names %lu", o.a.pidfile,
			    (unsigned long)w.pf.pid);
			unlock(o.a.pidfile);
			lock = 0;
		}
		if (!ended && signalled(np)) {
			ended = 1;
			GetExitCodeProcess(np, &code);
			if (lock && !code && o.ready_given)
				nf_debug("new %lu exited 0: waiting for %s until "
				    "--ready-timeout", (unsigned long)npid,
				    o.a.pidfile);
			else if (lock && !code && !maps)
				nf_info("new %lu exited with code 0 before %s "
				    "named it", (unsigned long)npid,
				    o.a.pidfile);
			else {
				nf_warn("new %lu exited with code %lu: DOWN%s",
				    (unsigned long)npid, (unsigned long)code,
				    maps ? "; the mappings are held for the "
				    "rest of --hold" : "");
				rc = NF_DOWN;
			}
			if (lock && (code || !o.ready_given)) {
				unlock("the new process ended");
				lock = 0;
			}
		}
		if (lock && el >= o.ready_ms) {
			nf_secs(el * 1000, b, sizeof(b));
			if (ended) {
				nf_warn("%s names no new process %s after the "
				    "start: DOWN", o.a.pidfile, b);
				rc = NF_DOWN;
			} else
				nf_warn("%s does not name new %lu %s after the "
				    "start (--ready-timeout): restart lock "
				    "released", o.a.pidfile, (unsigned long)npid,
				    b);
			unlock("--ready-timeout");
			lock = 0;
		}
		if (maps && el >= o.hold_ms) {
			nf_debug("mappings released after %s",
			    nf_secs(el * 1000, b, sizeof(b)));
			maps = 0;
		}
		if (!lock && !maps)
			break;
		nap = lock ? nf_backoff_next_ms(&bo) : o.hold_ms - el;
		if (ended)
			Sleep((DWORD)nap);
		else
			WaitForSingleObject(np, (DWORD)nap);
	}
	return rc;
}

static void
parse(int argc, char **argv)
{
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retry", required_argument, NULL, 'r' },
		{ "mapping", required_argument, NULL, 'm' },
		{ "hold", required_argument, NULL, NF_OPT_HOLD },
		{ "ready-timeout", required_argument, NULL,
		    NF_OPT_READY_TIMEOUT },
		{ "write-pidfile", no_argument, NULL, 'w' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, NF_OPT_FORCE },
		{ NULL, 0, NULL, 0 }
	};
	const char *sigarg = NULL, *schedarg = NULL, *why;
	int c;

	o.tmo = -1;
	o.hold_ms = NF_WIN_HOLD_MS;
	o.ready_ms = NF_READY_MS;
	while ((c = nf_getopt(argc, argv, "+" NF_ADDR_SHORT "hm:nqr:s:t:vVw",
	    lo)) != -1) {
		if (c == NF_OPT_SHM || c == NF_OPT_UNSAFE) {
			nf_warn("%s: not available on Windows",
			    c == NF_OPT_SHM ? "--shm" : "--unsafe-pidfile");
			usage();
		}
		if (nf_eaddr_opt(&o.a, c, nf_optarg))
			continue;
		switch (c) {
		case 'm':
			if (!*nf_optarg)
				nf_die(NF_USAGE, "-m: empty mapping name");
			if (o.nmaps == MAXMAPS)
				nf_die(NF_USAGE, "-m: at most %d mappings",
				    MAXMAPS);
			o.maps[o.nmaps++] = nf_optarg;
			break;
		case 'n':
			o.dry = 1;
			break;
		case 'r':
			schedarg = nf_optarg;
			break;
		case 's':
			sigarg = nf_optarg;
			break;
		case 't':
			o.tmo = nf_edur("-t", nf_optarg);
			break;
		case 'w':
			o.wflag = 1;
			break;
		case NF_OPT_HOLD:
			o.hold_ms = nf_edur("--hold", nf_optarg);
			break;
		case NF_OPT_READY_TIMEOUT:
			o.ready_ms = nf_edur("--ready-timeout", nf_optarg);
			o.ready_given = 1;
			break;
		case NF_OPT_FORCE:
			o.force = 1;
			break;
		default:
			if (!nf_ecommon_opt(c, usage_text, opts_text, "nfrestart.exe"))
				usage();
			break;
		}
	}
	nf_ecmd_placed(argc, argv, o.a.dir != NULL);
	argc -= nf_optind;
	argv += nf_optind;
	if (argc)
		o.cmd = argv;

	/* Validate everything before acting on anything. */
	o.sig = nf_esig(sigarg, 1);	/* its events are NFShmXFrame's */
	checksig(o.sig, "-s");
	if (schedarg) {
		if (nf_parse_sched(schedarg, o.sig, &o.sc, &why) < 0)
			nf_die(NF_USAGE, "-r %s: %s", schedarg, why);
		for (int i = 0; i < o.sc.n; i++) {
			checksig(o.sc.step[i].sig, "-r");
			if (o.sc.step[i].sig == SIGUSR2)
				nf_die(NF_USAGE, "-r: reload does not stop a "
				    "server");
		}
		o.has_sched = 1;
	} else {
		o.sc.n = 1;
		o.sc.step[0].sig = o.sig;
		o.sc.step[0].ms = o.tmo >= 0 ? o.tmo : NF_WIN_WAIT_MS;
	}
	if (o.cmd && o.sig == SIGUSR2)
		nf_die(NF_USAGE, "-s reload does not stop the server: no "
		    "COMMAND with it");
	if (!o.cmd && o.wflag)
		nf_die(NF_USAGE, "-w needs a COMMAND");
	if (!o.cmd && o.nmaps)
		nf_die(NF_USAGE, "-m needs a COMMAND (the mappings are held "
		    "for the new process)");
	if (o.wflag && o.a.server)
		nf_die(NF_USAGE, "-w with -S/-I: the server writes its own "
		    "pid file");
	if (o.cmd && strchr(o.cmd[0], '"'))
		nf_die(NF_USAGE, "%s: a program name cannot hold a double "
		    "quote", o.cmd[0]);
	if (o.cmd && nf_winquote(o.cmdline, CMDMAX + 1, o.cmd) > CMDMAX)
		nf_die(NF_USAGE, "COMMAND: longer than %d characters", CMDMAX);
	nf_eaddr_finish(&o.a, 1);
}

/* -n: the rest of the plan, from the judged old server on. */
static _Noreturn void
dryrun(const struct wpf *w, DWORD pid, int deliver_only)
{
	const char *kk;
	char b[32];
	size_t l;

	if (deliver_only) {
		kk = evkind(o.sig);
		if (pid)
			nf_plan("signal", "set NFServer_%s_%lu, wait up to %s until "
			    "%lu takes it", kk, (unsigned long)pid,
			    nf_secs(o.sc.step[0].ms * 1000, b, sizeof(b)),
			    (unsigned long)pid);
		else
			nf_plan("signal", "nothing to stop");
		nf_exit(NF_OK);
	}
	for (int i = 0; i < o.nmaps; i++)
		nf_plan("map", "open %s, hold it until %s after the start",
		    o.maps[i], nf_secs(o.hold_ms * 1000, b, sizeof(b)));
	if (o.cmd) {
		/* In pieces: nf_out takes 4 KiB at a time. */
		nf_out("create\t");
		l = strlen(o.cmdline);
		for (size_t off = 0; off < l; off += 2048) {
			char piece[2049];

			nf_fmt(piece, sizeof(piece), "%s", o.cmdline + off);
			nf_out("%s", piece);
		}
		nf_out(" (suspended)\n");
	}
	for (int i = 0; pid && i < o.sc.n; i++) {
		kk = evkind(o.sc.step[i].sig);
		nf_secs(o.sc.step[i].ms * 1000, b, sizeof(b));
		if (!*kk)
			nf_plan("stop", "terminate %lu, wait %s for its exit",
			    (unsigned long)pid, b);
		else
			nf_plan("stop", "set NFServer_%s_%lu, wait %s for "
			    "NFServer_KillSuccess_%lu or its exit", kk,
			    (unsigned long)pid, b, (unsigned long)pid);
	}
	if (!pid)
		nf_plan("stop", "nothing to stop");
	if (w->pf.status == NF_PF_OK || w->pf.status == NF_PF_SELF)
		nf_plan("remove", "%s", o.a.pidfile);
	if (o.wflag)
		nf_plan("write", "the new pid to %s (through a temporary file "
		    "made before the stop)", o.a.pidfile);
	if (o.cmd) {
		if (o.wflag)
			nf_plan("resume", "the new process");
		else
			nf_plan("resume", "the new process; hold %s.lock until %s "
			    "names it (at most %s)", o.a.pidfile, o.a.pidfile,
			    nf_secs(o.ready_ms * 1000, b, sizeof(b)));
	}
	if (o.nmaps)
		nf_plan("hold", "the mappings until %s after the start",
		    nf_secs(o.hold_ms * 1000, b, sizeof(b)));
	nf_exit(NF_OK);
}

int
main(int argc, char **argv)
{
	char cmdline[CMDMAX + 1];	/* on the stack: 32 KiB of 1 MiB */
	struct nf_afile pidw;		/* and 8 KiB */
	PROCESS_INFORMATION pi = { 0 };
	struct wpf pf;
	HANDLE old;
	DWORD pid = 0;
	long long t0;
	int canterm = 1, deliver_only, rc;
	char line[32];
	size_t n;

	nf_init(argv[0]);
	nf_prog = "nfrestart.exe";
	nf_exit_hook = finish;
	_setmode(1, _O_BINARY);
	_setmode(2, _O_BINARY);
	o.cmdline = cmdline;
	S.pidw = &pidw;
	parse(argc, argv);
	deliver_only = !o.cmd && !o.has_sched && o.sig != NF_SIG_RESTART &&
	    o.sig != SIGKILL;
	t0 = nf_now_us();

	/* 1. The restart lock, before anything is read. */
	if (o.dry) {
		if (lockheld()) {
			nf_plan("lock", NF_BUSY_FMT, o.a.pidfile, o.a.pidfile);
			nf_exit(NF_BUSY);
		}
		nf_plan("lock", "take %s.lock", o.a.pidfile);
	} else {
		SetConsoleCtrlHandler(onctrl, TRUE);
		takelock();
	}

	/* 2. The old server. */
	old = oldserver(&pf, &pid, &canterm);
	if (old && !canterm)
		for (int i = 0; i < o.sc.n; i++)
			if (o.sc.step[i].sig == SIGKILL)
				nf_die(NF_SYS, "OpenProcess %lu: no right to "
				    "terminate it (KILL in the schedule); "
				    "nothing was touched", (unsigned long)pid);
	if (o.dry)
		dryrun(&pf, old ? pid : 0, deliver_only);

	/* -s stop / reload / QUIT without COMMAND: deliver, then exit. */
	if (deliver_only) {
		if (!old) {
			removestale(&pf, 0);
			nf_exit(NF_FALSE);
		}
		nf_exit(deliver(old, pid, evkind(o.sig),
		    o.tmo >= 0 ? o.tmo : NF_WIN_WAIT_MS));
	}

	/* 3. What must outlive the old server, and what could fail to start,
	 * made before it is touched. */
	if (o.cmd) {
		openmaps(old != NULL);
		if (o.wflag)
			tmpopen();
		create(&pi, old != NULL);
	}
	interrupted();

	/* 4. Signal and wait. */
	if (old)
		stopold(old, pid);
	else
		touch();
	/* 6. The stale PID file. */
	removestale(&pf, old ? pid : 0);
	nf_debug("old server handled in %s", nf_secs(nf_now_us() - t0, line,
	    sizeof(line)));
	if (!o.cmd)	/* stop only: 1 when there was nothing to stop */
		nf_exit(old ? NF_OK : NF_FALSE);

	/* 7. With -w, the new PID, in place before the process runs. */
	if (o.wflag && tmpcommit(pi.dwProcessId) < 0)
		nf_die(NF_DOWN, "%s: %s: %s: could not write the new pid: the "
		    "new server was not started: DOWN", o.a.pidfile,
		    S.pidw->call, nf_winerr(S.pidw->err));

	/* 8. Start it: out of the job's kill on close first, so that it
	 * outlives us (a kill between the two leaves it suspended); breakaway
	 * allowed, as outside a job, or at least no limit at all. */
	if (S.job && !joblimit(JOB_OBJECT_LIMIT_BREAKAWAY_OK) && !joblimit(0))
		nf_die(NF_DOWN, "SetInformationJobObject: %s: the new server %lu "
		    "would end with nfrestart.exe; it was not started: DOWN",
		    nf_winerr(GetLastError()), (unsigned long)pi.dwProcessId);
	if (ResumeThread(pi.hThread) == (DWORD)-1)
		nf_die(NF_DOWN, "ResumeThread %lu: %s: the new server was not "
		    "started: DOWN", (unsigned long)pi.dwProcessId,
		    nf_winerr(GetLastError()));
	S.pending = NULL;
	if (S.job)
		CloseHandle(S.job);
	CloseHandle(pi.hThread);
	nf_debug("started %lu after %s", (unsigned long)pi.dwProcessId,
	    nf_secs(nf_now_us() - t0, line, sizeof(line)));
	/* Straight out, not buffered: a closed stdout must not end the
	 * holds below. */
	n = nf_fmt(line, sizeof(line), "%lu\n", (unsigned long)pi.dwProcessId);
	rc = nf_writeall(1, line, n) < 0 ? NF_SYS : NF_OK;
	if (rc != NF_OK)
		nf_warn("stdout: write: the new pid %lu was not printed",
		    (unsigned long)pi.dwProcessId);

	/* 9. Until the new server is visible; the mappings for --hold. */
	if (holdon(pi.hProcess, pi.dwProcessId, old ? pid : 0) == NF_DOWN)
		rc = NF_DOWN;
	nf_exit(rc);
}
