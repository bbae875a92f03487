/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * PID files: one strict reader for every tool, the two ways of writing
 * (temp + rename; lock first, then in place) and the restart lock.
 */
#define _GNU_SOURCE
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nf.h"

#define PID_MAX_LIMIT 4194304UL

unsigned long
nf_pid_max(void)
{
	static unsigned long max;
	char buf[32];
	unsigned long long v;
	const char *why;

	if (max)
		return max;
	max = PID_MAX_LIMIT;
	if (nf_readfile("/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (nf_parse_ulong(buf, 2, PID_MAX_LIMIT, &v, &why) == 0)
			max = (unsigned long)v;
	}
	return max;
}

/*
 * A file in a world-writable directory that is neither ours nor root's may
 * have been planted by anyone: refuse it, as start-stop-daemon does.
 */
int
nf_unsafe_dir(const char *path, const struct stat *st)
{
	char dir[PATH_MAX];
	struct stat ds;

	if (st->st_uid == geteuid() || st->st_uid == 0)
		return 0;
	nf_dirof(path, dir, sizeof(dir));
	if (stat(dir, &ds) < 0)
		return 0;
	return (ds.st_mode & S_IWOTH) != 0;
}

int
nf_pidfile_read(const char *path, int unsafe_ok, struct nf_pidfile *pf)
{
	char buf[66];

	memset(pf, 0, sizeof(*pf));
	pf->path = path;
	for (int tries = 0;; tries++) {
		struct stat ls;
		ssize_t n = 0, r;
		int fd;

		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY);
		if (fd < 0) {
			pf->err = errno;
			if (errno == ENOENT || errno == ENOTDIR) {
				pf->status = NF_PF_ABSENT;
			} else if (errno == ELOOP && lstat(path, &ls) == 0 &&
			    S_ISLNK(ls.st_mode)) {
				struct stat ts;

				/* A dangling symlink is a missing file. */
				if (stat(path, &ts) < 0 && errno == ENOENT) {
					pf->status = NF_PF_ABSENT;
				} else {
					pf->status = NF_PF_MALFORMED;
					pf->why = "is a symbolic link";
				}
			} else if (errno == ENXIO || errno == ENODEV ||
			    errno == EISDIR) {
				pf->status = NF_PF_MALFORMED;
				pf->why = "not a regular file";
			} else {
				pf->status = NF_PF_UNREADABLE;
			}
			return pf->status;
		}
		if (fstat(fd, &pf->st) < 0) {
			pf->err = errno;
			close(fd);
			return pf->status = NF_PF_UNREADABLE;
		}
		if (!S_ISREG(pf->st.st_mode)) {
			close(fd);
			pf->why = S_ISDIR(pf->st.st_mode) ? "is a directory" :
			    S_ISFIFO(pf->st.st_mode) ? "is a FIFO" :
			    "not a regular file";
			return pf->status = NF_PF_MALFORMED;
		}
		if (!unsafe_ok && nf_unsafe_dir(path, &pf->st)) {
			close(fd);
			return pf->status = NF_PF_UNSAFE;
		}
		while (n < (ssize_t)sizeof(buf) &&
		    (r = read(fd, buf + n, sizeof(buf) - (size_t)n)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				pf->err = errno;
				close(fd);
				return pf->status = NF_PF_UNREADABLE;
			}
			n += r;
		}
		close(fd);
		if (nf_pidfile_judge(pf, buf, (size_t)n, tries, nf_pid_max(),
		    (unsigned long)getpid()) >= 0)
			return pf->status;
	}
}

static int
refuse_link(const char *path)
{
	struct stat ls;

	if (lstat(path, &ls) == 0 && !S_ISREG(ls.st_mode)) {
		nf_warn("%s: refusing to write: %s", path,
		    S_ISLNK(ls.st_mode) ? "is a symbolic link" :
		    "not a regular file");
		return NF_USAGE;
	}
	return NF_OK;
}

int
nf_pidfile_write(const char *path, pid_t pid)
{
	struct nf_afile f;
	char line[32];
	size_t len = nf_fmt(line, sizeof(line), "%d\n", (int)pid);
	int r;

	if ((r = refuse_link(path)) != NF_OK)
		return r;
	if ((r = nf_afile_open(&f, path, "", 0644)) == -2) {
		nf_warn("%s: path too long", path);
		return NF_USAGE;
	}
	if (r < 0) {
		nf_warn("%s: open:", f.tmp);
		return NF_SYS;
	}
	if (nf_afile_write(&f, line, len) < 0) {
		nf_afile_abort(&f);
		nf_warn("%s: write:", f.tmp);
		return NF_SYS;
	}
	if ((r = nf_afile_commit(&f)) < 0) {
		nf_warn(r == -2 ? "%s: rename:" : "%s: write:", r == -2 ? path :
		    f.tmp);
		return NF_SYS;
	}
	return NF_OK;
}

/* The PID a held lock file names, for the message; 0 if unknown. */
static pid_t
holder_of(int fd)
{
	char buf[66];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	unsigned long pid;
	const char *why;

	if (n > 0 && n <= 64 &&
	    nf_parse_pidbuf(buf, (size_t)n, nf_pid_max(), &pid, &why) == 0)
		return (pid_t)pid;
	return 0;
}

/* Open and flock PATH, making sure the locked file is still the one at
 * PATH (it may be replaced between open and flock). */
static int
lockpath(const char *path, int unsafe_ok, int keep, int *fdp, pid_t *holder)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat a, b;
		int fl = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		    (keep ? 0 : O_CLOEXEC);
		int fd = open(path, fl | O_CREAT | O_EXCL, 0644);

		/* Made here: readable by all whatever the umask, so that a
		 * keep-alive job of another user can see the lock is held. */
		if (fd >= 0)
			fchmod(fd, 0644);
		else if (errno == EEXIST)
			fd = open(path, fl);
		if (fd < 0) {
			if (errno == ENOENT)	/* removed in between */
				continue;
			if (errno == ELOOP) {
				nf_warn("%s: refusing to lock: is a symbolic link",
				    path);
				return NF_USAGE;
			}
			nf_warn("%s: open:", path);
			return NF_SYS;
		}
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
			nf_warn("%s: refusing to lock: not a regular file", path);
			close(fd);
			return NF_USAGE;
		}
		if (!unsafe_ok && nf_unsafe_dir(path, &a)) {
			nf_warn("%s: unsafe: owned by uid %u in a world-writable "
			    "directory (--unsafe-pidfile to accept)", path,
			    (unsigned)a.st_uid);
			close(fd);
			return NF_USAGE;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			if (e == EWOULDBLOCK || e == EINTR) {
				if (holder)
					*holder = holder_of(fd);
				close(fd);
				return NF_BUSY;
			}
			errno = e;
			nf_warn("%s: flock:", path);
			close(fd);
			return NF_SYS;
		}
		if (stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			*fdp = fd;
			return NF_OK;
		}
		close(fd);	/* replaced under us: lock the new one */
	}
	nf_warn("%s: keeps being replaced", path);
	return NF_SYS;
}

int
nf_pidfile_lock(const char *path, int unsafe_ok, pid_t pid, int keep,
    int *fdp, pid_t *holder)
{
	char line[32];
	size_t len = nf_fmt(line, sizeof(line), "%d\n", (int)pid);
	int fd, r;

	if ((r = lockpath(path, unsafe_ok, keep, &fd, holder)) != NF_OK)
		return r;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, len, 0) != (ssize_t)len ||
	    fsync(fd) < 0) {
		nf_warn("%s: write:", path);
		close(fd);
		return NF_SYS;
	}
	*fdp = fd;
	return NF_OK;
}

/* FILE.lock; 0, or -1 when it does not fit (never FILE itself). */
static int
lockname(const char *pidpath, char *buf, size_t n)
{
	if (nf_fmt(buf, n, "%s.lock", pidpath) < n)
		return 0;
	errno = ENAMETOOLONG;
	return -1;
}

int
nf_restart_lock(const char *pidpath, int unsafe_ok, long long ms, int *fdp)
{
	char path[PATH_MAX];
	struct nf_backoff b;
	int r;

	if (lockname(pidpath, path, sizeof(path)) < 0) {
		nf_warn("%s.lock: path too long", pidpath);
		return NF_USAGE;
	}
	/* Every 1 ms, then 1 ms less often each time, up to 20 ms. */
	nf_backoff_init(&b, ms, 1000, 1000, 20000);
	while ((r = lockpath(path, unsafe_ok, 0, fdp, NULL)) == NF_BUSY &&
	    nf_backoff_sleep(&b))
		;
	return r;
}

int
nf_restart_locked(const char *pidpath)
{
	char path[PATH_MAX];
	int fd, r = 0;

	if (lockname(pidpath, path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0)	/* never "not held" when it could not be looked at */
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return r;
}
