/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The Windows command line (nf_winquote, nfrestart.exe's CreateProcess
 * line), as a round trip: the input, split at NUL bytes, is an argument
 * vector (the program name without '"', which nfrestart.exe refuses); it is
 * quoted, then split again by an implementation of the C runtime's rules
 * written here from Microsoft's description ("Parsing C command-line
 * arguments"), under both readings of `""` inside quotes (msvcrt.dll before
 * 2008: a quote, and the quoted part ends; the UCRT: a quote, and it goes
 * on). Both must give back the vector. A short buffer gets a NUL-terminated
 * prefix of the same line and the same length.
 */
#include <stdint.h>
#include <string.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

#define MAXARGS 64

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits LINE into ARGS (each a malloc'ed string); returns the count. */
static int
split(const char *p, int ucrt, char **args, int max)
{
	int n = 0;
	char *a;
	size_t l;

	/* The program name: up to the next quote if quoted, else to a blank;
	 * backslashes are plain. */
	a = calloc(strlen(p) + 1, 1);
	l = 0;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			a[l++] = *p;
		if (*p)
			p++;
	} else {
		for (; *p && !blank(*p); p++)
			a[l++] = *p;
	}
	args[n++] = a;
	for (;;) {
		int inq = 0;

		while (blank(*p))
			p++;
		if (!*p)
			break;
		PROP(n < max);
		a = calloc(strlen(p) + 1, 1);
		l = 0;
		while (*p && (inq || !blank(*p))) {
			size_t bs = 0;

			if (*p == '\\') {
				while (*p == '\\')
					p++, bs++;
				/* Backslashes are plain unless a quote follows:
				 * then one per pair, and an odd one makes the
				 * quote plain too. */
				for (size_t k = 0; k < (*p == '"' ? bs / 2 : bs);
				    k++)
					a[l++] = '\\';
				if (*p == '"' && bs % 2)
					a[l++] = *p++;
			} else if (*p == '"') {
				if (inq && p[1] == '"') {
					a[l++] = '"';
					p += 2;
					if (!ucrt)
						inq = 0;
				} else {
					inq = !inq;
					p++;
				}
			} else {
				a[l++] = *p++;
			}
		}
		args[n++] = a;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fz_cstr(d, n), *argv[MAXARGS + 1], *got[MAXARGS + 2];
	char *line, *small;
	size_t len, cut;
	int argc = 0;

	/* NUL-separated arguments; a last byte picks the short buffer. */
	cut = n ? d[n - 1] : 0;
	for (char *p = s; argc < MAXARGS && p <= s + n; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	for (char *p = argv[0]; *p; p++)
		if (*p == '"')
			*p = '_';

	len = nf_winquote(NULL, 0, argv);
	line = malloc(len + 1);
	PROP(nf_winquote(line, len + 1, argv) == len);
	PROP(strlen(line) == len);
	for (int ucrt = 0; ucrt < 2; ucrt++) {
		int m = split(line, ucrt, got, MAXARGS + 2);

		PROP(m == argc);
		for (int i = 0; i < m; i++) {
			PROP(!strcmp(got[i], argv[i]));
			free(got[i]);
		}
	}
	small = malloc(cut + 1);
	PROP(nf_winquote(small, cut, argv) == len);
	if (cut) {
		size_t k = cut - 1 < len ? cut - 1 : len;

		PROP(strlen(small) == k && !memcmp(small, line, k));
	}
	free(small);
	free(line);
	free(s);
	return 0;
}
