/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * PIDs on stdin (nf_eread_pids, for `nfpid read | nfsignal | nfwait`): the
 * input is stdin. nf_die is wrapped (the linker's --wrap) to come back here
 * instead of exiting, and the mapping nf_eread_pids makes is unmapped after
 * each run. Besides not crashing: the list agrees with a reference reading
 * (tokens split at space, tab, CR and LF, each at most 31 bytes and a
 * decimal 2..pid_max, at least one, repeats dropped, first-seen order), and a refusal is
 * a usage error (2) exactly when the reference refuses.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

static jmp_buf back;
static int died, inside, memfd = -1;
static void *map;
static size_t maplen;

void *__real_mmap(void *, size_t, int, int, int, off_t);

void *
__wrap_mmap(void *a, size_t len, int prot, int fl, int fd, off_t off)
{
	void *m = __real_mmap(a, len, prot, fl, fd, off);

	if (inside && m != MAP_FAILED)
		map = m, maplen = len;
	return m;
}

_Noreturn void
__wrap_nf_die(int code, const char *fmt, ...)
{
	(void)fmt;
	died = code;
	longjmp(back, 1);
}

static int
sep(uint8_t c)
{
	return c == '\n' || c == ' ' || c == '\t' || c == '\r';
}

/* The reference: the PIDs into OUT (pid_max + 1 entries), their count, or
 * -1 for a refusal. */
static long
ref(const uint8_t *d, size_t n, unsigned long max, pid_t *out,
    unsigned char *seen)
{
	long cnt = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		unsigned long long v = 0;

		if (sep(d[i])) {
			i++;
			continue;
		}
		while (j < n && !sep(d[j]))
			j++;
		if (j - i > 31)
			goto bad;
		for (size_t k = i; k < j; k++) {
			if (d[k] < '0' || d[k] > '9')
				goto bad;
			v = v * 10 + (d[k] - '0');
			if (v > max)
				goto bad;
		}
		if (v < 2)
			goto bad;
		if (!seen[v]) {
			seen[v] = 1;
			out[cnt++] = (pid_t)v;
		}
		i = j;
	}
	return cnt ? cnt : -1;
bad:
	while (cnt)
		seen[out[--cnt]] = 0;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static pid_t *want;
	static unsigned char *seen;
	unsigned long max = nf_pid_max();
	volatile size_t got = 0;
	pid_t *volatile v = NULL;
	long r;

	if (memfd < 0) {
		if ((memfd = memfd_create("stdin", 0)) < 0)
			abort();
		want = malloc((max + 1) * sizeof(*want));
		seen = calloc(max + 1, 1);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, d, n, 0) != (ssize_t)n ||
	    lseek(memfd, 0, SEEK_SET) != 0 || dup2(memfd, 0) != 0)
		abort();
	map = NULL;
	died = 0;
	inside = 1;
	if (!setjmp(back)) {
		size_t k;

		v = nf_eread_pids(0, NULL, &k);
		got = k;
	}
	inside = 0;
	r = ref(d, n, max, want, seen);
	if (r < 0) {
		PROP(died == NF_USAGE);
	} else {
		PROP(!died && v && got == (size_t)r);
		for (long i = 0; i < r; i++) {
			PROP(v[i] == want[i]);
			seen[want[i]] = 0;
		}
	}
	if (map)
		munmap(map, maplen);
	return 0;
}
