/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * SysV segments: finding them, reading their NFShmXFrame header without
 * writing a byte, who has them attached, waiting for the last detach, and
 * what would destroy them in a restart's gap. /proc/sysvipc/shm lists every
 * segment whatever its permissions (SHM_STAT skips those we cannot read);
 * shmctl(2) is the fallback where /proc is missing.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "nf.h"
#include "shmhdr.h"

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

/* ---- listing ---- */

struct walk {
	int (*fn)(const struct nf_seg *, void *);
	void *arg;
	int head;
};

/* key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime
 * ctime [rss swap]: all decimal but perms, which is octal. */
static int
sysvipc_line(char *line, void *arg)
{
	struct walk *w = arg;
	unsigned long long v[14];
	struct nf_seg s;
	char *p = line;

	if (w->head) {		/* the column names */
		w->head = 0;
		return 0;
	}
	for (int i = 0; i < 14; i++) {
		const char *e;
		int neg = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '-')
			neg = 1, p++;
		if ((e = nf_scan_base(p, i == 2 ? 8 : 10, &v[i])) == p)
			return 0;	/* not a segment line: skip it */
		p = (char *)e;
		if (neg)
			v[i] = 0ULL - v[i];
	}
	memset(&s, 0, sizeof(s));
	s.key = (uint32_t)v[0];
	s.shmid = (int)v[1];
	s.mode = (unsigned)v[2] & 0777;
	s.dest = (v[2] & SHM_DEST) != 0;
	s.locked = (v[2] & SHM_LOCKED) != 0;
	s.size = v[3];
	s.cpid = (pid_t)v[4];
	s.lpid = (pid_t)v[5];
	s.nattch = (unsigned long)v[6];
	s.uid = (uid_t)v[7];
	s.gid = (gid_t)v[8];
	s.cuid = (uid_t)v[9];
	s.atime = (long long)v[11];
	s.dtime = (long long)v[12];
	s.ctime = (long long)v[13];
	return w->fn(&s, w->arg);
}

static void
from_ds(struct nf_seg *s, int shmid, const struct shmid_ds *ds)
{
	memset(s, 0, sizeof(*s));
	s->key = (uint32_t)ds->shm_perm.__key;
	s->shmid = shmid;
	s->uid = ds->shm_perm.uid;
	s->gid = ds->shm_perm.gid;
	s->cuid = ds->shm_perm.cuid;
	s->mode = ds->shm_perm.mode & 0777;
	s->dest = (ds->shm_perm.mode & SHM_DEST) != 0;
	s->locked = (ds->shm_perm.mode & SHM_LOCKED) != 0;
	s->size = ds->shm_segsz;
	s->nattch = (unsigned long)ds->shm_nattch;
	s->cpid = ds->shm_cpid;
	s->lpid = ds->shm_lpid;
	s->atime = (long long)ds->shm_atime;
	s->dtime = (long long)ds->shm_dtime;
	s->ctime = (long long)ds->shm_ctime;
}

int
nf_seg_each(int (*fn)(const struct nf_seg *, void *), void *arg)
{
	struct walk w = { fn, arg, 1 };
	struct shm_info info;
	struct nf_seg s;
	int max, r;

	r = nf_lines_each("/proc/sysvipc/shm", sysvipc_line, &w);
	if (r >= 0 || errno != ENOENT)
		return r;
	/* No /proc: walk the kernel's table by index. */
	if ((max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info)) < 0)
		return -1;
	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT_ANY, &ds);

		if (id < 0 && errno == EINVAL)
			id = shmctl(i, SHM_STAT, &ds);
		if (id < 0)
			continue;
		from_ds(&s, id, &ds);
		if ((r = fn(&s, arg)))
			return r;
	}
	return 0;
}

struct want {
	int bykey;
	uint32_t key;
	int shmid;
	struct nf_seg *out;
};

static int
match(const struct nf_seg *s, void *arg)
{
	struct want *w = arg;

	if (w->bykey ? s->key == w->key : s->shmid == w->shmid) {
		*w->out = *s;
		return 1;
	}
	return 0;
}

int
nf_seg_byid(int shmid, struct nf_seg *s)
{
	struct want w = { 0, 0, shmid, s };
	int r = nf_seg_each(match, &w);

	return r < 0 ? -1 : r == 1 ? 0 : 1;
}

/* ---- maps ---- */

struct mscan {
	const char *name;
	unsigned long ino;
	int (*fn)(pid_t pid, unsigned long ino, int w, void *arg);
	void *arg;
	pid_t pid;
	size_t unreadable;
};

static int
maps_line(char *line, void *arg)
{
	struct mscan *m = arg;
	struct nf_mapent e;

	nf_maps_parse(line, &e);
	if (!nf_maps_names(&e, m->name) || (m->ino && e.ino != m->ino))
		return 0;
	return m->fn(m->pid, (unsigned long)e.ino, e.w, m->arg);
}

static int
maps_pid(const char *name, void *arg)
{
	struct mscan *m = arg;
	unsigned long long v;
	char path[64];
	int r;

	/* The processes: the entries that are a number. */
	if (*nf_scan_ull(name, &v) || !*name)
		return 0;
	m->pid = (pid_t)v;
	nf_fmt(path, sizeof(path), "/proc/%s/maps", name);
	r = nf_lines_each(path, maps_line, m);
	if (r < 0) {
		/* Gone since the directory was read is not a failure. */
		if (errno != ENOENT && errno != ESRCH)
			m->unreadable++;
		return 0;
	}
	return r;
}

static int
maps_scan(const char *name, unsigned long ino,
    int (*fn)(pid_t, unsigned long, int, void *), void *arg,
    size_t *unreadable)
{
	struct mscan m = { name, ino, fn, arg, 0, 0 };
	int r;

	if (!nf_has_proc()) {
		errno = ENOENT;
		return -1;
	}
	r = nf_dir_each("/proc", maps_pid, &m);
	*unreadable = m.unreadable;
	return r;
}

struct hits {
	pid_t *pids;
	size_t max;
	pid_t last;
	struct nf_maps_hit *h;
};

static int
hit(pid_t pid, unsigned long ino, int w, void *arg)
{
	struct hits *hs = arg;

	(void)ino;
	(void)w;
	hs->h->nmaps++;
	if (pid != hs->last) {	/* a process's lines come together */
		if (hs->h->npids < hs->max)
			hs->pids[hs->h->npids] = pid;
		hs->h->npids++;
		hs->last = pid;
	}
	return 0;
}

int
nf_maps_find(const char *name, unsigned long ino, pid_t *pids, size_t max,
    struct nf_maps_hit *h)
{
	struct hits hs = { pids, max, 0, h };

	memset(h, 0, sizeof(*h));
	if (maps_scan(name, ino, hit, &hs, &h->unreadable) < 0)
		return -1;
	return 0;
}

/* Segments marked for removal, by the key in their maps name. */
struct dests {
	unsigned long ino[16];
	int n;
};

static int
dest_hit(pid_t pid, unsigned long ino, int w, void *arg)
{
	struct dests *d = arg;

	(void)pid;
	(void)w;
	for (int i = 0; i < d->n; i++)
		if (d->ino[i] == ino)
			return 0;
	if (d->n < 16)
		d->ino[d->n++] = ino;
	return 0;
}

int
nf_seg_find(uint32_t key, struct nf_seg *s)
{
	struct want w = { 1, key, 0, s };
	struct dests d = { { 0 }, 0 };
	char name[16];
	size_t unreadable;
	int r;

	if (key == 0) {		/* IPC_PRIVATE: no key finds it */
		errno = EINVAL;
		return -1;
	}
	if ((r = nf_seg_each(match, &w)) < 0)
		return -1;
	if (r == 1)
		return 0;
	nf_fmt(name, sizeof(name), "/SYSV%08x", (unsigned)key);
	if (maps_scan(name, 0, dest_hit, &d, &unreadable) < 0)
		return 1;
	for (int i = 0; i < d.n; i++) {
		/* In maps, a SysV segment's inode is its shmid. */
		if (nf_seg_byid((int)d.ino[i], s) == 0 && s->dest) {
			s->key = key;
			return 0;
		}
	}
	return 1;
}


struct writers {
	pid_t *pids;
	size_t max, n;		/* writers (or, !rwonly, attachers) */
	unsigned long maps;	/* mappings of ours seen: the kernel's nattch */
	pid_t last;
	int unknown;
	int rwonly;
};

static int
writer_hit(pid_t pid, unsigned long ino, int w, void *arg)
{
	struct writers *wr = arg;
	int ns;

	(void)ino;
	/* The same key and shmid in another IPC namespace is another
	 * segment; a process's lines come together. */
	if ((ns = nf_proc_same_ipcns(pid)) < 0)
		wr->unknown = 1;
	if (ns != 1)
		return 0;
	wr->maps++;
	if ((!w && wr->rwonly) || pid == wr->last)
		return 0;
	wr->last = pid;
	if (wr->n < wr->max)
		wr->pids[wr->n] = pid;
	wr->n++;
	return 0;
}

static int
users(const struct nf_seg *s, int rwonly, pid_t *pids, size_t max)
{
	struct writers wr = { pids, max, 0, 0, 0, 0, rwonly };
	char name[16];
	size_t unreadable;

	nf_fmt(name, sizeof(name), "/SYSV%08x", (unsigned)s->key);
	errno = 0;
	if (maps_scan(name, s->shmid >= 0 ? (unsigned long)s->shmid : 0,
	    writer_hit, &wr, &unreadable) < 0)
		return -1;
	/*
	 * Every attachment is a mapping: fewer seen than the kernel counts
	 * means processes we cannot see (hidepid) or read hold some, and
	 * any of them may be a writer.
	 */
	if (unreadable || wr.unknown || (s->shmid >= 0 && wr.maps <
	    s->nattch) || (s->shmid < 0 && nf_proc_hidden())) {
		if (!errno || errno == ENOENT)
			errno = EACCES;
		return -1;
	}
	return (int)wr.n;
}

int
nf_seg_attached(uint32_t key, pid_t *pids, size_t max)
{
	struct nf_seg s;
	int r = nf_seg_find(key, &s);

	if (r != 0)
		return r == 1 ? 0 : -1;
	/* That segment (its shmid) in our IPC namespace, every attacher
	 * seen (what hidepid hides makes it unknown). */
	return users(&s, 0, pids, max);
}

int
nf_seg_writers(const struct nf_seg *s, pid_t *pids, size_t max)
{
	return users(s, 1, pids, max);
}

/* ---- the header ---- */

int
nf_seg_header(const struct nf_seg *s, unsigned char *hdr)
{
	void *m;
	size_t n = s->size < NF_SHM_HDR ? (size_t)s->size : NF_SHM_HDR;

	if ((m = shmat(s->shmid, NULL, SHM_RDONLY)) == (void *)-1)
		return -1;
	memset(hdr, 0, NF_SHM_HDR);
	memcpy(hdr, m, n);
	shmdt(m);
	return 0;
}

int
nf_seg_verdict(const struct nf_seg *s)
{
	unsigned char hdr[NF_SHM_HDR];
	int v;

	if (nf_seg_header(s, hdr) < 0)
		return -1;
	v = nf_shm_judge(hdr, s->size, s->key);
	if (s->dest && v != NF_V_NONE)
		v = NF_V_INIT;
	return v;
}

/* ---- waiting ---- */

int
nf_seg_wait_detached(uint32_t key, long long ms)
{
	struct nf_backoff b;
	long long next;
	struct nf_seg s;
	int r, shmid;

	if ((r = nf_seg_find(key, &s)) != 0)
		return r == 1 ? NF_OK : NF_SYS;
	/* Follow this segment by its id: a new one under the same key is
	 * not the one we were asked about. 1 ms for the first 2 s, then
	 * backing off to 20 ms. */
	shmid = s.shmid;
	nf_backoff_init(&b, ms, 1000, 1000, 20000);
	b.fast = 2000000;
	next = b.t0 + 2000000;
	while (s.nattch) {
		if (!nf_backoff_sleep(&b))
			return NF_TIMEOUT;
		if (nf_verbose && nf_now_us() >= next) {
			long long d = nf_now_us() - b.t0;

			/* -v: a word every 2 s of a long wait. */
			nf_debug("waiting for 0x%08x to be detached (nattch %lu): "
			    "%lld.%lld s", (unsigned)key, s.nattch, d / 1000000,
			    d / 100000 % 10);
			next += 2000000;
		}
		if ((r = nf_seg_byid(shmid, &s)) != 0)
			return r == 1 ? NF_OK : NF_SYS;
	}
	return NF_OK;
}

/* ---- what destroys segments in the gap ---- */

int
nf_shm_rmid_forced(void)
{
	char buf[64], *p = buf;
	unsigned long long v;

	if (nf_readfile("/proc/sys/kernel/shm_rmid_forced", buf,
	    sizeof(buf)) <= 0)
		return -1;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	nf_scan_ull(p, &v);
	return v != 0;
}

static char *
skipws(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int
login_defs(char *line, void *arg)
{
	unsigned long long *max = arg;
	char *p = skipws(line);

	if (strncmp(p, "SYS_UID_MAX", 11) || (p[11] != ' ' && p[11] != '\t'))
		return 0;
	p = skipws(p + 11);
	if (*p >= '0' && *p <= '9')
		nf_scan_ull(p, max);
	return 0;
}

struct logind {
	int section;	/* in [Login] */
	int remove;	/* the last RemoveIPC= seen */
};

static int
logind_line(char *line, void *arg)
{
	struct logind *l = arg;
	char *p = skipws(line), *v, *e;

	if (*p == '[') {
		l->section = !strncmp(p, "[Login]", 7);
		return 0;
	}
	if (!l->section || strncmp(p, "RemoveIPC", 9))
		return 0;
	p = skipws(p + 9);
	if (*p != '=')
		return 0;
	v = skipws(p + 1);
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\r'); e--)
		;
	*e = '\0';
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") ||
	    !strcmp(v, "off"))
		l->remove = 0;
	else if (!strcmp(v, "yes") || !strcmp(v, "true") ||
	    !strcmp(v, "1") || !strcmp(v, "on"))
		l->remove = 1;
	return 0;
}

/* Drop-ins: every *.conf of the four directories, a name in a later
 * (stronger) directory hiding the same name in an earlier one, applied in
 * the order of their names, as systemd does. */
static const char *const dropdirs[] = {
	"/usr/lib/systemd/logind.conf.d", "/usr/local/lib/systemd/logind.conf.d",
	"/run/systemd/logind.conf.d", "/etc/systemd/logind.conf.d"
};

struct names {
	char v[32][96];
	int dir[32];
	int n, cur;
};

static int
dropin_name(const char *name, void *arg)
{
	struct names *ns = arg;
	size_t l = strlen(name);

	if (l < 6 || l >= sizeof(ns->v[0]) || strcmp(name + l - 5, ".conf"))
		return 0;
	for (int i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], name)) {
			ns->dir[i] = ns->cur;
			return 0;
		}
	if (ns->n < 32) {
		memcpy(ns->v[ns->n], name, l + 1);
		ns->dir[ns->n++] = ns->cur;
	}
	return 0;
}

static int
logind_removeipc(void)
{
	static const char *const mains[] = {
		"/etc/systemd/logind.conf", "/run/systemd/logind.conf",
		"/usr/local/lib/systemd/logind.conf",
		"/usr/lib/systemd/logind.conf"
	};
	struct logind l = { 0, 1 };	/* RemoveIPC=yes is the default */
	struct names ns;
	char path[256];

	for (size_t i = 0; i < sizeof(mains) / sizeof(mains[0]); i++) {
		l.section = 0;
		if (nf_lines_each(mains[i], logind_line, &l) >= 0)
			break;
	}
	ns.n = 0;
	for (ns.cur = 0; ns.cur < 4; ns.cur++)
		nf_dir_each(dropdirs[ns.cur], dropin_name, &ns);
	for (int done = 0; done < ns.n; done++) {
		int min = -1;

		/* The next name in order (few names: a selection). */
		for (int i = 0; i < ns.n; i++)
			if (ns.v[i][0] && (min < 0 ||
			    strcmp(ns.v[i], ns.v[min]) < 0))
				min = i;
		nf_fmt(path, sizeof(path), "%s/%s", dropdirs[ns.dir[min]],
		    ns.v[min]);
		l.section = 0;
		nf_lines_each(path, logind_line, &l);
		ns.v[min][0] = '\0';
	}
	return l.remove;
}

int
nf_removeipc_applies(uid_t uid)
{
	unsigned long long sysmax = 999;
	struct stat st;

	nf_lines_each("/etc/login.defs", login_defs, &sysmax);
	if (uid == 0 || (unsigned long long)uid <= sysmax)
		return 0;
	/* logind runs: it keeps its state there. */
	if (stat("/run/systemd/seats", &st) < 0 &&
	    stat("/run/systemd/users", &st) < 0)
		return 0;
	return logind_removeipc();
}

struct pwfind {
	const char *name;	/* by name, or NULL: by uid */
	uid_t uid;
	char *buf;
	size_t n;
};

/* name:password:UID:... */
static int
passwd_line(char *line, void *arg)
{
	struct pwfind *f = arg;
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	unsigned long long v;
	const char *e;

	if (!c2 || c1 == line)
		return 0;
	e = nf_scan_ull(c2 + 1, &v);
	if (e == c2 + 1 || *e != ':' || v > 0xfffffffeULL)
		return 0;
	if (f->name) {
		if (strlen(f->name) != (size_t)(c1 - line) ||
		    strncmp(line, f->name, (size_t)(c1 - line)))
			return 0;
		f->uid = (uid_t)v;
		return 1;
	}
	if (v != f->uid || (size_t)(c1 - line) >= f->n)
		return 0;
	/* A name that would break a tab-separated line is not printed. */
	for (char *p = line; p < c1; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	memcpy(f->buf, line, (size_t)(c1 - line));
	f->buf[c1 - line] = '\0';
	return 1;
}

int
nf_passwd(const char *name, uid_t *uid, char *buf, size_t n)
{
	struct pwfind f = { name, *uid, buf, n };
	int r = nf_lines_each("/etc/passwd", passwd_line, &f);

	if (r < 0)
		return errno == ENOENT ? 0 : -1;
	*uid = f.uid;
	return r;
}

const char *
nf_owner_name(uid_t uid, char *buf, size_t n)
{
	/* As ipcs(1) shows it; the number where no line names the uid. */
	if (nf_passwd(NULL, &uid, buf, n) != 1)
		nf_fmt(buf, n, "%u", (unsigned)uid);
	return buf;
}

void
nf_seg_warn(const struct nf_seg *s)
{
	if (nf_shm_rmid_forced() == 1)
		nf_warn("0x%08x: kernel.shm_rmid_forced=1: the kernel destroys "
		    "a segment as soon as nothing is attached; it will not "
		    "survive a restart gap", (unsigned)s->key);
	if (s->dest)
		nf_warn("0x%08x: marked for removal (shmid %d): it goes with "
		    "its last detach, and a new server will not find it",
		    (unsigned)s->key, s->shmid);
	if (nf_removeipc_applies(s->uid))
		nf_warn("0x%08x: owner uid %u is not a system user and logind "
		    "has RemoveIPC=yes: the segment is removed when that "
		    "user's last session ends", (unsigned)s->key,
		    (unsigned)s->uid);
}
