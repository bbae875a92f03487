/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A file replaced atomically: a temporary file beside it (O_EXCL,
 * O_NOFOLLOW), written by the caller, then fsync, rename over the file and
 * fsync of the directory. A crash leaves the old file or the new one,
 * never a torn one; a failure leaves no temporary file. PID files and
 * backups are written this way.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>	/* rename(); nothing else of stdio */
#include <string.h>
#include <unistd.h>

#include "nf.h"

void
nf_dirof(const char *path, char *buf, size_t n)
{
	const char *s = strrchr(path, '/');

	if (!s)
		nf_fmt(buf, n, ".");
	else if (s == path)
		nf_fmt(buf, n, "/");
	else {
		size_t l = (size_t)(s - path);

		if (l >= n)
			l = n - 1;
		memcpy(buf, path, l);
		buf[l] = '\0';
	}
}

int
nf_afile_open(struct nf_afile *f, const char *path, const char *tag,
    mode_t mode)
{
	const char *s = strrchr(path, '/'), *base = s ? s + 1 : path;

	f->fd = -1;
	f->path = path;
	nf_dirof(path, f->dir, sizeof(f->dir));
	for (unsigned i = 0; i < 100; i++) {
		if (nf_fmt(f->tmp, sizeof(f->tmp), "%s/.%s.%s%d.%u", f->dir,
		    base, tag, (int)getpid(), i) >= sizeof(f->tmp))
			return -2;
		f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (f->fd >= 0 || errno != EEXIST)
			break;
	}
	return f->fd >= 0 ? 0 : -1;
}

int
nf_afile_commit(struct nf_afile *f)
{
	int fd = f->fd, e, r = -1;

	f->fd = -1;
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	if (close(fd) < 0)
		goto fail;
	if (rename(f->tmp, f->path) < 0) {
		r = -2;
		goto fail;
	}
	/* The rename itself is durable only once the directory is. */
	if ((fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	e = errno;
	unlink(f->tmp);
	errno = e;
	return r;
}

void
nf_afile_abort(struct nf_afile *f)
{
	int e = errno;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	unlink(f->tmp);
	errno = e;
}
