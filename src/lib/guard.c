/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Is the process a PID file names still the one that wrote it? Nothing is
 * signalled unless this says so, and a signal goes through a pidfd opened
 * before the checks, so the PID cannot be recycled between check and kill.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "nf.h"

/* Is there a flock() on (dev, ino)? 1/0, -1 unknown. Read from /proc/locks
 * rather than by trying a lock, which could make a real locker fail. */
static int
flocked(dev_t dev, ino_t ino)
{
	char buf[16384], pat[64];
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;

	if (fd < 0)
		return -1;
	while ((size_t)n < sizeof(buf) - 1 &&
	    (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n] = '\0';
	nf_fmt(pat, sizeof(pat), " %02x:%02x:%lu ", major(dev), minor(dev),
	    (unsigned long)ino);
	for (char *l = buf; l && *l;) {
		char *e = strchr(l, '\n');
		size_t ll = e ? (size_t)(e - l) : strlen(l);

		/* "1: FLOCK  ADVISORY  WRITE 123 08:01:4567 0 EOF"; lines
		 * with "->" are waiters, not holders. */
		if (nf_memfind(l, ll, "FLOCK", 5) &&
		    nf_memfind(l, ll, pat, strlen(pat)) &&
		    !nf_memfind(l, ll, "->", 2))
			return 1;
		l = e ? e + 1 : NULL;
	}
	return 0;
}

int
nf_guard(const struct nf_target *t, struct nf_verdict *vd)
{
	struct nf_proc p;
	int r;

	vd->evidence[0] = '\0';
	if (t->pid < 2 || t->pid == getpid()) {
		vd->why = "is not a target (below 2, or ourselves)";
		return vd->v = NF_G_STALE;
	}
	r = nf_proc_read(t->pid, &p);
	if (r == 1) {
		vd->why = "not running";
		return vd->v = NF_G_GONE;
	}
	if (r < 0) {
		vd->why = nf_has_proc() ? "cannot read /proc/PID/stat" :
		    "no /proc: cannot tell who the process is";
		return vd->v = NF_G_UNKNOWN;
	}
	if (p.state == 'Z' || p.state == 'X' || p.state == 'x') {
		vd->why = "exited (zombie, not yet reaped)";
		return vd->v = NF_G_GONE;
	}
	if (t->name) {
		r = nf_proc_name_is(t->pid, &p, t->name);
		if (r < 0) {
			vd->why = "cannot read /proc/PID/exe to compare the name";
			return vd->v = NF_G_UNKNOWN;
		}
		if (r == 0) {
			nf_fmt(vd->evidence, sizeof(vd->evidence),
			    "comm %s, wanted %s", p.comm, t->name);
			vd->why = "has another name";
			return vd->v = NF_G_STALE;
		}
	}
	if (!t->pf) {
		nf_fmt(vd->evidence, sizeof(vd->evidence), "comm %s", p.comm);
		vd->why = "running";
		return vd->v = NF_G_OK;
	}
	{
		const struct stat *st = &t->pf->st;
		long long mt = nf_mtime_boot_ms(st);
		long long d = (long long)p.start_ms - mt;
		int shm = -2;

		nf_fmt(vd->evidence, sizeof(vd->evidence),
		    "comm %s, started %lld.%03lld s after boot, pid file "
		    "written %lld.%03lld s after boot", p.comm,
		    (long long)p.start_ms / 1000, (long long)p.start_ms % 1000,
		    mt / 1000, (mt < 0 ? -mt : mt) % 1000);
		if (flocked(st->st_dev, st->st_ino) == 1 &&
		    nf_proc_has_file(t->pid, st->st_dev, st->st_ino) == 1) {
			vd->why = "holds the locked pid file";
			return vd->v = NF_G_OK;
		}
		if (t->has_key) {
			shm = nf_proc_has_shm(t->pid, t->key);
			if (shm == 1) {
				vd->why = "has the server's segment attached";
				return vd->v = NF_G_OK;
			}
		}
		if (d <= NF_START_SLACK_MS) {
			vd->why = "started before the pid file was written";
			return vd->v = NF_G_OK;
		}
		if (shm == -1) {
			vd->why = "cannot read /proc/PID/maps, and it started "
			    "after the pid file was written";
			return vd->v = NF_G_UNKNOWN;
		}
		vd->why = "started after the pid file was written (pid reused)";
		return vd->v = NF_G_STALE;
	}
}

int
nf_guarded_kill(const struct nf_target *t, int sig, struct nf_verdict *vd)
{
	int fd, g;

	if (t->pid < 2 || sig < 1) {	/* never kill(0), kill(-1), probes */
		vd->why = "is not a target";
		return vd->v = NF_G_STALE;
	}
	fd = nf_pidfd_open(t->pid);
	if (fd < 0 && errno == ESRCH) {
		vd->why = "not running";
		vd->evidence[0] = '\0';
		return vd->v = NF_G_GONE;
	}
	g = nf_guard(t, vd);
	if (g != NF_G_OK) {
		if (fd >= 0)
			close(fd);
		return g;
	}
	if (fd >= 0) {
		int r = nf_pidfd_send(fd, sig), e = errno;

		close(fd);
		if (r == 0)
			return NF_G_OK;
		if (e == ESRCH) {
			vd->why = "exited before the signal";
			return vd->v = NF_G_GONE;
		}
		return -e;
	}
	/* No pidfd: check again right before kill() to keep the window small. */
	nf_debug("%d: no pidfd; checking again right before kill()",
	    (int)t->pid);
	if ((g = nf_guard(t, vd)) != NF_G_OK)
		return g;
	if (kill(t->pid, sig) == 0)
		return NF_G_OK;
	if (errno == ESRCH) {
		vd->why = "exited before the signal";
		return vd->v = NF_G_GONE;
	}
	return -errno;
}
