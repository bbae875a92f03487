/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * PID file contents: nf_parse_pidbuf on the bytes as they are, under several
 * pid_max values (Linux's default and largest, this host's, and the 32-bit
 * one nfrestart.exe uses), against a reference reading; then the same bytes
 * in a real file through nf_pidfile_read, which must agree with the parse
 * (and refuse more than 64 bytes). An accepted PID is always 2..pid_max.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../src/lib/nf.h"
#include "fuzz.h"

static char path[PATH_MAX];

static int
ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* 0 ok, 1 empty, -1 malformed. */
static int
ref_pid(const uint8_t *d, size_t n, unsigned long long max,
    unsigned long long *pid)
{
	const uint8_t *p = d, *e = d + n;
	unsigned long long v = 0;
	int seen = 0, after = 0;

	/* One pass: blanks, then digits, then blanks; anything else, or a
	 * digit after the trailing blanks, is malformed. */
	for (; p < e; p++) {
		if (ws(*p)) {
			after = seen;
			continue;
		}
		if (after || *p < '0' || *p > '9' ||
		    (v = v * 10 + (unsigned)(*p - '0')) > max)
			return -1;
		seen = 1;
	}
	if (!seen)
		return 1;
	if (v < 2)
		return -1;
	*pid = v;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	(void)argc, (void)argv;
	snprintf(path, sizeof(path), "%s/nffuzz.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(path))
		abort();
	strcat(path, "/x.pid");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const unsigned long maxes[] = { 32768, 4194304, 0xffffffffUL, 0 };
	char *buf = malloc(n ? n : 1);
	unsigned long pid = 0;
	unsigned long long rpid = 0;
	const char *why = NULL;
	struct nf_pidfile pf;
	int r = 0, fd;

	memcpy(buf, d, n);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		unsigned long max = maxes[i] ? maxes[i] : nf_pid_max();
		int rr = ref_pid(d, n, max, &rpid);

		why = NULL;
		r = nf_parse_pidbuf(buf, n, max, &pid, &why);
		PROP(r == rr);
		PROP(r == 0 || why);
		if (r == 0)
			PROP(pid >= 2 && pid <= max && pid == rpid);
	}
	free(buf);
	/* r is now the verdict under this host's pid_max. An empty file is
	 * read again for 15 ms (a writer between truncate and write): those
	 * are left to the test suite. */
	if (r == 1 && n <= 64)
		return 0;
	/* A new file each time: ext4 flushes a file truncated and written
	 * again when it is closed (auto_da_alloc), which costs milliseconds. */
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 ||
	    write(fd, d, n) != (ssize_t)n || close(fd) < 0)
		abort();
	nf_pidfile_read(path, 0, &pf);
	if (n > 64)
		PROP(pf.status == NF_PF_MALFORMED &&
		    !strcmp(pf.why, "longer than 64 bytes"));
	else if (r == 0)
		PROP((pf.status == NF_PF_OK || pf.status == NF_PF_SELF) &&
		    (unsigned long)pf.pid == pid && pf.pid >= 2);
	else
		PROP(pf.status == NF_PF_MALFORMED && pf.why && !pf.empty);
	return 0;
}
