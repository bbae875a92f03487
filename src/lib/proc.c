/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Process facts from /proc, and what kill(2) alone can tell where there is
 * no /proc. Where a fact cannot be read the answer is "unknown", never a
 * guess: the callers fail closed on it.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
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

/*
 * Is there a /proc, and is it ours? A /proc mounted for another PID
 * namespace (unshare --pid without --mount-proc) answers for other
 * processes under the same numbers: its facts would clear the wrong one.
 * It is ours when its "self" is our own PID.
 */
int
nf_proc_kind(void)
{
	static int kind = -1;
	char buf[32], want[32];
	ssize_t n;

	if (kind >= 0)
		return kind;
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n < 0)
		return kind = access("/proc/1", F_OK) == 0 ? NF_PROC_FOREIGN :
		    NF_PROC_NONE;
	buf[n] = '\0';
	nf_fmt(want, sizeof(want), "%d", (int)getpid());
	return kind = strcmp(buf, want) ? NF_PROC_FOREIGN : NF_PROC_OURS;
}

int
nf_has_proc(void)
{
	return nf_proc_kind() == NF_PROC_OURS;
}

/*
 * May processes be hidden from us (/proc mounted with hidepid=2 or
 * invisible)? PID 1 always exists: not root and not seeing it, yes.
 */
int
nf_proc_hidden(void)
{
	return geteuid() != 0 && access("/proc/1", F_OK) < 0 &&
	    (kill(1, 0) == 0 || errno == EPERM);
}

const char *
nf_noproc_why(void)
{
	return nf_proc_kind() == NF_PROC_FOREIGN ?
	    "/proc belongs to another PID namespace (mount one for ours: "
	    "unshare --mount-proc): cannot tell who the process is" :
	    "no /proc: cannot tell who the process is";
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
	char path[64], buf[1024];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (pid < 2) {
		errno = EINVAL;
		return -1;
	}
	if (!nf_has_proc()) {
		if (!exists(pid))
			return 1;
		errno = ENOENT;		/* /proc is missing or not ours */
		return -1;
	}
	nf_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (nf_readfile(path, buf, sizeof(buf)) < 0) {
		if (errno == ENOENT || errno == ESRCH) {
			/* Hidden (hidepid) is not the same as gone. */
			if (!exists(pid))
				return 1;
			errno = EACCES;
		}
		return -1;
	}
	return nf_proc_parse(buf, p);
}

int
nf_proc_parse(const char *buf, struct nf_proc *p)
{
	const char *s, *e;
	unsigned long long ticks = 0, code;
	long hz;

	p->exit_code = -1;
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
	/* Fields from 3 (state) on: threads 20, start time 22, and a
	 * zombie's exit code 52 (Linux 3.5 and later). */
	for (int f = 3; f <= 52; f++) {
		while (*s == ' ')
			s++;
		if (!*s) {
			if (f <= 22) {
				errno = EINVAL;
				return -1;
			}
			break;
		}
		if (f == 3)
			p->state = *s;
		if (f == 20 || f == 22)
			s = nf_scan_ull(s, f == 20 ? &p->threads : &ticks);
		if (f == 52) {
			nf_scan_ull(s, &code);
			p->exit_code = (int)code;
		}
		if (f == 22 && p->state != 'Z')
			break;
		while (*s && *s != ' ')
			s++;
	}
	/* USER_HZ: /proc reports clock ticks of 1/100 s on every Linux ABI
	 * (what sysconf(_SC_CLK_TCK) answers), and sysconf is big. */
	hz = 100;
	p->start_ms = ticks * 1000 / (unsigned long long)hz;
	return 0;
}

/*
 * Has it exited? A zombie has, unless it is a thread-group leader whose
 * other threads still run (its main thread called pthread_exit): its
 * thread count, which still counts the leader, is then above one. That
 * process is alive; its pidfd agrees (readable only when all are gone).
 */
int
nf_proc_exited(const struct nf_proc *p)
{
	if (p->state == 'X' || p->state == 'x')
		return 1;
	return p->state == 'Z' && p->threads <= 1;
}

int
nf_alive(pid_t pid)
{
	struct nf_proc p;
	int r = nf_proc_read(pid, &p);

	if (r == 1)
		return 0;
	if (r < 0) {
		/* Without (our) /proc, kill(pid, 0) is all there is: it
		 * calls a zombie alive, which only makes us wait longer. */
		if (!nf_has_proc())
			return exists(pid);
		return -1;
	}
	return !nf_proc_exited(&p);
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

struct fdscan {
	char path[64];
	dev_t dev;
	ino_t ino;
	int fd;
};

static int
fd_is(const char *name, void *arg)
{
	struct fdscan *f = arg;
	char fpath[96];
	struct stat st;
	unsigned long long n;

	nf_fmt(fpath, sizeof(fpath), "%s/%s", f->path, name);
	if (stat(fpath, &st) == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino) {
		nf_scan_ull(name, &n);
		f->fd = (int)n;
		return 1;
	}
	return 0;
}

int
nf_proc_file_fd(pid_t pid, dev_t dev, ino_t ino)
{
	struct fdscan f;

	f.dev = dev;
	f.ino = ino;
	f.fd = -1;
	nf_fmt(f.path, sizeof(f.path), "/proc/%d/fd", (int)pid);
	if (nf_dir_each(f.path, fd_is, &f) < 0)
		return -2;
	return f.fd;
}

/* The inode of a namespace link (/proc/PID/ns/ipc), 0 when unreadable. */
static unsigned long long
ns_ino(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

int
nf_proc_same_ipcns(pid_t pid)
{
	static unsigned long long ours;
	unsigned long long theirs;
	char path[64];

	if (!ours && !(ours = ns_ino("/proc/self/ns/ipc")))
		return errno == ENOENT ? 1 : -1;	/* no namespaces */
	nf_fmt(path, sizeof(path), "/proc/%d/ns/ipc", (int)pid);
	if (!(theirs = ns_ino(path)))
		return -1;
	return theirs == ours;
}

void
nf_maps_parse(const char *line, struct nf_mapent *e)
{
	const char *p = line, *perms = NULL;

	for (int f = 0; f < 4; f++) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		if (f == 0)
			perms = p;
	}
	e->w = perms[0] && perms[1] == 'w';
	p = nf_scan_ull(p, &e->ino);
	while (*p == ' ')
		p++;
	e->path = p;
}

int
nf_maps_names(const struct nf_mapent *e, const char *name)
{
	size_t nl = strlen(name);

	/* A file removed since is "NAME (deleted)". */
	return !strncmp(e->path, name, nl) && (!e->path[nl] ||
	    e->path[nl] == ' ');
}

struct segmap {
	char name[16];		/* "/SYSV%08x" */
	unsigned long long shmid;
	int rw, ro;
};

/* A writable or read-only mapping of the segment whose inode is its
 * shmid. */
static int
segmap_line(char *line, void *arg)
{
	struct segmap *m = arg;
	struct nf_mapent e;

	nf_maps_parse(line, &e);
	if (e.ino != m->shmid || !nf_maps_names(&e, m->name))
		return 0;
	if (e.w)
		m->rw = 1;
	else
		m->ro = 1;
	return 0;
}

int
nf_proc_has_seg(pid_t pid, uint32_t key, int shmid)
{
	struct segmap m;
	char path[64];
	int ns;

	memset(&m, 0, sizeof(m));
	nf_fmt(m.name, sizeof(m.name), "/SYSV%08x", (unsigned)key);
	m.shmid = (unsigned long long)shmid;
	nf_fmt(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (nf_lines_each(path, segmap_line, &m) < 0)
		return -1;
	if (!m.rw && !m.ro)
		return 0;
	/* The same key and shmid in another IPC namespace is another
	 * segment: another container's server, not ours. */
	if ((ns = nf_proc_same_ipcns(pid)) != 1)
		return ns;
	return m.rw ? 1 : 2;
}

struct otherseg {
	uint32_t key, other;
};

static int
other_line(char *line, void *arg)
{
	struct otherseg *o = arg;
	struct nf_mapent e;
	unsigned long long k;

	nf_maps_parse(line, &e);
	if (strncmp(e.path, "/SYSV", 5) || !e.w)
		return 0;
	nf_scan_base(e.path + 5, 16, &k);	/* "/SYSV%08x" */
	if ((uint32_t)k != o->key && k) {
		o->other = (uint32_t)k;
		return 1;
	}
	return 0;
}

uint32_t
nf_proc_other_seg(pid_t pid, uint32_t key)
{
	struct otherseg o = { key, 0 };
	char path[64];

	if (nf_proc_same_ipcns(pid) != 1)
		return 0;
	nf_fmt(path, sizeof(path), "/proc/%d/maps", (int)pid);
	nf_lines_each(path, other_line, &o);
	return o.other;
}

int
nf_proc_has_shm(pid_t pid, uint32_t key)
{
	/* Our namespace's segment by that key; asking for no access
	 * needs no permission. */
	int id = shmget((key_t)key, 0, 0), r;

	if (id < 0)
		return errno == ENOENT ? 0 : -1;	/* none here */
	r = nf_proc_has_seg(pid, key, id);
	return r == 2 ? 0 : r;		/* read-only: an observer */
}

static const char *
base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

/*
 * Is the process called NAME? Strictly (loose 0): comm, which the kernel
 * cuts to 15 bytes, or the basename of its executable. Loosely, for "does
 * it look like the server" (loose 1): also an executable renamed beside
 * the new build (install -b makes it NAME~; NAME.old, NAME-1.2; or
 * replaced: "NAME (deleted)"). 1/0, -1 when exe cannot be read.
 */
static int
named(pid_t pid, const struct nf_proc *p, const char *name, int loose)
{
	char path[64], exe[PATH_MAX];
	const char *n = base(name), *b;
	size_t nl = strlen(n);
	ssize_t l;

	/* comm is cut to 15 bytes by the kernel: compare that many. */
	if (!strncmp(p->comm, n, 15) && strlen(p->comm) == (nl > 15 ? 15 : nl))
		return 1;
	nf_fmt(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((l = readlink(path, exe, sizeof(exe) - 1)) < 0)
		return errno == ENOENT ? 0 : -1;	/* ENOENT: a kernel thread */
	exe[l] = '\0';
	if (l > 10 && !strcmp(exe + l - 10, " (deleted)"))
		exe[l - 10] = '\0';
	b = base(exe);
	if (!strcmp(b, n))
		return 1;
	return loose && nl && !strncmp(b, n, nl) && strchr("~.-_", b[nl]) &&
	    b[nl];
}

int
nf_proc_name_is(pid_t pid, const struct nf_proc *p, const char *name)
{
	return named(pid, p, name, 0);
}

int
nf_proc_looks_like(pid_t pid, const struct nf_proc *p, const char *name)
{
	return named(pid, p, name, 1);
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
