/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A small formatter, so that no tool pulls in stdio's printf: the tools are
 * meant to be a few KiB. It knows what the tools print and nothing else.
 */
#include <errno.h>
#include <string.h>

#include "nf.h"

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
			puts_w(&o, strerror(saved), width, left);
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
