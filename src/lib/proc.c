/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Process facts from /proc, and what kill(2) alone can tell where there is
 * no /proc. Where a fact cannot be read the answer is "unknown", never a
 * guess: the callers fail closed on it.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nf.h"

int
nf_has_proc(void)
{
	static int has = -1;

	if (has < 0)
		has = access("/proc/self/stat", R_OK) == 0;
	return has;
}

static ssize_t
readfile(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t r, len = 0;

	if (fd < 0)
		return -1;
	while ((size_t)len < n - 1 && (r = read(fd, buf + len, n - 1 -
	    (size_t)len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
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

/* kill(pid, 0): 1 exists, 0 gone. */
static int
exists(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int
nf_proc_read(pid_t pid, struct nf_proc *p)
{
	char path[64], buf[1024], *s, *e;
	unsigned long long ticks = 0;
	long hz;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (pid < 2) {
		errno = EINVAL;
		return -1;
	}
	if (!nf_has_proc()) {
		if (!exists(pid))
			return 1;
		errno = ENOENT;		/* /proc is missing: no facts */
		return -1;
	}
	nf_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (readfile(path, buf, sizeof(buf)) < 0) {
		if (errno == ENOENT || errno == ESRCH) {
			/* Hidden (hidepid) is not the same as gone. */
			if (!exists(pid))
				return 1;
			errno = EACCES;
		}
		return -1;
	}
	/* pid (comm) S ...: comm may hold spaces and parentheses. */
	if (!(s = strchr(buf, '(')) || !(e = strrchr(buf, ')')) || e < s) {
		errno = EINVAL;
		return -1;
	}
	{
		size_t l = (size_t)(e - s - 1);

		if (l >= sizeof(p->comm))
			l = sizeof(p->comm) - 1;
		memcpy(p->comm, s + 1, l);
		p->comm[l] = '\0';
	}
	s = e + 1;
	/* Fields from 3 (state) on; start time is field 22. */
	for (int f = 3; f <= 22; f++) {
		while (*s == ' ')
			s++;
		if (!*s) {
			errno = EINVAL;
			return -1;
		}
		if (f == 3)
			p->state = *s;
		if (f == 22)
			for (; *s >= '0' && *s <= '9'; s++)
				ticks = ticks * 10 + (unsigned)(*s - '0');
		while (*s && *s != ' ')
			s++;
	}
	/* USER_HZ: /proc reports clock ticks of 1/100 s on every Linux ABI
	 * (what sysconf(_SC_CLK_TCK) answers), and sysconf is big. */
	hz = 100;
	p->start_ms = ticks * 1000 / (unsigned long long)hz;
	return 0;
}

int
nf_alive(pid_t pid)
{
	struct nf_proc p;
	int r = nf_proc_read(pid, &p);

	if (r == 1)
		return 0;
	if (r < 0) {
		/* Without /proc, kill(pid, 0) is all there is. */
		if (!nf_has_proc())
			return exists(pid);
		return -1;
	}
	return !(p.state == 'Z' || p.state == 'X' || p.state == 'x');
}

/* Is NEEDLE in the first N bytes of HAY? (No strstr: it is big.) */
const char *
nf_memfind(const char *hay, size_t n, const char *needle, size_t nl)
{
	for (size_t i = 0; nl <= n && i <= n - nl; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, nl))
			return hay + i;
	return NULL;
}

int
nf_proc_has_file(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], fpath[96], buf[4096];
	int dfd, found = 0;
	long n;

	/* getdents64 rather than opendir(), which would pull in malloc. */
	nf_fmt(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while (!found && (n = syscall(SYS_getdents64, dfd, buf,
	    sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1 */
			unsigned short reclen;
			const char *name = buf + off + 19;
			struct stat st;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (name[0] == '.')
				continue;
			nf_fmt(fpath, sizeof(fpath), "%s/%s", path, name);
			if (stat(fpath, &st) == 0 && st.st_dev == dev &&
			    st.st_ino == ino) {
				found = 1;
				break;
			}
		}
	}
	close(dfd);
	if (n < 0 && !found)
		return -1;
	return found;
}

int
nf_proc_has_shm(pid_t pid, uint32_t key)
{
	char path[64], pat[16], buf[8192];
	size_t keep = 0, pl;
	ssize_t r;
	int fd, found = 0;

	nf_fmt(path, sizeof(path), "/proc/%d/maps", (int)pid);
	pl = nf_fmt(pat, sizeof(pat), "/SYSV%08x ", (unsigned)key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		r = read(fd, buf + keep, sizeof(buf) - 1 - keep);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		keep += (size_t)r;
		buf[keep] = '\0';
		/* The name ends its line; read it as "/SYSVxxxxxxxx (deleted)"
		 * or "/SYSVxxxxxxxx\n". */
		pat[pl - 1] = ' ';
		if (nf_memfind(buf, keep, pat, pl))
			found = 1;
		pat[pl - 1] = '\n';
		if (nf_memfind(buf, keep, pat, pl))
			found = 1;
		if (found)
			break;
		if (keep > pl) {
			memmove(buf, buf + keep - pl, pl);
			keep = pl;
		}
	}
	close(fd);
	return found;
}

static const char *
base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

int
nf_proc_name_is(pid_t pid, const struct nf_proc *p, const char *name)
{
	char path[64], exe[PATH_MAX];
	const char *n = base(name);
	ssize_t l;

	/* comm is cut to 15 bytes by the kernel: compare that many. */
	if (!strncmp(p->comm, n, 15) && strlen(p->comm) == (strlen(n) > 15 ?
	    15 : strlen(n)))
		return 1;
	nf_fmt(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((l = readlink(path, exe, sizeof(exe) - 1)) < 0)
		return errno == ENOENT ? 0 : -1;
	exe[l] = '\0';
	if (l > 10 && !strcmp(exe + l - 10, " (deleted)"))
		exe[l - 10] = '\0';
	return strcmp(base(exe), n) == 0;
}

long long
nf_mtime_boot_ms(const struct stat *st)
{
	struct timespec real, boot;
	long long off_ms, mt_ms;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	off_ms = ((long long)real.tv_sec - boot.tv_sec) * 1000 +
	    (real.tv_nsec - boot.tv_nsec) / 1000000;
	mt_ms = (long long)st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000;
	return mt_ms - off_ms;
}
