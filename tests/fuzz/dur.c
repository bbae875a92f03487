/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Durations (nf_parse_dur): `10`, `1.5s`, `250ms`, `2m`, `1h`. Besides not
 * crashing: the result agrees with a plain reference reading (whatever the
 * unit, up to 2^31-1 ms), and the value written back in ms, in seconds with
 * a fraction, and in the largest whole unit, parses to the same value.
 */
#include <stdint.h>
#include <string.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

#define MAXMS 2147483647LL

/* The reference: digits [. digits] [unit]; fraction digits past the ninth
 * are ignored (the value is truncated to whole ms anyway). 0 ok, -1 bad. */
static int
ref_dur(const char *s, long long *ms)
{
	static const struct {
		const char *name;
		unsigned long long ms;
	} units[] = { { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
	    { "h", 3600000 } };
	unsigned long long ip = 0, frac = 0, div = 1, scale;
	int digits = 0, big = 0;
	size_t u;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		ip = ip * 10 + (unsigned)(*s - '0');
		if (ip > (1ULL << 40))
			big = 1, ip = 1ULL << 40;
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (div < 1000000000ULL)
				frac = frac * 10 + (unsigned)(*s - '0'), div *= 10;
	if (!digits)
		return -1;
	/* The units, as a table: another reading than the parser's. */
	for (scale = 0, u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (!strcmp(s, units[u].name))
			scale = units[u].ms;
	if (!scale)
		return -1;
	if (big || ip * scale + frac * scale / div > (unsigned long long)MAXMS)
		return -1;
	*ms = (long long)(ip * scale + frac * scale / div);
	return 0;
}

static long long
reparse(const char *s)
{
	long long ms = -1;
	const char *why = NULL;

	PROP(nf_parse_dur(s, &ms, &why) == 0);
	return ms;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fz_cstr(d, n), buf[64];
	const char *why = NULL;
	long long ms = -1, rms = -1;
	int r = nf_parse_dur(s, &ms, &why), rr;

	PROP(r == 0 || r == -1);
	if (r < 0)
		PROP(why && *why);
	rr = ref_dur(s, &rms);
	PROP(r == rr);
	if (r == 0)
		PROP(ms == rms);
	if (r == 0) {
		PROP(ms >= 0 && ms <= MAXMS);
		snprintf(buf, sizeof(buf), "%lldms", ms);
		PROP(reparse(buf) == ms);
		snprintf(buf, sizeof(buf), "%lld.%03lld", ms / 1000, ms % 1000);
		PROP(reparse(buf) == ms);
		snprintf(buf, sizeof(buf), "%lld.%03llds", ms / 1000, ms % 1000);
		PROP(reparse(buf) == ms);
		if (ms % 3600000 == 0)
			snprintf(buf, sizeof(buf), "%lldh", ms / 3600000);
		else if (ms % 60000 == 0)
			snprintf(buf, sizeof(buf), "%lldm", ms / 60000);
		else if (ms % 1000 == 0)
			snprintf(buf, sizeof(buf), "%lld", ms / 1000);
		PROP(reparse(buf) == ms);
	}
	free(s);
	return 0;
}
