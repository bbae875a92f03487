/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Addressing: SysV keys (nf_parse_key), NFShmXFrame bus IDs (nf_parse_busid,
 * nf_buskey) and server names (nf_check_server), every input through all
 * three. Besides not crashing, each agrees with a reference reading of its
 * syntax (so nothing is accepted with trailing garbage, a sign, spaces or a
 * value out of range), and what is accepted, written back, reads the same.
 */
#include <stdint.h>
#include <string.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* 0x and 1..8 hex digits, or decimal digits up to 2^32-1; never 0. */
static int
ref_key(const char *s, uint32_t *key)
{
	unsigned long long v = 0;
	size_t l = strlen(s);

	if (l > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (l > 10)
			return -1;
		for (size_t i = 2; i < l; i++) {
			if (hexval(s[i]) < 0)
				return -1;
			v = v * 16 + (unsigned)hexval(s[i]);
		}
	} else {
		if (!l)
			return -1;
		for (size_t i = 0; i < l; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 0xffffffffULL)
				return -1;
		}
	}
	if (!v)
		return -1;
	*key = (uint32_t)v;
	return 0;
}

/* Four dot-separated decimal numbers (each at most 15 characters, as the
 * parser's buffer), 0..15, 0..4095, 0..255, 0..255. */
static int
ref_busid(const char *s, uint32_t *key)
{
	static const unsigned long long max[4] = { 15, 4095, 255, 255 };
	unsigned long long v[4] = { 0 };
	int part = 0;
	size_t len = 0;

	for (;; s++) {
		if (*s == '.' || !*s) {
			if (!len)
				return -1;
			if (!*s)
				break;
			if (++part > 3)
				return -1;
			len = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++len > 15)
			return -1;
		v[part] = v[part] * 10 + (unsigned)(*s - '0');
		if (v[part] > max[part])
			return -1;
	}
	if (part != 3)
		return -1;
	*key = (uint32_t)(v[0] << 28 | v[1] << 16 | v[2] << 8 | v[3]);
	return *key ? 0 : -1;	/* key 0 is IPC_PRIVATE: refused */
}

static int
ref_server(const char *s)
{
	size_t l = strlen(s);

	if (!l || l > 200 || !strcmp(s, ".") || !strcmp(s, ".."))
		return -1;
	for (size_t i = 0; i < l; i++)
		if (s[i] == '/' || s[i] == '\\')
			return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fz_cstr(d, n), buf[64];
	const char *why;
	uint32_t k = 0, rk = 0, back = 0;
	int r;

	why = NULL;
	r = nf_parse_key(s, &k, &why);
	PROP(r == ref_key(s, &rk));
	PROP(r == 0 || (why && *why));
	if (r == 0) {
		PROP(k == rk && k != 0);
		snprintf(buf, sizeof(buf), "0x%08x", k);
		PROP(nf_parse_key(buf, &back, &why) == 0 && back == k);
		snprintf(buf, sizeof(buf), "%u", k);
		PROP(nf_parse_key(buf, &back, &why) == 0 && back == k);
	}

	why = NULL;
	r = nf_parse_busid(s, &k, &why);
	PROP(r == ref_busid(s, &rk));
	PROP(r == 0 || (why && *why));
	if (r == 0) {
		PROP(k == rk);
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u", k >> 28,
		    k >> 16 & 0xfff, k >> 8 & 0xff, k & 0xff);
		PROP(nf_parse_busid(buf, &back, &why) == 0 && back == k);
		PROP(nf_buskey(nf_buskey(k)) == k);
		PROP(nf_buskey(k) == ((k & 0xff) << 24 | (k >> 8 & 0xff) << 16 |
		    (k >> 16 & 0xff) << 8 | k >> 24));
	}

	why = NULL;
	r = nf_check_server(s, &why);
	PROP(r == ref_server(s));
	PROP(r == 0 || (why && *why));
	free(s);
	return 0;
}
