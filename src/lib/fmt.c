/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A small formatter, so that no tool pulls in stdio's printf: the tools are
 * meant to be a few KiB. It knows what the tools print and nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "nf.h"

#ifdef _WIN32
#include <windows.h>
#define errstr(e) strerror(e)	/* the C runtime's own numbers */
#else
/*
 * strerror's words for the errors these tools meet (musl's, so messages
 * read the same), each after its number as one byte and ended by a NUL
 * (the table by an empty one): musl's whole table
 * is 2 KiB of every static binary. Others print as "error N".
 */
static const char errtab[] =
	"\001" "Operation not permitted" "\0"
	"\002" "No such file or directory" "\0"
	"\003" "No such process" "\0"
	"\004" "Interrupted system call" "\0"
	"\005" "I/O error" "\0"
	"\006" "No such device or address" "\0"
	"\007" "Argument list too long" "\0"
	"\010" "Exec format error" "\0"
	"\011" "Bad file descriptor" "\0"
	"\012" "No child process" "\0"
	"\013" "Resource temporarily unavailable" "\0"
	"\014" "Out of memory" "\0"
	"\015" "Permission denied" "\0"
	"\016" "Bad address" "\0"
	"\020" "Resource busy" "\0"
	"\021" "File exists" "\0"
	"\022" "Cross-device link" "\0"
	"\023" "No such device" "\0"
	"\024" "Not a directory" "\0"
	"\025" "Is a directory" "\0"
	"\026" "Invalid argument" "\0"
	"\027" "Too many open files in system" "\0"
	"\030" "No file descriptors available" "\0"
	"\031" "Not a tty" "\0"
	"\032" "Text file busy" "\0"
	"\033" "File too large" "\0"
	"\034" "No space left on device" "\0"
	"\035" "Invalid seek" "\0"
	"\036" "Read-only file system" "\0"
	"\037" "Too many links" "\0"
	"\040" "Broken pipe" "\0"
	"\042" "Result not representable" "\0"
	"\043" "Resource deadlock would occur" "\0"
	"\044" "Filename too long" "\0"
	"\045" "No locks available" "\0"
	"\046" "Function not implemented" "\0"
	"\047" "Directory not empty" "\0"
	"\050" "Symbolic link loop" "\0"
	"\053" "Identifier removed" "\0"
	"\113" "Value too large for data type" "\0"
	"\130" "Not a socket" "\0"
	"\137" "Not supported" "\0"
	"\142" "Address in use" "\0"
	"\143" "Address not available" "\0"
	"\150" "Connection reset by peer" "\0"
	"\153" "Socket not connected" "\0"
	"\156" "Operation timed out" "\0"
	"\157" "Connection refused" "\0"
	"\172" "Quota exceeded" "\0";

static const char *
errstr(int e)
{
	static char buf[16];

	for (const char *p = errtab; *p; p += strlen(p) + 1)
		if ((unsigned char)*p++ == e)
			return p;
	nf_fmt(buf, sizeof(buf), "error %d", e);
	return buf;
}
#endif

struct out {
	char *p;
	size_t n, len;
};

static void
put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->p[o->len] = c;
	o->len++;
}

static void
puts_w(struct out *o, const char *s, int width, int left)
{
	size_t l = strlen(s);

	for (; !left && width > (int)l; width--)
		put(o, ' ');
	while (*s)
		put(o, *s++);
	for (; left && width > (int)l; width--)
		put(o, ' ');
}

size_t
nf_vfmt(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };
	int saved = errno;

	for (; *fmt; fmt++) {
		char num[32], *q;
		unsigned long long u;
		int lng = 0, zero = 0, left = 0, width = 0, neg = 0, base = 10;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-')
			left = 1, fmt++;
		if (*fmt == '0')
			zero = 1, fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng += (*fmt == 'z') ? 2 : 1, fmt++;
		switch (*fmt) {
		case '%':
			put(&o, '%');
			continue;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			continue;
		case 's': {
			const char *s = va_arg(ap, const char *);

			puts_w(&o, s ? s : "(null)", width, left);
			continue;
		}
		case 'm':
			puts_w(&o, errstr(saved), width, left);
			continue;
		case 'd': {
			long long v = lng >= 2 ? va_arg(ap, long long) :
			    lng ? va_arg(ap, long) : va_arg(ap, int);

			neg = v < 0;
			u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			break;
		}
		case 'x':
			base = 16;
			/* FALLTHROUGH */
		case 'u':
			u = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			break;
		default:
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
			continue;
		}
		q = num + sizeof(num);
		*--q = '\0';
		do {
			*--q = "0123456789abcdef"[u % base];
			u /= base;
		} while (u);
		if (zero) {
			while ((int)(num + sizeof(num) - 1 - q) < width - neg)
				*--q = '0';
		}
		if (neg)
			*--q = '-';
		puts_w(&o, q, width, left);
	}
	if (o.n)
		o.p[o.len < o.n ? o.len : o.n - 1] = '\0';
	errno = saved;
	return o.len;
}

size_t
nf_vfmtw(char *buf, size_t n, const char *fmt, va_list ap)
{
	size_t r = nf_vfmt(buf, n, fmt, ap);

	return r < n ? r : n - 1;
}

size_t
nf_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	size_t r;

	va_start(ap, fmt);
	r = nf_vfmt(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

const char *
nf_secs(long long us, char *buf, size_t n)
{
	if (us < 0)
		us = 0;
	nf_fmt(buf, n, "%lld.%03lld s", us / 1000000, us / 1000 % 1000);
	return buf;
}

/*
 * A Windows command line from an argument vector, quoted so that the new
 * process's C runtime (MSVCRT's rules) splits it back into the same vector:
 * nfrestart.exe's CreateProcess line. Portable, so it is checked (fuzzed)
 * on any host.
 */
size_t
nf_winquote(char *buf, size_t n, char **argv)
{
	size_t o = 0;

#define PUT(c) do { if (o + 1 < n) buf[o] = (c); o++; } while (0)
	/* The program name: quotes only, no escapes (a name cannot hold one). */
	PUT('"');
	for (const char *p = argv[0]; *p; p++)
		PUT(*p);
	PUT('"');
	for (int i = 1; argv[i]; i++) {
		const char *p = argv[i];

		PUT(' ');
		if (*p && !strpbrk(p, " \t\n\v\"")) {
			for (; *p; p++)
				PUT(*p);
			continue;
		}
		PUT('"');
		for (;; p++) {
			size_t bs = 0;

			while (*p == '\\')
				p++, bs++;
			if (!*p) {
				/* Before the closing quote: all doubled. */
				for (size_t k = 0; k < 2 * bs; k++)
					PUT('\\');
				break;
			}
			if (*p == '"') {
				for (size_t k = 0; k < 2 * bs + 1; k++)
					PUT('\\');
			} else {
				for (size_t k = 0; k < bs; k++)
					PUT('\\');
			}
			PUT(*p);
		}
		PUT('"');
	}
#undef PUT
	if (n)
		buf[o < n ? o : n - 1] = '\0';
	return o;
}

/*
 * Seconds since the epoch as a UTC date and time: year, month, day, hour,
 * minute, second in F. The civil date from the day number as in Howard
 * Hinnant's days_from_civil, inverted: libc's gmtime brings its time zone
 * code along (about 700 bytes of a static binary) for nothing here.
 */
void
nf_civil(long long secs, long long f[6])
{
	long long z = (secs >= 0 ? secs : secs - 86399) / 86400;
	long long r = secs - z * 86400, era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	f[2] = doy - (153 * mp + 2) / 5 + 1;
	f[1] = mp < 10 ? mp + 3 : mp - 9;
	f[0] = yoe + era * 400 + (f[1] <= 2);
	f[3] = r / 3600;
	f[4] = r / 60 % 60;
	f[5] = r % 60;
}

/* ISO 8601 UTC, with MS milliseconds unless MS is negative. */
void
nf_iso(char *buf, size_t n, long long secs, int ms)
{
	long long f[6];

	nf_civil(secs, f);
	nf_fmt(buf, n, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld%s", f[0], f[1],
	    f[2], f[3], f[4], f[5], ms < 0 ? "Z" : "");
	if (ms >= 0 && n) {
		size_t l = strlen(buf);

		nf_fmt(buf + l, n - l, ".%03dZ", ms);
	}
}

#ifndef _WIN32
/* Now, in UTC, to the millisecond: 2026-12-06T15:04:05.123Z. */
void
nf_utc(char *buf, size_t n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	nf_iso(buf, n, (long long)ts.tv_sec, (int)(ts.tv_nsec / 1000000));
}
#else
void
nf_utc(char *buf, size_t n)
{
	SYSTEMTIME t;

	GetSystemTime(&t);
	nf_fmt(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.wYear,
	    t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds);
}
#endif

const char *
nf_shword(const char *s, char *buf, size_t n)
{
	size_t o = 0;
	const char *p;

	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("_./:=@%+,-", *p)))
			break;
	if (*s && !*p)
		return s;
	if (n < 3)
		return s;
	buf[o++] = '\'';
	for (p = s; *p; p++) {
		if (o + 6 > n)		/* cut would be another word */
			return s;
		if (*p == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else
			buf[o++] = *p;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}
