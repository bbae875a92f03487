/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfrestart --backup FILE|DIR [--keep N] and --restore FILE. A hot restart
 * has one moment when the data is still and whole: the old server has
 * exited and detached, the new one has not attached yet (step 5). The
 * backups are taken there, in nfshm's format (src/lib/backup.c), written
 * atomically; a backup that fails never keeps the new server from
 * starting, the exit status says it failed. A restore (the rollback) is
 * checked whole before the old server is touched, and written there too;
 * one that fails there leaves the service down rather than start a server
 * on a mixture of two states.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/shmhdr.h"
#include "nfrestart-backup.h"

static const char *bkpath, *rsfile;
static int bkdir, how, rsfd = -1;	/* how: 'x' exec, 'd' -d, 0 none */
static unsigned long long keep;
static const uint32_t *keys;
static int nkeys;
static struct nf_bk rb;		/* --restore's header */

int
bk_opt(int c, const char *arg)
{
	const char *why;

	switch (c) {
	case NF_OPT_BACKUP:
	case NF_OPT_RESTORE:
		if (!*arg || (c == NF_OPT_BACKUP ? bkpath : rsfile))
			nf_die(NF_USAGE, "--%s %s: %s", c == NF_OPT_BACKUP ?
			    "backup" : "restore", arg, *arg ? "given twice" :
			    "empty name");
		*(c == NF_OPT_BACKUP ? &bkpath : &rsfile) = arg;
		return 1;
	case NF_OPT_KEEP:
		if (nf_parse_ulong(arg, 1, 100000, &keep, &why) < 0)
			nf_die(NF_USAGE, "--keep %s: %s (1..100000)", arg, why);
		return 1;
	}
	return 0;
}

void
bk_setup(const uint32_t *k, int n, int h)
{
	char dir[PATH_MAX];
	struct stat st;

	keys = k;
	nkeys = n;
	how = h;
	if ((bkpath || rsfile) && !n)
		nf_die(NF_USAGE, "--backup and --restore need -S/-I or --shm");
	if (keep && !bkpath)
		nf_die(NF_USAGE, "--keep needs --backup DIR");
	if (!bkpath || (bkdir = stat(bkpath, &st) == 0 && S_ISDIR(st.st_mode)))
		return;
	/* A file: checked now, for a typo must not cost the backup. */
	nf_dirof(bkpath, dir, sizeof(dir));
	if (lstat(bkpath, &st) == 0 && !S_ISREG(st.st_mode))
		nf_die(NF_USAGE, "--backup %s: not a regular file", bkpath);
	/* A directory meant (a trailing /, --keep, several segments): one
	 * not made yet is said so, with the mkdir that makes it; anything
	 * else there (a file, a symbolic link to nothing) is not one. */
	if (n > 1 || keep || bkpath[strlen(bkpath) - 1] == '/') {
		size_t l = strlen(bkpath);

		while (l > 1 && bkpath[l - 1] == '/')
			l--;
		if (l >= sizeof(dir))
			nf_die(NF_USAGE, "--backup %s: name too long", bkpath);
		memcpy(dir, bkpath, l);
		dir[l] = '\0';
		if (lstat(dir, &st) < 0 && errno == ENOENT)
			nf_die(NF_USAGE, "--backup %s: no such directory "
			    "(mkdir -p %s first); nothing was touched", bkpath,
			    dir);
		nf_die(NF_USAGE, "--backup %s: not a directory%s%s", bkpath,
		    S_ISLNK(st.st_mode) ? " (a symbolic link to nothing)" : "",
		    n > 1 || keep ? keep ? ", for --keep" :
		    ", for several segments" : "");
	}
	if (stat(dir, &st) < 0 && errno == ENOENT)
		nf_die(NF_USAGE, "--backup %s: %s: no such directory (mkdir -p "
		    "%s first); nothing was touched", bkpath, dir, dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		nf_die(NF_USAGE, "--backup %s: %s: not a directory", bkpath,
		    dir);
}

int
bk_restores(uint32_t key)
{
	return rsfd >= 0 && rb.key == key;
}

int
bk_prepare(int force)
{
	unsigned char hdr[NF_SHM_HDR];
	struct nf_seg s;
	int r, i, v, f;

	if (!rsfile)
		return NF_OK;
	if ((r = nf_bk_open(rsfile, &rb, &rsfd)) != NF_OK)
		return r;
	for (i = 0; i < nkeys && keys[i] != rb.key; i++)
		;
	if (rb.kind != NF_BK_SYSV || i == nkeys || !rb.size) {
		char from[272];

		if (rb.kind == NF_BK_SYSV)
			nf_fmt(from, sizeof(from), "0x%08x", (unsigned)rb.key);
		nf_warn("%s: a backup of %s, not of this server's segments "
		    "(0x%08x%s); nothing was touched", rsfile, rb.kind ==
		    NF_BK_SYSV ? from : rb.name, (unsigned)keys[0], nkeys > 1 ?
		    " and --shm" : "");
		return NF_USAGE;
	}
	f = nf_seg_find(rb.key, &s);
	if (f < 0) {
		nf_warn("0x%08x: /proc/sysvipc/shm:", (unsigned)rb.key);
		return NF_SYS;
	}
	if (f == 0 && !s.dest && s.size != rb.size) {
		nf_warn("0x%08x: has %llu bytes, the backup %llu: a server "
		    "could not attach it; nothing was touched (once the server "
		    "is stopped, nfshm rm it)", (unsigned)rb.key,
		    (unsigned long long)s.size, (unsigned long long)rb.size);
		return NF_REFUSED;
	}
	/* Unknown is not 0: the data would be lost after the old server. */
	if ((f || s.dest) && (v = nf_shm_rmid_forced()) != 0) {
		nf_warn("0x%08x: no segment to hold through the gap, and "
		    "kernel.shm_rmid_forced%s would destroy one created there "
		    "before the new server attaches it; nothing was touched",
		    (unsigned)rb.key, v < 0 ? " cannot be read: if it is 1, it" :
		    "=1");
		return v < 0 ? NF_SYS : NF_REFUSED;
	}
	if ((r = nf_bk_verify(rsfd, &rb, rsfile)) != NF_OK)
		return r;
	/* The preflight of this segment is the backup's own header. */
	memset(hdr, 0, sizeof(hdr));
	if (nf_preadall(rsfd, hdr, rb.size < sizeof(hdr) ? (size_t)rb.size :
	    sizeof(hdr), NF_BK_HDR) < 0) {
		nf_warn("%s: read:", rsfile);
		return NF_SYS;
	}
	v = nf_shm_judge(hdr, rb.size, rb.key);
	nf_debug("preflight: %s: %s", rsfile, v == NF_V_NONE ?
	    "not NFShmXFrame's" : nf_shm_verdict_name(v));
	if (v == NF_V_INIT || v == NF_V_REFUSE) {
		nf_warn("%s: verdict %s: %s%s", rsfile, nf_shm_verdict_name(v),
		    v == NF_V_INIT ? "the new server would wipe the restored "
		    "data" : "the new server would refuse it and exit", force ?
		    ": going on (--force)" : "; refusing before touching the "
		    "old server (--force to accept)");
		if (!force)
			return NF_REFUSED;
	}
	return NF_OK;
}

/* YYYYmmddTHHMMSS.mmmZ, UTC: names that sort as the times do. */
static void
stamp(char *buf, size_t n)
{
	struct timespec ts;
	long long f[6];

	clock_gettime(CLOCK_REALTIME, &ts);
	nf_civil((long long)ts.tv_sec, f);
	nf_fmt(buf, n, "%04lld%02lld%02lldT%02lld%02lld%02lld.%03ldZ", f[0], f[1],
	    f[2], f[3], f[4], f[5], ts.tv_nsec / 1000000);
}

/*
 * Rotation: the backups of one key in the directory, oldest (by name)
 * first. A file counts only if it is one: its name is KEY-TIME.nfshm and
 * it is a regular file whose header is sound, of that key, with the size
 * it says. Anything else (a typo'd copy, a file of another key renamed,
 * one we may not read) is neither counted nor removed. The backup just
 * written is counted but never removed, whatever its name says: after the
 * wall clock was stepped back, older backups may have later names.
 */
struct rot {
	const char *pre;	/* 0xKEY- */
	const char *mine;	/* the name just written */
	uint32_t key;
	int n;			/* how many, ours included */
	char oldest[64];	/* the oldest other one */
};

/* Is DIR/NAME a backup of KEY, and not --restore's file (the way back
 * this very run may need)? 1/0. */
static int
is_backup(const char *name, uint32_t key)
{
	struct stat rs;

	unsigned char h[NF_BK_HDR];
	char path[PATH_MAX];
	struct nf_bk b;
	struct stat st;
	int fd, ok = 0;

	nf_fmt(path, sizeof(path), "%s/%s", bkpath, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    nf_preadall(fd, h, sizeof(h), 0) == 0 && !nf_bk_decode(h, &b) &&
	    b.kind == NF_BK_SYSV && b.key == key &&
	    (uint64_t)st.st_size == NF_BK_HDR + b.size &&
	    !(rsfd >= 0 && fstat(rsfd, &rs) == 0 && rs.st_dev == st.st_dev &&
	    rs.st_ino == st.st_ino);
	close(fd);
	return ok;
}

static int
rot_name(const char *name, void *arg)
{
	struct rot *r = arg;
	size_t l = strlen(name);

	/* 0x%08x- (11) YYYYmmddTHHMMSS.mmmZ (20) .nfshm (6) */
	if (l != 37 || strncmp(name, r->pre, 11) || name[19] != 'T' ||
	    strcmp(name + 31, ".nfshm") || !strcmp(name, r->mine) ||
	    !is_backup(name, r->key))
		return 0;
	if (r->n++ == 1 || strcmp(name, r->oldest) < 0)
		memcpy(r->oldest, name, l + 1);
	return 0;
}

static int
rotate(uint32_t key, const char *label, const char *mine)
{
	char pre[16], path[PATH_MAX];
	struct rot r;

	nf_fmt(pre, sizeof(pre), "%s-", label);
	for (;;) {
		r.pre = pre;
		r.mine = mine;
		r.key = key;
		r.n = 1;
		if (nf_dir_each(bkpath, rot_name, &r) < 0) {
			nf_warn("--keep: %s:", bkpath);
			return NF_SYS;
		}
		if ((unsigned long long)r.n <= keep)
			return NF_OK;
		nf_fmt(path, sizeof(path), "%s/%s", bkpath, r.oldest);
		if (unlink(path) < 0) {
			nf_warn("--keep: %s: unlink:", path);
			return NF_SYS;
		}
		nf_info("--keep %llu: %s removed (a previous backup of %s)", keep,
		    path, label);
	}
}

static int
backup(uint32_t key, const char *st)
{
	char label[16], path[PATH_MAX];
	struct nf_bksave sv = { 0 };
	struct nf_bk b;
	struct nf_seg s;
	struct nf_io io;
	int r;

	nf_fmt(label, sizeof(label), "0x%08x", (unsigned)key);
	if ((r = nf_seg_find(key, &s)) < 0) {
		nf_warn("%s: /proc/sysvipc/shm:", label);
		return NF_SYS;
	}
	if (r || s.dest) {
		nf_info("%s: no segment: nothing to back up", label);
		return NF_OK;
	}
	if (bkdir)
		nf_fmt(path, sizeof(path), "%s/%s-%s.nfshm", bkpath, label, st);
	else
		nf_fmt(path, sizeof(path), "%s", bkpath);
	memset(&b, 0, sizeof(b));
	b.kind = NF_BK_SYSV;
	b.key = key;
	b.mode = s.mode;
	b.saved = (uint64_t)time(NULL);
	b.uid = s.uid;
	b.gid = s.gid;
	if (nf_io_sysv(&io, s.shmid, s.size, 0) < 0) {
		nf_warn("%s: shmat:", label);
		return NF_SYS;
	}
	sv.io = &io;
	/* Nothing attached (ours, under shm_rmid_forced, would be): copied
	 * in the kernel, checked after. */
	sv.direct = s.nattch == 0;
	sv.shmid = s.shmid;
	sv.label = label;
	r = nf_bk_save(&sv, &b, path);
	nf_io_close(&io);
	if (r != NF_OK)
		return NF_SYS;
	return keep ? rotate(key, label, path + strlen(bkpath) + 1) : NF_OK;
}

/* Dies DOWN: the old server is gone, and nothing will be started. */
static _Noreturn void
down(const char *what)
{
	nf_die(NF_DOWN, "--restore %s: %s: the new server was not started "
	    "(it would find a mixture, or nothing): DOWN; restore it with "
	    "nfshm restore, then start the server", rsfile, what);
}

static void
restore(void)
{
	char what[256];
	struct nf_seg s, now;
	struct nf_io io;
	long long t0 = nf_now_us();
	int r, failed = 0, created = 0;

	if ((r = nf_seg_find(rb.key, &s)) < 0)
		down("/proc/sysvipc/shm: cannot read the segments");
	if (r || s.dest) {
		if (nf_bk_create(&rb, rb.key, &s) < 0) {
			nf_fmt(what, sizeof(what), "0x%08x: shmget: %m",
			    (unsigned)rb.key);
			down(what);
		}
		created = 1;
	} else if (s.size != rb.size)
		down("the segment's size changed");
	if (nf_io_sysv(&io, s.shmid, s.size, 1) < 0) {
		nf_fmt(what, sizeof(what), "0x%08x: shmat: %m",
		    (unsigned)rb.key);
		down(what);
	}
	r = nf_bk_load(rsfd, &io, &rb, &failed);
	nf_io_close(&io);
	if (r) {
		if (created)
			shmctl(s.shmid, IPC_RMID, NULL);
		nf_fmt(what, sizeof(what), r == 2 ? "changed since it was "
		    "checked" : "%s: %m", failed == 'r' ? "read" : "write");
		down(what);
	}
	if ((r = nf_seg_disturbed(s.shmid, s.nattch, &now)) == 2)
		down("the segment was destroyed meanwhile");
	if (r)
		nf_warn("0x%08x: attached by another process during the "
		    "restore: it may have read or written a mixture",
		    (unsigned)rb.key);
	nf_debug("0x%08x: %llu bytes restored from %s in %lld ms%s",
	    (unsigned)rb.key, (unsigned long long)rb.size, rsfile,
	    (nf_now_us() - t0) / 1000, created ? " (created)" : "");
}

void
bk_plan(void)
{
	char st[32];

	stamp(st, sizeof(st));
	for (int i = 0; bkpath && i < nkeys; i++) {
		if (bkdir)
			nf_out("backup\t0x%08x to %s/0x%08x-%s.nfshm, keep %llu "
			    "(0: all)\n", (unsigned)keys[i], bkpath,
			    (unsigned)keys[i], st, keep);
		else
			nf_out("backup\t0x%08x to %s\n", (unsigned)keys[i],
			    bkpath);
	}
	if (rsfd >= 0)
		nf_out("restore\t%s into 0x%08x (%llu bytes, checked)\n", rsfile,
		    (unsigned)rb.key, (unsigned long long)rb.size);
}

int
bk_gap(void)
{
	char st[32];
	long long t0 = nf_now_us();
	int r = NF_OK;

	if (bkdir)
		stamp(st, sizeof(st));
	for (int i = 0; bkpath && i < nkeys; i++)
		if (backup(keys[i], st) != NF_OK)
			r = NF_SYS;
	if (bkpath)
		nf_debug("backup took %lld.%03lld ms of the gap",
		    (nf_now_us() - t0) / 1000, (nf_now_us() - t0) % 1000);
	if (r != NF_OK)
		nf_warn("the backup failed%s", how == 'x' ? "; the new server "
		    "is started anyway (nfrestart becomes it: only this message "
		    "tells)" : how == 'd' ? "; the new server is started anyway "
		    "(exit status 3 once it is)" : " (exit status 3)");
	if (rsfd >= 0)
		restore();
	return r;
}
