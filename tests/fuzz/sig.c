/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Signal names (nf_parse_sig): TERM, SIGTERM, any case, numbers 1..64, and
 * NFShmXFrame's restart/stop/reload. Besides not crashing: an accepted
 * signal is 1..NSIG-1; its number, and the name nf_signame gives it, parse
 * back to it; the number as written in decimal agrees. STOP in any case
 * but SIGSTOP's is refused (stop is NFShmXFrame's USR1).
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fz_cstr(d, n), buf[32], name[32];
	const char *why = NULL;
	int sig = -1, back = -1, r;

	r = nf_parse_sig(s, &sig, &why);
	PROP(r == 0 || r == -1);
	if (r < 0)
		PROP(why && *why);
	if (!strcasecmp(s, "stop") || !strcasecmp(s, "sigstop"))
		PROP(!strcmp(s, "stop") ? r == 0 && sig == SIGUSR1 :
		    !strcmp(s, "SIGSTOP") ? r == 0 && sig == SIGSTOP : r < 0);
	if (r == 0) {
		PROP(sig >= 1 && sig < NSIG);
		snprintf(buf, sizeof(buf), "%d", sig);
		PROP(nf_parse_sig(buf, &back, &why) == 0 && back == sig);
		nf_signame(sig, name, sizeof(name));
		if (sig == NF_SIG_RESTART)
			PROP(!strcmp(name, "restart(31)"));
		else {
			PROP(nf_parse_sig(name, &back, &why) == 0 &&
			    back == sig);
			snprintf(buf, sizeof(buf), "SIG%s", name);
			if ((name[0] < '0' || name[0] > '9') &&
			    strncmp(name, "SIG", 3))
				PROP(nf_parse_sig(buf, &back, &why) == 0 &&
				    back == sig);
		}
		/* A decimal number is read as one, whole. */
		if (s[0] >= '0' && s[0] <= '9') {
			unsigned long long v = 0;

			for (const char *p = s; *p; p++) {
				PROP(*p >= '0' && *p <= '9');
				v = v * 10 + (unsigned)(*p - '0');
				PROP(v < NSIG);
			}
			PROP(v == (unsigned long long)sig);
		}
	}
	free(s);
	return 0;
}
