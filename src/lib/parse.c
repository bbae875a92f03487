/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Parsers for everything a user or a file hands us. Each checks its range and
 * says why it refused; none of them ever yields 0 or -1 for bad input. This
 * file is portable: nfrestart.exe uses the same code.
 */
#include <string.h>

#include "nf.h"

static int
isws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

int
nf_parse_ulong(const char *s, unsigned long long lo, unsigned long long hi,
    unsigned long long *out, const char **why)
{
	unsigned long long v = 0;

	if (!*s) {
		*why = "empty number";
		return -1;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9') {
			*why = "not a decimal number";
			return -1;
		}
		unsigned d = (unsigned)(*s - '0');

		if (d > hi || v > (hi - d) / 10) {
			*why = "out of range";
			return -1;
		}
		v = v * 10 + d;
	}
	if (v < lo) {
		*why = "out of range";
		return -1;
	}
	*out = v;
	return 0;
}

int
nf_parse_pidbuf(const char *buf, size_t len, unsigned long pidmax,
    unsigned long *pid, const char **why)
{
	size_t i = 0, j = len;
	unsigned long long v = 0;

	while (i < j && isws(buf[i]))
		i++;
	while (j > i && isws(buf[j - 1]))
		j--;
	if (i == j) {
		*why = "empty";
		return 1;
	}
	for (size_t k = i; k < j; k++) {
		char c = buf[k];

		if (c == '\0') {
			*why = "contains a NUL byte";
			return -1;
		}
		if (isws(c)) {
			*why = "more than one field";
			return -1;
		}
		if (c < '0' || c > '9') {
			*why = "not a decimal number";
			return -1;
		}
		if (v > pidmax) {
			*why = "pid out of range";
			return -1;
		}
		v = v * 10 + (unsigned)(c - '0');
	}
	if (v < 2 || v > pidmax) {
		*why = v < 2 ? "pid below 2" : "pid out of range";
		return -1;
	}
	*pid = (unsigned long)v;
	return 0;
}

int
nf_parse_dur(const char *s, long long *ms, const char **why)
{
	unsigned long long ip = 0, frac = 0, scale = 1000, div = 1;
	const char *p = s;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		/* Only against overflow: the range is checked below, the
		 * same whatever the unit (2147483647ms as 2147483.647s). */
		if (ip > 2147483647ULL) {
			*why = "duration too long";
			return -1;
		}
		ip = ip * 10 + (unsigned)(*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (div < 1000000000ULL) {
				frac = frac * 10 + (unsigned)(*p - '0');
				div *= 10;
			}
		}
	}
	if (!digits) {
		*why = "not a duration (e.g. 10, 1.5s, 250ms, 2m)";
		return -1;
	}
	if (!strcmp(p, "ms"))
		scale = 1;
	else if (!strcmp(p, "s") || !*p)
		scale = 1000;
	else if (!strcmp(p, "m"))
		scale = 60000;
	else if (!strcmp(p, "h"))
		scale = 3600000;
	else {
		*why = "unknown unit (use ms, s, m or h)";
		return -1;
	}
	if (ip > 2147483647ULL / scale) {
		*why = "duration too long";
		return -1;
	}
	*ms = (long long)(ip * scale + frac * scale / div);
	if (*ms > 2147483647LL) {
		*why = "duration too long";
		return -1;
	}
	return 0;
}

int
nf_parse_busid(const char *s, uint32_t *objkey, const char **why)
{
	static const unsigned long long max[4] = { 15, 4095, 255, 255 };
	static const int shift[4] = { 28, 16, 8, 0 };
	uint32_t k = 0;
	const char *p = s;

	for (int i = 0; i < 4; i++) {
		char part[16];
		size_t n = strcspn(p, ".");
		unsigned long long v;

		if (n == 0 || n >= sizeof(part)) {
			*why = "not a bus ID w.z.t.i";
			return -1;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		if (nf_parse_ulong(part, 0, ~0ULL >> 1, &v, why) < 0) {
			*why = "not a bus ID w.z.t.i (four decimal numbers)";
			return -1;
		}
		if (v > max[i]) {
			*why = i == 0 ? "world out of range (0..15)" :
			    i == 1 ? "zone out of range (0..4095)" :
			    i == 2 ? "server type out of range (0..255)" :
			    "index out of range (0..255)";
			return -1;
		}
		k |= (uint32_t)v << shift[i];
		p += n;
		if (i < 3) {
			if (*p != '.') {
				*why = "not a bus ID w.z.t.i (four parts)";
				return -1;
			}
			p++;
		}
	}
	if (*p) {
		*why = "not a bus ID w.z.t.i (four parts)";
		return -1;
	}
	if (k == 0) {	/* key 0 is IPC_PRIVATE: no key finds it */
		*why = "0.0.0.0 names no segment (its key would be 0, "
		    "IPC_PRIVATE)";
		return -1;
	}
	*objkey = k;
	return 0;
}

uint32_t
nf_buskey(uint32_t k)
{
	return (k >> 24) | ((k >> 8) & 0xff00) | ((k << 8) & 0xff0000) |
	    (k << 24);
}

int
nf_parse_key(const char *s, uint32_t *key, const char **why)
{
	unsigned long long v = 0;

	if ((s[0] == '0') && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;

		if (!*p || strlen(p) > 8) {
			*why = "not a key (0x and 1 to 8 hex digits)";
			return -1;
		}
		if (*nf_scan_base(p, 16, &v)) {
			*why = "not a key (bad hex digit)";
			return -1;
		}
	} else if (nf_parse_ulong(s, 0, 0xffffffffULL, &v, why) < 0) {
		uint32_t k;

		/* 1.11.1.1 where a key goes: the operator means a server. */
		*why = nf_parse_busid(s, &k, why) == 0 ? "a bus ID, not a key "
		    "(use -S SERVER -I ID, or nfshm key ID for its keys)" :
		    "not a key (0x... hex, or decimal up to 4294967295)";
		return -1;
	}
	if (v == 0) {
		*why = "key 0 is IPC_PRIVATE, not a key";
		return -1;
	}
	*key = (uint32_t)v;
	return 0;
}

int
nf_check_server(const char *s, const char **why)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strchr(s, '/') ||
	    strchr(s, '\\')) {
		*why = "bad server name (empty, or contains a slash)";
		return -1;
	}
	if (strlen(s) > 200) {
		*why = "server name too long";
		return -1;
	}
	return 0;
}

const char *
nf_scan_base(const char *s, unsigned base, unsigned long long *v)
{
	*v = 0;
	for (;; s++) {
		unsigned c = (unsigned char)*s, d = c - '0';

		if (d > 9)
			d = (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ?
			    (c | 0x20) - 'a' + 10 : 99;
		if (d >= base)
			return s;
		*v = *v * base + d;
	}
}

const char *
nf_scan_ull(const char *s, unsigned long long *v)
{
	return nf_scan_base(s, 10, v);
}

long long
nf_edur(const char *opt, const char *arg)
{
	const char *why;
	long long ms;

	if (nf_parse_dur(arg, &ms, &why) < 0)
		nf_die(NF_USAGE, "%s %s: %s", opt, arg, why);
	return ms;
}
