/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart.exe: the Windows handoff over NFShmXFrame's named events.
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
"                     [--name NAME] [--force] [--] [COMMAND [ARG ...]]\n"
"       nfrestart.exe -h | -V\n";

/* A process created after its PID file was written is not the writer. File
 * times lag the clock a little, so allow this much (as the POSIX guard). */
#define SLACK_MS	50
#define MAXMAPS		16
#define CMDMAX		32767	/* CreateProcess's limit, in characters */

/* ntdll: the state of an event without consuming it. */
typedef struct {
	int type;
	LONG state;
} evbasic;
NTSYSAPI LONG NTAPI NtQueryEvent(HANDLE, int, PVOID, ULONG, PULONG);

enum { R_ANSWERED, R_EXITED, R_KILLED, R_TIMEOUT };
enum { RP_OK, RP_ABSENT, RP_MALFORMED, RP_SYS, RP_SELF };

struct pidfile {
	const char *path;
	DWORD pid;
	int status;
	const char *why;
	DWORD err;
	ULONGLONG mtime;		/* 100 ns since 1601, as FILETIME */
	DWORD vol, hi, lo;		/* which file it was */
};

static int dry, wflag, force;
static const char *maps[MAXMAPS];
static int nmaps;

static HANDLE pending;	/* the new process, still suspended */

static void
usage(void)
{
	nf_usage_die(usage_text);
}

/* nf_die, but a new process that was created suspended goes first: none
 * of its code has run, so nothing was started. */
static _Noreturn void
die(int code, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	nf_vfmt(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nf_warn("%s", buf);
	if (pending) {
		TerminateProcess(pending, 1);
		WaitForSingleObject(pending, 5000);
	}
	nf_exit(code);
}

static const char *
werr(DWORD e)
{
	static char buf[320];
	DWORD n;

	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, buf, 256, NULL);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '.'))
		n--;
	if (n)
		nf_fmt(buf + n, sizeof(buf) - n, " (error %lu)",
		    (unsigned long)e);
	else
		nf_fmt(buf, sizeof(buf), "error %lu", (unsigned long)e);
	return buf;
}

static ULONGLONG
ft64(FILETIME ft)
{
	return (ULONGLONG)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
}

static const char *
secs(long long us, char *buf, size_t n)
{
	nf_fmt(buf, n, "%lld.%03lld s", us / 1000000, us / 1000 % 1000);
	return buf;
}

/*
 * The PID file, by the rules every tool follows: a regular file (not a
 * directory, pipe, device or reparse point), at most 64 bytes, the contents
 * checked by the same parser as on POSIX. An empty file is read again 3
 * times, 5 ms apart (a writer may be between truncate and write).
 */
static void
readpid(const char *path, struct pidfile *pf)
{
	memset(pf, 0, sizeof(*pf));
	pf->path = path;
	for (int tries = 0;; tries++) {
		BY_HANDLE_FILE_INFORMATION fi;
		char buf[65];
		unsigned long pid;
		DWORD a, n = 0, t;
		HANDLE h;
		int r;

		a = GetFileAttributesA(path);
		if (a == INVALID_FILE_ATTRIBUTES) {
			DWORD e = GetLastError();

			if (e == ERROR_FILE_NOT_FOUND ||
			    e == ERROR_PATH_NOT_FOUND) {
				pf->status = RP_ABSENT;
				return;
			}
		} else if (a & FILE_ATTRIBUTE_DIRECTORY) {
			pf->status = RP_MALFORMED;
			pf->why = "is a directory";
			return;
		} else if (a & FILE_ATTRIBUTE_REPARSE_POINT) {
			pf->status = RP_MALFORMED;
			pf->why = "is a symbolic link";
			return;
		}
		h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ |
		    FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
		    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
		if (h == INVALID_HANDLE_VALUE) {
			pf->err = GetLastError();
			pf->status = pf->err == ERROR_FILE_NOT_FOUND ||
			    pf->err == ERROR_PATH_NOT_FOUND ? RP_ABSENT : RP_SYS;
			return;
		}
		t = GetFileType(h);
		if (t != FILE_TYPE_DISK) {
			CloseHandle(h);
			pf->status = RP_MALFORMED;
			pf->why = t == FILE_TYPE_PIPE ? "is a FIFO" :
			    "not a regular file";
			return;
		}
		if (!GetFileInformationByHandle(h, &fi) ||
		    !ReadFile(h, buf, sizeof(buf), &n, NULL)) {
			pf->err = GetLastError();
			CloseHandle(h);
			pf->status = RP_SYS;
			return;
		}
		CloseHandle(h);
		if (fi.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY |
		    FILE_ATTRIBUTE_REPARSE_POINT)) {
			pf->status = RP_MALFORMED;
			pf->why = "not a regular file";
			return;
		}
		pf->mtime = ft64(fi.ftLastWriteTime);
		pf->vol = fi.dwVolumeSerialNumber;
		pf->hi = fi.nFileIndexHigh;
		pf->lo = fi.nFileIndexLow;
		if (n > 64) {
			pf->status = RP_MALFORMED;
			pf->why = "longer than 64 bytes";
			return;
		}
		r = nf_parse_pidbuf(buf, n, 0xffffffffUL, &pid, &pf->why);
		if (r == 1 && tries < 3) {
			Sleep(5);
			continue;
		}
		if (r != 0) {
			pf->status = RP_MALFORMED;
			return;
		}
		pf->pid = (DWORD)pid;
		pf->status = pid == GetCurrentProcessId() ? RP_SELF : RP_OK;
		return;
	}
}

/*
 * Remove the PID file, only if it is still the file that was read: checked
 * and deleted through one handle, so nothing can replace it in between.
 * 1 removed, 0 it changed, -1 it is gone already; errors die.
 */
static int
removepid(const struct pidfile *pf)
{
	BY_HANDLE_FILE_INFORMATION fi;
	FILE_DISPOSITION_INFO di = { TRUE };
	HANDLE h;
	DWORD e;

	h = CreateFileA(pf->path, DELETE | FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
			return -1;
		die(NF_SYS, "%s: CreateFile: %s", pf->path, werr(e));
	}
	if (!GetFileInformationByHandle(h, &fi))
		die(NF_SYS, "%s: GetFileInformationByHandle: %s", pf->path,
		    werr(GetLastError()));
	if (fi.dwVolumeSerialNumber != pf->vol || fi.nFileIndexHigh != pf->hi ||
	    fi.nFileIndexLow != pf->lo || ft64(fi.ftLastWriteTime) != pf->mtime) {
		CloseHandle(h);
		return 0;
	}
	if (!SetFileInformationByHandle(h, FileDispositionInfo, &di,
	    sizeof(di)))
		die(NF_SYS, "%s: delete: %s", pf->path, werr(GetLastError()));
	CloseHandle(h);
	return 1;
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
		die(NF_USAGE, "%s: %s has no Windows equivalent (use "
		    "restart, stop, reload, QUIT or KILL)", what,
		    nf_signame(sig, b, sizeof(b)));
}

static int
signalled(HANDLE h)
{
	return WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
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
		die(NF_SYS, "CreateEvent %s: %s", name, werr(GetLastError()));
	if (existed)
		*existed = GetLastError() == ERROR_ALREADY_EXISTS;
	return h;
}

/*
 * The schedule: each step sets its event (created once, kept open until the
 * end) or terminates the process, then waits for the answer or the exit.
 * total_ms < 0: no overall bound.
 */
static int
runsched(HANDLE proc, DWORD pid, HANDLE succ, const struct nf_sched *sc,
    long long total_ms)
{
	HANDLE ev[4] = { 0 };
	static const char *kinds[4] = { "Kill", "Stop", "Reload", "Quit" };
	long long t0 = nf_now_us(), left;
	int res = R_TIMEOUT;
	char b[32];

	for (int i = 0; i < sc->n && res == R_TIMEOUT; i++) {
		const char *k = evkind(sc->step[i].sig);
		HANDLE hs[2] = { succ, proc };
		long long ms = sc->step[i].ms;
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
				die(NF_SYS, "TerminateProcess %lu: %s",
				    (unsigned long)pid, werr(GetLastError()));
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
				die(NF_SYS, "SetEvent NFServer_%s_%lu: %s", k,
				    (unsigned long)pid, werr(GetLastError()));
			nf_debug("%s: NFServer_%s_%lu set; waiting up to %lld ms",
			    nf_signame(sc->step[i].sig, b, sizeof(b)), k,
			    (unsigned long)pid, ms);
		}
		w = WaitForMultipleObjects(2, hs, FALSE, (DWORD)ms);
		if (w == WAIT_OBJECT_0)
			res = R_ANSWERED;
		else if (w == WAIT_OBJECT_0 + 1)
			res = R_EXITED;
		else if (w != WAIT_TIMEOUT)
			die(NF_SYS, "WaitForMultipleObjects: %s",
			    werr(GetLastError()));
	}
	/* Held until now, so that a late poller still finds them. */
	for (int j = 0; j < 4; j++)
		if (ev[j])
			CloseHandle(ev[j]);
	return res;
}

/*
 * -s stop|reload|QUIT without COMMAND: set the event and keep it until the
 * server has taken it (an auto-reset event goes back to unset when a waiter
 * consumes it), it exits, or the time is up.
 */
static int
deliver(HANDLE proc, DWORD pid, const char *kind, long long ms)
{
	long long t0 = nf_now_us();
	HANDLE ev = event(kind, pid, NULL);
	char b[32];

	if (!SetEvent(ev))
		die(NF_SYS, "SetEvent: %s", werr(GetLastError()));
	for (;;) {
		evbasic eb;
		long long el = (nf_now_us() - t0) / 1000;

		if (NtQueryEvent(ev, 0, &eb, sizeof(eb), NULL) < 0)
			die(NF_SYS, "NtQueryEvent: cannot tell whether %lu "
			    "took the event", (unsigned long)pid);
		if (!eb.state) {
			nf_debug("%lu took NFServer_%s_%lu after %s",
			    (unsigned long)pid, kind, (unsigned long)pid,
			    secs(nf_now_us() - t0, b, sizeof(b)));
			CloseHandle(ev);
			return NF_OK;
		}
		if (ms >= 0 && el >= ms) {
			nf_warn("%lu did not take NFServer_%s_%lu within %s",
			    (unsigned long)pid, kind, (unsigned long)pid,
			    secs(ms * 1000, b, sizeof(b)));
			return NF_TIMEOUT;
		}
		if (WaitForSingleObject(proc, 1) == WAIT_OBJECT_0) {
			nf_warn("%lu exited before it took NFServer_%s_%lu",
			    (unsigned long)pid, kind, (unsigned long)pid);
			return NF_FALSE;
		}
	}
}

/* -w: temp file beside it, write, flush, MoveFileEx over the old one. */
static int
writepid(const char *path, DWORD pid)
{
	char tmp[MAX_PATH * 2], buf[16];
	DWORD n, w;
	HANDLE h;

	if (nf_fmt(tmp, sizeof(tmp), "%s.%lu.tmp", path,
	    (unsigned long)GetCurrentProcessId()) >= sizeof(tmp)) {
		nf_warn("%s: name too long", path);
		return NF_USAGE;
	}
	n = (DWORD)nf_fmt(buf, sizeof(buf), "%lu\n", (unsigned long)pid);
	h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		nf_warn("%s: CreateFile: %s", tmp, werr(GetLastError()));
		return NF_SYS;
	}
	if (!WriteFile(h, buf, n, &w, NULL) || w != n ||
	    !FlushFileBuffers(h)) {
		nf_warn("%s: write: %s", tmp, werr(GetLastError()));
		CloseHandle(h);
		DeleteFileA(tmp);
		return NF_SYS;
	}
	CloseHandle(h);
	if (!MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING |
	    MOVEFILE_WRITE_THROUGH)) {
		nf_warn("%s: MoveFileEx: %s", path, werr(GetLastError()));
		DeleteFileA(tmp);
		return NF_SYS;
	}
	return NF_OK;
}

/* FILE.lock opened without sharing: one restart of a server at a time. */
static HANDLE
restartlock(const char *pidpath, long long ms)
{
	char path[MAX_PATH * 2];
	long long t0 = nf_now_us();
	HANDLE h;

	nf_fmt(path, sizeof(path), "%s.lock", pidpath);
	for (;;) {
		DWORD e;

		h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL,
		    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
		if (h != INVALID_HANDLE_VALUE)
			return h;
		e = GetLastError();
		if (e != ERROR_SHARING_VIOLATION && e != ERROR_LOCK_VIOLATION)
			die(NF_SYS, "%s: CreateFile: %s", path, werr(e));
		if ((nf_now_us() - t0) / 1000 >= ms)
			die(NF_BUSY, "%s: a restart of this server is in "
			    "progress (%s is held)", pidpath, path);
		Sleep(10);
	}
}

static void
plan(const char *what)
{
	nf_out("%s\n", what);
}

int
main(int argc, char **argv)
{
	enum { OPT_HOLD = NF_OPT_HOLD, OPT_FORCE = NF_OPT_FORCE };
	static const struct option lo[] = {
		NF_ADDR_LONG, NF_COMMON_LONG,
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retry", required_argument, NULL, 'r' },
		{ "mapping", required_argument, NULL, 'm' },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "write-pidfile", no_argument, NULL, 'w' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 }
	};
	char cmdline[CMDMAX + 1];	/* on the stack: 32 KiB of 1 MiB */
	struct nf_addr a = { 0 };
	struct nf_sched sc = { 0 };
	struct pidfile pf;
	const char *sigarg = NULL, *schedarg = NULL, *why;
	long long to_ms = -1, hold_ms = 10000, t0;
	HANDLE proc = NULL, lock = NULL, mh[MAXMAPS] = { 0 };
	PROCESS_INFORMATION pi = { 0 };
	DWORD pid = 0;
	int c, sig = NF_SIG_RESTART, old = 0, canterm = 1, r;
	char b1[32], b2[64];

	nf_init(argv[0]);
	nf_prog = "nfrestart.exe";
	_setmode(1, _O_BINARY);
	_setmode(2, _O_BINARY);
	while ((c = getopt_long(argc, argv, "+" NF_ADDR_SHORT "hm:nqr:s:t:vVw",
	    lo, NULL)) != -1) {
		if (c == NF_OPT_SHM || c == NF_OPT_UNSAFE) {
			nf_warn("%s: not available on Windows",
			    c == NF_OPT_SHM ? "--shm" : "--unsafe-pidfile");
			usage();
		}
		if (nf_addr_opt(&a, c, optarg))
			continue;
		switch (c) {
		case 'm':
			if (!*optarg)
				die(NF_USAGE, "-m: empty mapping name");
			if (nmaps == MAXMAPS)
				die(NF_USAGE, "-m: at most %d mappings",
				    MAXMAPS);
			maps[nmaps++] = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		case 'r':
			schedarg = optarg;
			break;
		case 's':
			sigarg = optarg;
			break;
		case 't':
			if (nf_parse_dur(optarg, &to_ms, &why) < 0)
				die(NF_USAGE, "-t %s: %s", optarg, why);
			break;
		case 'w':
			wflag = 1;
			break;
		case OPT_HOLD:
			if (nf_parse_dur(optarg, &hold_ms, &why) < 0)
				die(NF_USAGE, "--hold %s: %s", optarg, why);
			break;
		case OPT_FORCE:
			force = 1;
			break;
		default:
			if (!nf_common_opt(c, usage_text, "nfrestart.exe"))
				usage();
			break;
		}
	}
	argc -= optind;
	argv += optind;

	/* Validate everything before acting on anything. */
	if (sigarg && nf_parse_sig(sigarg, &sig, &why) < 0)
		die(NF_USAGE, "-s %s: %s", sigarg, why);
	checksig(sig, "-s");
	if (schedarg) {
		if (nf_parse_sched(schedarg, sig, &sc, &why) < 0)
			die(NF_USAGE, "-r %s: %s", schedarg, why);
		for (int i = 0; i < sc.n; i++) {
			checksig(sc.step[i].sig, "-r");
			if (sc.step[i].sig == SIGUSR2)
				die(NF_USAGE, "-r: reload does not stop a "
				    "server");
		}
	} else {
		sc.n = 1;
		sc.step[0].sig = sig;
		sc.step[0].ms = to_ms >= 0 ? to_ms : 15000;
	}
	if (argc && sig == SIGUSR2)
		die(NF_USAGE, "-s reload does not stop the server: no "
		    "COMMAND with it");
	if (!argc && wflag)
		die(NF_USAGE, "-w needs a COMMAND");
	if (!argc && nmaps)
		die(NF_USAGE, "-m needs a COMMAND (the mappings are held "
		    "for the new process)");
	if (wflag && a.server)
		die(NF_USAGE, "-w with -S/-I: the server writes its own "
		    "pid file");
	if (argc && strchr(argv[0], '"'))
		die(NF_USAGE, "%s: a program name cannot hold a double "
		    "quote", argv[0]);
	if (argc && nf_winquote(cmdline, sizeof(cmdline), argv) > CMDMAX)
		die(NF_USAGE, "COMMAND: longer than %d characters", CMDMAX);
	nf_addr_finish(&a, 1);

	readpid(a.pidfile, &pf);
	switch (pf.status) {
	case RP_MALFORMED:
		die(NF_USAGE, "%s: malformed pid file: %s", pf.path, pf.why);
	case RP_SYS:
		die(NF_SYS, "%s: open: %s", pf.path, werr(pf.err));
	case RP_ABSENT:
		nf_info("%s: no pid file: nothing to stop", pf.path);
		break;
	case RP_SELF:
		nf_info("%s: stale: names our own pid %lu", pf.path,
		    (unsigned long)pf.pid);
		break;
	default:
		pid = pf.pid;
	}

	/* Is it running, and is it the process that wrote the file? */
	if (pid) {
		DWORD acc = SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION |
		    PROCESS_TERMINATE;
		FILETIME ct, et, kt, ut;
		long long late;
		const char *img;

		proc = OpenProcess(acc, FALSE, pid);
		if (!proc && GetLastError() == ERROR_ACCESS_DENIED) {
			proc = OpenProcess(acc & ~(DWORD)PROCESS_TERMINATE,
			    FALSE, pid);
			canterm = 0;
		}
		if (!proc) {
			DWORD e = GetLastError();

			if (e != ERROR_INVALID_PARAMETER)
				die(NF_SYS, "OpenProcess %lu: %s",
				    (unsigned long)pid, werr(e));
			nf_info("%s: %lu not running: nothing to stop",
			    pf.path, (unsigned long)pid);
		} else if (signalled(proc)) {
			nf_info("%s: %lu has exited: nothing to stop", pf.path,
			    (unsigned long)pid);
		} else if (!GetProcessTimes(proc, &ct, &et, &kt, &ut) ||
		    !(img = imagename(proc))) {
			die(NF_SYS, "%lu: cannot read its start time or "
			    "image: %s", (unsigned long)pid,
			    werr(GetLastError()));
		} else {
			late = ((long long)ft64(ct) - (long long)pf.mtime) /
			    10000;
			nf_debug("%lu: %s, created %lld ms %s the pid file",
			    (unsigned long)pid, img, late < 0 ? -late : late,
			    late < 0 ? "before" : "after");
			if (late > SLACK_MS || (a.name &&
			    !samename(img, a.name))) {
				int like = (argc && samename(img, argv[0])) ||
				    (a.name && samename(img, a.name));

				why = late > SLACK_MS ? "pid reused: it "
				    "started after the pid file was written" :
				    "its name differs from --name";
				if (like && !force)
					die(NF_REFUSED, "%s: %lu (%s) fails "
					    "the guard (%s) but looks like the "
					    "server; not touched (--force to "
					    "treat it as the old server)",
					    pf.path, (unsigned long)pid,
					    base(img), why);
				if (!like) {
					nf_info("%s: stale: %lu (%s) %s; left "
					    "alone", pf.path,
					    (unsigned long)pid, base(img),
					    why);
				} else {
					nf_info("%s: %lu fails the guard (%s); "
					    "--force: treated as the old "
					    "server", pf.path,
					    (unsigned long)pid, why);
					old = 1;
				}
			} else
				old = 1;
		}
		if (!old && proc) {
			CloseHandle(proc);
			proc = NULL;
		}
	}
	if (old && !canterm)
		for (int i = 0; i < sc.n; i++)
			if (sc.step[i].sig == SIGKILL)
				die(NF_SYS, "OpenProcess %lu: no right to "
				    "terminate it (KILL in the schedule)",
				    (unsigned long)pid);

	if (dry) {
		char line[512];

		for (int i = 0; i < nmaps; i++) {
			nf_fmt(line, sizeof(line), "open mapping %s", maps[i]);
			plan(line);
		}
		if (argc) {
			/* nf_out takes 511 bytes at a time. */
			nf_out("create, suspended: ");
			for (size_t o = 0, l = strlen(cmdline); o < l;
			    o += 400) {
				nf_fmt(line, 401, "%s", cmdline + o);
				nf_out("%s", line);
			}
			nf_out("\n");
		}
		for (int i = 0; old && i < sc.n; i++) {
			const char *kk = evkind(sc.step[i].sig);

			if (!*kk)
				nf_fmt(line, sizeof(line), "terminate %lu, wait "
				    "%lld ms for its exit", (unsigned long)pid,
				    sc.step[i].ms);
			else if (!argc && !schedarg && strcmp(kk, "Kill"))
				nf_fmt(line, sizeof(line), "set NFServer_%s_%lu, "
				    "wait up to %lld ms until %lu takes it", kk,
				    (unsigned long)pid, sc.step[i].ms,
				    (unsigned long)pid);
			else
				nf_fmt(line, sizeof(line), "set NFServer_%s_%lu, "
				    "wait %lld ms for NFServer_KillSuccess_%lu or "
				    "its exit", kk, (unsigned long)pid,
				    sc.step[i].ms, (unsigned long)pid);
			plan(line);
		}
		if (old && (argc || schedarg || sig == NF_SIG_RESTART ||
		    sig == SIGKILL)) {
			nf_fmt(line, sizeof(line), "remove %s", pf.path);
			plan(line);
		}
		if (!old && !argc)
			plan("nothing to stop");
		if (wflag) {
			nf_fmt(line, sizeof(line), "write its pid to %s",
			    a.pidfile);
			plan(line);
		}
		if (argc)
			plan("resume it");
		if (nmaps) {
			nf_fmt(line, sizeof(line), "hold the mappings for %lld "
			    "ms", hold_ms);
			plan(line);
		}
		nf_exit(NF_OK);
	}

	/* -s stop / reload / QUIT without COMMAND: deliver, then exit. */
	if (!argc && !schedarg && sig != NF_SIG_RESTART && sig != SIGKILL) {
		if (!old)
			nf_exit(NF_FALSE);
		nf_exit(deliver(proc, pid, evkind(sig),
		    to_ms >= 0 ? to_ms : 15000));
	}

	lock = restartlock(a.pidfile, to_ms >= 0 ? to_ms : 10000);
	/* Re-read under the lock: another restart may have finished. */
	if (old) {
		struct pidfile again;

		readpid(a.pidfile, &again);
		if (again.status != RP_OK || again.pid != pf.pid ||
		    again.mtime != pf.mtime)
			die(NF_BUSY, "%s: changed while waiting for the "
			    "restart lock; run again", a.pidfile);
	}

	/* The mappings are opened before the signal: held from here on. */
	for (int i = 0; i < nmaps; i++) {
		mh[i] = OpenFileMappingA(FILE_MAP_READ, FALSE, maps[i]);
		if (mh[i])
			continue;
		if (!old) {
			nf_info("-m %s: no such mapping (no old server to "
			    "hold it for)", maps[i]);
			continue;
		}
		if (!force)
			die(NF_REFUSED, "-m %s: no such mapping: %s; the "
			    "old server does not have it (check the name; "
			    "--force to go on)", maps[i], werr(GetLastError()));
		nf_warn("-m %s: no such mapping (--force: going on)", maps[i]);
	}

	/*
	 * The new process is created suspended before the old server is
	 * signalled: a COMMAND that cannot be started leaves the old server
	 * alone, and after the answer only ResumeThread is left to do. Until
	 * then none of its code has run; die() terminates it.
	 */
	if (argc) {
		STARTUPINFOA si;
		DWORD e;

		memset(&si, 0, sizeof(si));
		si.cb = sizeof(si);
		if (!CreateProcessA(NULL, cmdline, NULL, NULL, TRUE,
		    CREATE_NEW_PROCESS_GROUP | CREATE_SUSPENDED, NULL, NULL,
		    &si, &pi)) {
			e = GetLastError();
			die(e == ERROR_FILE_NOT_FOUND ||
			    e == ERROR_PATH_NOT_FOUND || e == ERROR_INVALID_NAME ?
			    NF_NOTFOUND : NF_NOEXEC, "%s: CreateProcess: %s%s",
			    argv[0], werr(e), old ? "; the old server was not "
			    "touched" : "");
		}
		pending = pi.hProcess;
	}

	t0 = nf_now_us();
	if (old) {
		int existed;
		HANDLE succ = event("KillSuccess", pid, &existed);

		/* A stale answer left set by someone else is not ours. */
		if (existed && signalled(succ))
			nf_debug("NFServer_KillSuccess_%lu was already set: "
			    "cleared", (unsigned long)pid);
		r = runsched(proc, pid, succ, &sc, schedarg ? to_ms : -1);
		CloseHandle(succ);
		secs(nf_now_us() - t0, b1, sizeof(b1));
		switch (r) {
		case R_ANSWERED:
			nf_debug("old %lu answered after %s", (unsigned long)pid,
			    b1);
			break;
		case R_EXITED:
			nf_warn("old %lu exited without answering after %s; "
			    "going on", (unsigned long)pid, b1);
			break;
		case R_KILLED:
			nf_warn("old %lu terminated after %s; going on",
			    (unsigned long)pid, b1);
			break;
		default:
			die(NF_TIMEOUT, "old %lu did not answer or exit within "
			    "%s; it is still running, nothing started",
			    (unsigned long)pid, b1);
		}
		/* Remove the stale PID file: only the one that was read. */
		switch (removepid(&pf)) {
		case 1:
			nf_debug("%s: removed", pf.path);
			break;
		case 0:
			die(NF_BUSY, "%s: rewritten while the old server "
			    "stopped; not removed, nothing started", pf.path);
		default:
			break;
		}
	}
	if (!argc)
		nf_exit(old ? NF_OK : NF_FALSE);

	/* Written before it runs: the file names it from its first
	 * instruction on. */
	r = wflag ? writepid(a.pidfile, pi.dwProcessId) : NF_OK;
	if (ResumeThread(pi.hThread) == (DWORD)-1)
		die(NF_SYS, "ResumeThread %lu: %s", (unsigned long)pi.dwProcessId,
		    werr(GetLastError()));
	pending = NULL;
	CloseHandle(pi.hThread);
	nf_debug("started %lu after %s", (unsigned long)pi.dwProcessId,
	    secs(nf_now_us() - t0, b2, sizeof(b2)));
	nf_out("%lu\n", (unsigned long)pi.dwProcessId);
	nf_outflush();
	if (r != NF_OK)
		nf_exit(r);
	if (lock)
		CloseHandle(lock);
	if (!nmaps)
		nf_exit(NF_OK);
	/* Held even if the new process dies: a crashing new build must not
	 * take the data with it. */
	t0 = nf_now_us();
	if (WaitForSingleObject(pi.hProcess, (DWORD)hold_ms) == WAIT_OBJECT_0) {
		long long left;
		DWORD code = 0;

		GetExitCodeProcess(pi.hProcess, &code);
		nf_warn("new %lu exited with code %lu: DOWN; the mappings are "
		    "held for the rest of --hold", (unsigned long)pi.dwProcessId,
		    (unsigned long)code);
		left = hold_ms - (nf_now_us() - t0) / 1000;
		if (left > 0)
			Sleep((DWORD)left);
		nf_exit(NF_DOWN);
	}
	nf_debug("mappings released after %s",
	    secs(nf_now_us() - t0, b2, sizeof(b2)));
	nf_exit(NF_OK);
}
