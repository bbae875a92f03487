/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Shared by the libFuzzer targets: the input as a C string, and property
 * checks that abort (so libFuzzer keeps the input) with the reason.
 */
#ifndef NF_FUZZ_H
#define NF_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROP(c) do { if (!(c)) { fprintf(stderr, "property failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

/* A heap copy of exactly N bytes plus a NUL, so ASan sees any overread. */
static inline char *
fz_cstr(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#endif
