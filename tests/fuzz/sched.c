/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Schedules (nf_parse_sched), as start-stop-daemon's --retry: SIG/DUR/...
 * or a bare duration. The first byte picks the default signal. Besides not
 * crashing: an accepted schedule has 1..NF_SCHED_MAX steps of signals
 * 1..NSIG-1 and durations 0..2^31-1 ms; a bare duration is SIG/D/KILL/D;
 * written back as `SIG/MSms/...` it parses to the same steps.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct nf_sched sc, back;
	char *s, out[NF_SCHED_MAX * 40];
	const char *why = NULL;
	int defsig, r;
	size_t o = 0;

	if (n < 1)
		return 0;
	defsig = 1 + d[0] % (NSIG - 1);
	s = fz_cstr(d + 1, n - 1);
	memset(&sc, 0xa5, sizeof(sc));
	r = nf_parse_sched(s, defsig, &sc, &why);
	PROP(r == 0 || r == -1);
	if (r < 0)
		PROP(why && *why);
	if (r == 0) {
		PROP(sc.n >= 1 && sc.n <= NF_SCHED_MAX);
		for (int i = 0; i < sc.n; i++) {
			PROP(sc.step[i].sig >= 1 && sc.step[i].sig < NSIG);
			PROP(sc.step[i].ms >= 0 &&
			    sc.step[i].ms <= 2147483647LL);
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "%s%d/%lldms", i ? "/" : "", sc.step[i].sig,
			    sc.step[i].ms);
		}
		if (!strchr(s, '/')) {
			long long ms;

			PROP(nf_parse_dur(s, &ms, &why) == 0);
			PROP(sc.n == 2 && sc.step[0].sig == defsig &&
			    sc.step[1].sig == SIGKILL &&
			    sc.step[0].ms == ms && sc.step[1].ms == ms);
		}
		memset(&back, 0x5a, sizeof(back));
		PROP(nf_parse_sched(out, defsig, &back, &why) == 0);
		PROP(back.n == sc.n);
		for (int i = 0; i < sc.n; i++)
			PROP(back.step[i].sig == sc.step[i].sig &&
			    back.step[i].ms == sc.step[i].ms);
	}
	free(s);
	return 0;
}
