/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Diagnostics go to stderr as `tool: what: why`; data goes to stdout through
 * a small buffer that is checked when flushed, so a full disk or a closed
 * pipe is an error, not silence.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nf.h"
#include "opts.h"
#ifdef _WIN32
#include <windows.h>	/* nfrestart.exe: the clock and sleep below */
#endif

const char *nf_prog = "nf";
int nf_quiet;
int nf_verbose;

static long long t0;
static char obuf[4096];
static size_t olen;

int
nf_writeall(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#ifdef _WIN32
long long
nf_now_us(void)
{
	static LARGE_INTEGER f;
	LARGE_INTEGER c;

	if (!f.QuadPart)
		QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&c);
	return c.QuadPart / f.QuadPart * 1000000 +
	    c.QuadPart % f.QuadPart * 1000000 / f.QuadPart;
}

void
nf_sleep_ms(long long ms)
{
	Sleep((DWORD)ms);
}

const char *
nf_winerr(unsigned long e)
{
	static char buf[320];
	DWORD n;

	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)e, 0, buf, 256, NULL);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '.'))
		n--;
	if (n)
		nf_fmt(buf + n, sizeof(buf) - n, " (error %lu)", e);
	else
		nf_fmt(buf, sizeof(buf), "error %lu", e);
	return buf;
}
#else
long long
nf_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
nf_sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
#endif

void
nf_init(const char *argv0)
{
	const char *s = strrchr(argv0, '/');

	nf_prog = s ? s + 1 : argv0;
	t0 = nf_now_us();
#ifndef _WIN32
	/*
	 * Started with 0, 1 or 2 closed (cron, `>&-`): put /dev/null there
	 * before anything is opened, or a PID file, a lock or a pipe would
	 * land on a standard descriptor, and a server printing to its stdout
	 * would write into its own locked PID file.
	 */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(NF_SYS);
#endif
}

static void
vmsg(int ts, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n = 0, fl = strlen(fmt);
	int e = errno;

	if (ts) {
		/* The wall-clock time (UTC), which still means something in
		 * a log a day later, and the time since we started, which
		 * times the steps. */
		long long d = nf_now_us() - t0;
		char when[32];

		nf_utc(when, sizeof(when));
		n = nf_fmt(buf, sizeof(buf), "%s: [%s +%lld.%06lld] ", nf_prog,
		    when, d / 1000000, d % 1000000);
	} else
		n = nf_fmt(buf, sizeof(buf), "%s: ", nf_prog);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	errno = e;
	n += nf_vfmt(buf + n, sizeof(buf) - n, fmt, ap);
	if (n >= sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	/* A format ending in ':' appends strerror(errno), as in sbase. */
	if (fl && fmt[fl - 1] == ':') {
		errno = e;
		n += nf_fmt(buf + n, sizeof(buf) - n, " %m");
		if (n >= sizeof(buf) - 2)
			n = sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	nf_eoutflush();
	nf_writeall(2, buf, n);
	errno = e;
}

/* vmsg(TS, FMT, ...) with the caller's own arguments. */
#define VMSG(ts, fmt) do {		\
	va_list ap;			\
					\
	va_start(ap, fmt);		\
	vmsg(ts, fmt, ap);		\
	va_end(ap);			\
} while (0)

void
nf_warn(const char *fmt, ...)
{
	VMSG(nf_verbose, fmt);
}

void
nf_info(const char *fmt, ...)
{
	if (!nf_quiet)
		VMSG(nf_verbose, fmt);
}

void
nf_debug(const char *fmt, ...)
{
	if (nf_verbose)
		VMSG(1, fmt);
}

_Noreturn void
nf_die(int code, const char *fmt, ...)
{
	VMSG(nf_verbose, fmt);
	nf_exit(code);
}

_Noreturn void
nf_usage_die(const char *usage)
{
	char buf[2048];
	size_t n;

	/* What was wrong first, when the option parser knows it. */
	if (nf_opterr[0])
		nf_warn("%s; see -h", nf_opterr);
	n = nf_fmt(buf, sizeof(buf), "%s", usage);

	nf_writeall(2, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
	_exit(NF_USAGE);
}

static void
vout(const char *fmt, va_list ap)
{
	char buf[4096];
	size_t n = nf_vfmtw(buf, sizeof(buf), fmt, ap);

	if (olen + n > sizeof(obuf))
		nf_eoutflush();
	memcpy(obuf + olen, buf, n);
	olen += n;
}

void
nf_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(fmt, ap);
	va_end(ap);
}

void
nf_plan(const char *step, const char *fmt, ...)
{
	va_list ap;

	nf_out("%s\t", step);
	va_start(ap, fmt);
	vout(fmt, ap);
	va_end(ap);
	nf_out("\n");
}

void
nf_eoutflush(void)
{
	size_t n = olen;

	if (!n)
		return;
	olen = 0;
	if (nf_writeall(1, obuf, n) < 0) {
		char buf[256];
		size_t l = nf_fmt(buf, sizeof(buf), "%s: stdout: write: %m\n",
		    nf_prog);

		nf_writeall(2, buf, l);
		_exit(NF_SYS);
	}
}

void
nf_test_pause(const char *step)
{
	const char *e = getenv("NF_TEST_PAUSE"), *why;
	unsigned long long ms;
	size_t l = strlen(step);

	if (!e || strncmp(e, step, l) || e[l] != ':' ||
	    nf_parse_ulong(e + l + 1, 0, 600000, &ms, &why) < 0)
		return;
	nf_debug("test pause after %s: %llu ms", step, ms);
	nf_sleep_ms((long long)ms);
}

int
nf_exec_code(int e)
{
#ifdef _WIN32
	return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ||
	    e == ERROR_INVALID_NAME ? NF_NOTFOUND : NF_NOEXEC;
#else
	return e == ENOENT || e == ENOTDIR ? NF_NOTFOUND : NF_NOEXEC;
#endif
}

void (*nf_exit_hook)(int);

_Noreturn void
nf_exit(int code)
{
	nf_eoutflush();
	if (nf_exit_hook)
		nf_exit_hook(code);
	_exit(code);
}

int
nf_ecommon_opt(int c, const char *usage, const char *opts,
    const char *tool)
{
	switch (c) {
	case 'h':
		nf_out("%s\noptions:\n%s", usage, opts);
		nf_exit(NF_OK);
	case 'q':
		nf_quiet = 1;
		return 1;
	case 'v':
		nf_verbose = 1;
		return 1;
	case 'V':
		nf_out("%s " NF_VERSION "\n", tool);
		nf_exit(NF_OK);
	}
	return 0;
}
