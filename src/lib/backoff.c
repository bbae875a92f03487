/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Looking again for something no descriptor announces (a lock freed, a
 * segment detached, a file written, a thread stopped): soon at first, then
 * less often, so that the usual case is seen within a millisecond or two
 * and a long wait costs little, and never past the caller's deadline, where
 * one last look is taken. Every such loop in the tools is this one; each
 * caller says its intervals (its man page documents them). Portable:
 * nfrestart.exe waits this way too.
 */
#define _GNU_SOURCE
#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <time.h>
#endif

#include "nf.h"

void
nf_backoff_init(struct nf_backoff *b, long long ms, long long first_us,
    long long step_us, long long max_us)
{
	b->t0 = nf_now_us();
	b->end = ms < 0 ? -1 : b->t0 + ms * 1000;
	b->iv = first_us;
	b->step = step_us;
	b->max = max_us;
	b->fast = 0;
}

int
nf_backoff_over(const struct nf_backoff *b)
{
	return b->end >= 0 && nf_now_us() >= b->end;
}

long long
nf_backoff_next(struct nf_backoff *b)
{
	long long now = nf_now_us(), iv = b->iv;

	if (b->end >= 0 && now >= b->end)
		return -1;
	if (b->end >= 0 && iv > b->end - now)
		iv = b->end - now;
	if (now - b->t0 >= b->fast && b->iv < b->max) {
		b->iv += b->step;
		if (b->iv > b->max)
			b->iv = b->max;
	}
	return iv;
}

long long
nf_backoff_next_ms(struct nf_backoff *b)
{
	long long us = nf_backoff_next(b);

	return us < 0 ? -1 : (us + 999) / 1000;
}

int
nf_backoff_sleep(struct nf_backoff *b)
{
	long long us = nf_backoff_next(b);

	if (us < 0)
		return 0;
#ifdef _WIN32
	Sleep((DWORD)((us + 999) / 1000));
#else
	{
		struct timespec ts = { (time_t)(us / 1000000),
		    (long)(us % 1000000) * 1000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
#endif
	return 1;
}
