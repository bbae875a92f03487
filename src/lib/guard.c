/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Is the process a PID file names still the one that wrote it? Nothing is
 * signalled unless this says so, and a signal goes through a pidfd opened
 * before the checks, so the PID cannot be recycled between check and kill.
 *
 * The answer is one of: the process meant (OK); exited (GONE); another
 * process that inherited the number (STALE: left alone); a live process
 * that the checks cannot clear but that looks like the server (LOOKALIKE:
 * refused, never stepped around); or facts that cannot be read (UNKNOWN:
 * fail closed). DESIGN.md section 3 is the contract.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nf.h"

/* Is there a flock() on (dev, ino)? 1/0, -1 unknown. Read from /proc/locks
 * rather than by trying a lock, which could make a real locker fail. This
 * is slow (an RCU grace period on recent kernels), so it is asked only on
 * kernels whose fdinfo does not show locks. */
static int
flocked(dev_t dev, ino_t ino)
{
	char buf[16384], pat[64];

	if (nf_readfile("/proc/locks", buf, sizeof(buf)) < 0)
		return -1;
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

/*
 * Does PID hold the PID file open and flock()ed? Its descriptor's fdinfo
 * lists the locks taken through it (Linux 4.1+); without a lock line
 * there, /proc/locks decides (older kernels do not list them).
 */
static int
holds_lock(pid_t pid, const struct stat *st)
{
	char path[64], buf[1024];
	int fd = nf_proc_file_fd(pid, st->st_dev, st->st_ino);
	ssize_t n;

	if (fd < 0)
		return fd == -1 ? 0 : -1;
	nf_fmt(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	if ((n = nf_readfile(path, buf, sizeof(buf))) < 0)
		return -1;
	if (nf_memfind(buf, (size_t)n, "FLOCK", 5))
		return nf_memfind(buf, (size_t)n, "WRITE", 5) != NULL;
	return flocked(st->st_dev, st->st_ino);
}

/* Does the process look like the server (a name it was told, loosely)?
 * 1/0, -1 when its executable cannot be read. */
static int
looks_like(const struct nf_target *t, const struct nf_proc *p)
{
	int unknown = 0;

	for (int i = 0; i < NF_LIKE_MAX && t->like[i]; i++) {
		int r = nf_proc_looks_like(t->pid, p, t->like[i]);

		if (r == 1)
			return 1;
		unknown |= r < 0;
	}
	return unknown ? -1 : 0;
}

static int
verdict(struct nf_verdict *vd, int v, const char *why)
{
	vd->why = why;
	return vd->v = v;
}

/* A process that did not pass: an innocent that inherited the number,
 * or one that looks like the server (refused), or we cannot tell. */
static int
failed(const struct nf_target *t, const struct nf_proc *p,
    struct nf_verdict *vd, const char *why, const char *likewhy)
{
	uint32_t other;

	switch (looks_like(t, p)) {
	case 1:
		/* The same program serving another segment is a sibling
		 * server that got the number (after a reboot, say), not
		 * ours. */
		if (t->has_key && (other = nf_proc_other_seg(t->pid, t->key))) {
			nf_fmt(vd->evidence, sizeof(vd->evidence), "it has "
			    "segment 0x%08x attached, not 0x%08x",
			    (unsigned)other, (unsigned)t->key);
			return verdict(vd, NF_G_STALE, "is another server (it "
			    "has another segment attached)");
		}
		return verdict(vd, NF_G_LOOKALIKE, likewhy);
	case -1:
		return verdict(vd, NF_G_UNKNOWN, "cannot read /proc/PID/exe to "
		    "tell whether it is the server");
	}
	return verdict(vd, NF_G_STALE, why);
}

int
nf_guard(const struct nf_target *t, struct nf_verdict *vd)
{
	struct nf_proc p;
	int r, name_ok = 1, shm = 0;

	vd->evidence[0] = '\0';
	vd->start_ms = 0;
	if (t->pid < 2 || t->pid == getpid())
		return verdict(vd, NF_G_STALE,
		    "is not a target (below 2, or ourselves)");
	r = nf_proc_read(t->pid, &p);
	if (r == 1)
		return verdict(vd, NF_G_GONE, "not running");
	if (r < 0)
		return verdict(vd, NF_G_UNKNOWN, nf_has_proc() ?
		    "cannot read /proc/PID/stat" : nf_noproc_why());
	vd->start_ms = p.start_ms;
	vd->state = p.state;
	if (nf_proc_exited(&p))
		return verdict(vd, NF_G_GONE, "exited (zombie, not yet reaped)");
	nf_fmt(vd->evidence, sizeof(vd->evidence), "comm %s, state %c",
	    p.comm, p.state);
	if (t->name) {
		if ((r = nf_proc_name_is(t->pid, &p, t->name)) < 0)
			return verdict(vd, NF_G_UNKNOWN, "cannot read "
			    "/proc/PID/exe to compare the name");
		name_ok = r;
	}
	/* The segment, ours and attached for writing, is the server. */
	if (t->has_key && (shm = nf_proc_has_shm(t->pid, t->key)) == 1)
		return name_ok ? verdict(vd, NF_G_OK,
		    "has the server's segment attached") :
		    verdict(vd, NF_G_LOOKALIKE, "has the server's segment "
		    "attached, but another name than --name");
	if (!t->pf) {
		if (name_ok)
			return verdict(vd, NF_G_OK, "running");
		return failed(t, &p, vd, "has another name",
		    "has another name than --name, but looks like the server");
	}
	{
		const struct stat *st = &t->pf->st;
		long long mt = nf_mtime_boot_ms(st);
		long long d = (long long)p.start_ms - mt;
		struct timespec now;

		nf_fmt(vd->evidence, sizeof(vd->evidence),
		    "comm %s, state %c, started %lld.%03lld s after boot, pid "
		    "file written %lld.%03lld s after boot", p.comm, p.state,
		    (long long)p.start_ms / 1000, (long long)p.start_ms % 1000,
		    mt / 1000, (mt < 0 ? -mt : mt) % 1000);
		/* Written in the future: the wall clock was stepped back
		 * since; no comparison with it means anything. */
		clock_gettime(CLOCK_REALTIME, &now);
		if ((long long)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec /
		    1000000 > (long long)now.tv_sec * 1000 + now.tv_nsec /
		    1000000 + NF_START_SLACK_MS)
			return verdict(vd, NF_G_UNKNOWN, "the pid file was "
			    "written in the future (the clock was stepped "
			    "back?): cannot tell who the process is");
		/* A filesystem that keeps whole seconds (ext4 with 128-byte
		 * inodes, ext3, some NFS) puts a write up to 999 ms earlier
		 * than it happened. */
		if (d <= NF_START_SLACK_MS + (st->st_mtim.tv_nsec ? 0 : 1000)) {
			if (name_ok)
				return verdict(vd, NF_G_OK,
				    "started before the pid file was written");
			/* The owner of the locked file it holds open. */
			if ((r = holds_lock(t->pid, st)) == 1)
				return verdict(vd, NF_G_OK,
				    "holds the locked pid file");
			return failed(t, &p, vd, "has another name",
			    "has another name than --name, but looks like "
			    "the server");
		}
		if (shm < 0)
			return verdict(vd, NF_G_UNKNOWN, "cannot read "
			    "/proc/PID/maps, and it started after the pid file "
			    "was written");
		return failed(t, &p, vd,
		    "started after the pid file was written (pid reused)",
		    "started after the pid file was written, but looks like "
		    "the server (a clock step, or a server that did not "
		    "write it)");
	}
}

int
nf_verdict_code(int v)
{
	switch (v) {
	case NF_G_OK:
		return NF_OK;
	case NF_G_UNKNOWN:
		return NF_SYS;
	case NF_G_LOOKALIKE:
		return NF_REFUSED;
	default:
		return NF_FALSE;
	}
}

void
nf_target_init(struct nf_target *t, const struct nf_addr *a,
    const struct nf_pidfile *pf, const char *command)
{
	int n = 0;

	memset(t, 0, sizeof(*t));
	t->pf = pf;
	t->pid = pf ? pf->pid : 0;
	t->name = a->name;
	t->has_key = a->has_key;
	t->key = a->key;
	if (a->name)
		t->like[n++] = a->name;
	if (command)
		t->like[n++] = command;
	if (a->title[0])
		t->like[n++] = a->title;
}

int
nf_guarded_kill(const struct nf_target *t, int sig, struct nf_verdict *vd)
{
	int fd, g;

	if (t->pid < 2 || sig < 1) {	/* never kill(0), kill(-1), probes */
		vd->evidence[0] = '\0';
		return verdict(vd, NF_G_STALE, "is not a target");
	}
	fd = nf_pidfd_open(t->pid);
	if (fd < 0 && errno == ESRCH) {
		vd->evidence[0] = '\0';
		return verdict(vd, NF_G_GONE, "not running");
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
		if (e == ESRCH)
			return verdict(vd, NF_G_GONE, "exited before the signal");
		return -e;
	}
	/* No pidfd: check again right before kill() to keep the window small. */
	nf_debug("%d: no pidfd; checking again right before kill()",
	    (int)t->pid);
	{
		unsigned long long first = vd->start_ms;

		if ((g = nf_guard(t, vd)) != NF_G_OK)
			return g;
		if (vd->start_ms != first)	/* another process by now */
			return verdict(vd, NF_G_GONE, "exited before the signal");
	}
	if (kill(t->pid, sig) == 0)
		return NF_G_OK;
	if (errno == ESRCH)
		return verdict(vd, NF_G_GONE, "exited before the signal");
	return -errno;
}
