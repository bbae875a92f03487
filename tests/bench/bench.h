/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/* What the bench's C programs share: the clock, and the signal that came. */
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t got;

static void
on_sig(int s)
{
	got = s;
}

/* CLOCK_MONOTONIC in ns: the clock every figure of the bench is on. */
static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
