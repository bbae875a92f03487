/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Files: read whole (the small ones /proc and /etc hold), a line or a
 * directory entry at a time, and replaced atomically: a temporary file
 * beside it (O_EXCL, O_NOFOLLOW), written by the caller, then fsync, rename
 * over the file and fsync of the directory. A crash leaves the old file or
 * the new one, never a torn one; a failure leaves no temporary file. PID
 * files and backups are written this way, and nfrestart.exe's -w (the
 * same steps in Win32 calls: CREATE_NEW, FlushFileBuffers, MoveFileEx
 * with MOVEFILE_WRITE_THROUGH).
 */
#define _GNU_SOURCE
#ifdef _WIN32
#include <windows.h>
#else
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>	/* rename(); nothing else of stdio */
#include <unistd.h>
#endif
#include <string.h>

#include "nf.h"

#ifndef _WIN32

/* Read what FD holds into BUF, close it. */
static ssize_t
readfd(int fd, char *buf, size_t n)
{
	ssize_t r, len = 0;

	if (fd < 0)
		return -1;
	while ((size_t)len < n - 1 && (r = read(fd, buf + len, n - 1 -
	    (size_t)len)) != 0) {
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			errno = e;
			return -1;
		}
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

ssize_t
nf_readfile(const char *path, char *buf, size_t n)
{
	return readfd(open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), buf, n);
}

ssize_t
nf_readat(int dirfd, const char *path, char *buf, size_t n)
{
	return readfd(openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY),
	    buf, n);
}

/* getdents64 rather than opendir(), which would pull in malloc. */
int
nf_dir_each(const char *path, int (*fn)(const char *name, void *arg),
    void *arg)
{
	char buf[4096];
	long n;
	int dfd, r = 0;

	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while (!r && (n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && !r;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1 */
			unsigned short reclen;
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			r = fn(name, arg);
		}
	}
	close(dfd);
	return r;
}

int
nf_lines_each(const char *path, int (*fn)(char *line, void *arg), void *arg)
{
	char buf[8192];
	size_t keep = 0;
	ssize_t r;
	int fd, ret = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	for (;;) {
		char *p, *nl;

		r = read(fd, buf + keep, sizeof(buf) - 1 - keep);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		if (r == 0 && keep == 0)
			break;
		keep += (size_t)r;
		buf[keep] = '\0';
		p = buf;
		while ((nl = memchr(p, '\n', keep - (size_t)(p - buf)))) {
			*nl = '\0';
			if ((ret = fn(p, arg)))
				goto out;
			p = nl + 1;
		}
		keep -= (size_t)(p - buf);
		if (r == 0 || keep == sizeof(buf) - 1) {
			/* A last line without a newline, or one too long
			 * to hold: hand over what there is. */
			buf[keep] = '\0';
			if (keep && (ret = fn(buf, arg)))
				goto out;
			keep = 0;
			if (r == 0)
				break;
			continue;
		}
		memmove(buf, p, keep);
	}
out:
	if (ret < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return ret;
}

#endif /* !_WIN32 */

/* A path's directory: what comes before its last separator ("/"; on
 * Windows also "\\" and a drive's ":"). */
void
nf_dirof(const char *path, char *buf, size_t n)
{
	const char *s = NULL;

	for (const char *p = path; *p; p++)
#ifdef _WIN32
		if (*p == '/' || *p == '\\' || *p == ':')
#else
		if (*p == '/')
#endif
			s = p;
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

/* The temporary file's name: DIR/.BASE.TAGPID.N, the first N that is
 * free. */
static const char *
afile_base(struct nf_afile *f, const char *path)
{
	const char *b = path + strlen(path);

	f->path = path;
	nf_dirof(path, f->dir, sizeof(f->dir));
	while (b > path && b[-1] != '/'
#ifdef _WIN32
	    && b[-1] != '\\' && b[-1] != ':'
#endif
	    )
		b--;
	return b;
}

int
nf_afile_write(struct nf_afile *f, const void *buf, size_t n)
{
#ifdef _WIN32
	DWORD w;

	if (WriteFile(f->h, buf, (DWORD)n, &w, NULL) && w == n)
		return 0;
	f->call = "WriteFile";
	f->err = GetLastError();
	return -1;
#else
	return nf_writeall(f->fd, buf, n);
#endif
}

#ifdef _WIN32
int
nf_afile_open(struct nf_afile *f, const char *path, const char *tag,
    mode_t mode)
{
	const char *base = afile_base(f, path);

	(void)mode;
	f->h = NULL;
	f->call = "CreateFile";
	f->err = 0;
	for (unsigned i = 0; i < 100; i++) {
		HANDLE h;

		if (nf_fmt(f->tmp, sizeof(f->tmp), "%s/.%s.%s%lu.%u", f->dir,
		    base, tag, (unsigned long)GetCurrentProcessId(), i) >=
		    sizeof(f->tmp))
			return -2;
		h = CreateFileA(f->tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW,
		    FILE_ATTRIBUTE_NORMAL, NULL);
		if (h != INVALID_HANDLE_VALUE) {
			f->h = h;
			return 0;
		}
		f->err = GetLastError();
		if (f->err != ERROR_FILE_EXISTS &&
		    f->err != ERROR_ALREADY_EXISTS)
			break;
	}
	return -1;
}

int
nf_afile_commit(struct nf_afile *f)
{
	HANDLE h = f->h;

	f->h = NULL;
	f->call = "FlushFileBuffers";
	if (!FlushFileBuffers(h)) {
		f->err = GetLastError();
		CloseHandle(h);
		DeleteFileA(f->tmp);
		return -1;
	}
	CloseHandle(h);
	f->call = "MoveFileEx";
	if (MoveFileExA(f->tmp, f->path, MOVEFILE_REPLACE_EXISTING |
	    MOVEFILE_WRITE_THROUGH))
		return 0;
	f->err = GetLastError();
	DeleteFileA(f->tmp);
	return -2;
}

void
nf_afile_abort(struct nf_afile *f)
{
	if (f->h)
		CloseHandle(f->h);
	f->h = NULL;
	DeleteFileA(f->tmp);
}
#else
int
nf_afile_open(struct nf_afile *f, const char *path, const char *tag,
    mode_t mode)
{
	const char *base = afile_base(f, path);

	f->fd = -1;
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
#endif /* !_WIN32 */
