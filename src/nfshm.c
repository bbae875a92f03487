/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm: inspect, wait on, back up, restore, checksum and remove the shared
 * memory that carries a server's data across a restart: SysV segments by
 * key, POSIX ones by /name (files in /dev/shm). One table (below main's
 * helpers) says each subcommand's options and operands; save and restore
 * are in src/nfshm-copy.c.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>	/* rename(); nothing else of stdio */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/opts.h"
#include "lib/shmhdr.h"
#include "nfshm.h"

static const char usage_text[] =
"usage: nfshm key ID\n"
"       nfshm ls [-Hqv] [-k KEY | -k /NAME] [-u USER]\n"
"       nfshm stat | sum [-qv] [-C DIR] (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm wait [-qv] [-t DUR] [-C DIR] (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm save [-fqv] [--freeze PID] [-C DIR]\n"
"                  (KEY | /NAME | -S SERVER -I ID) FILE\n"
"       nfshm restore [-fqv] [-t DUR] [-C DIR] [-p PIDFILE] FILE\n"
"                     [KEY | /NAME | -S SERVER -I ID]\n"
"       nfshm rm [-fqv] [-t DUR] [-C DIR] [-p PIDFILE]\n"
"                (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm -h | -V\n";
static const char opts_text[] =
"  -S, --server SERVER   with -I: the server's object segment\n"
"  -I, --id ID           its bus ID (w.z.t.i)\n"
"  -C, --chdir DIR       change to DIR first\n"
"  -p, --pidfile FILE    restore, rm: the restart lock of FILE\n"
"  -t, --timeout DUR     wait: give up after DUR; restore, rm: the lock\n"
"  -f, --force           restore, rm: although attached; save: no warning\n"
"      --freeze PID      save: stop PID for the copy, always continue it\n"
"  -H, --no-header       ls: no header line\n"
"  -k, --key KEY|/NAME   ls: this segment only\n"
"  -u, --user USER       ls: this owner's segments only\n"
NF_HELP_COMMON;

int force;			/* -f: the only global */

static _Noreturn void
usage(void)
{
	nf_usage_die(usage_text);
}

/* ---- what the operands name ---- */

void
parse_posix(const char *arg, struct tgt *t)
{
	size_t l = strlen(arg);

	if (l < 2 || l > 255 || strchr(arg + 1, '/') || !strcmp(arg, "/.") ||
	    !strcmp(arg, "/.."))
		nf_die(NF_USAGE, "%s: not a POSIX shared memory name (/NAME, "
		    "no other slash, at most 255 bytes)", arg);
	t->posix = 1;
	t->name = arg;
	nf_fmt(t->path, sizeof(t->path), "/dev/shm%s", arg);
}

/* KEY or /NAME. */
void
parse_tgt(const char *arg, struct tgt *t)
{
	const char *why;

	memset(t, 0, sizeof(*t));
	if (arg[0] == '/') {
		parse_posix(arg, t);
		return;
	}
	if (nf_parse_key(arg, &t->key, &why) < 0)
		nf_die(NF_USAGE, "%s: %s", arg, why);
}

const char *
tname(const struct tgt *t, char *buf, size_t n)
{
	if (t->posix)
		return t->name;
	nf_fmt(buf, n, "0x%08x", (unsigned)t->key);
	return buf;
}

/* 0 found, 1 none; dies 3 on an error. */
int
find(struct tgt *t)
{
	char kb[16];
	int r;

	if (t->posix) {
		if (lstat(t->path, &t->st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				return 1;
			nf_die(NF_SYS, "%s: lstat:", t->path);
		}
		if (!S_ISREG(t->st.st_mode))
			nf_die(NF_USAGE, "%s: not a shared memory object (not a "
			    "regular file)", t->path);
		return 0;
	}
	if ((r = nf_seg_find(t->key, &t->s)) < 0)
		nf_die(NF_SYS, "%s: /proc/sysvipc/shm:", tname(t, kb,
		    sizeof(kb)));
	return r;
}

void
need(struct tgt *t)
{
	char kb[16];

	if (find(t))
		nf_die(NF_FALSE, "%s: no such segment", tname(t, kb,
		    sizeof(kb)));
}

uint64_t
tsize(const struct tgt *t)
{
	return t->posix ? (uint64_t)t->st.st_size : t->s.size;
}

/* Why who maps a segment cannot be told. */
const char *
unknown(void)
{
	return !nf_has_proc() ? "no /proc of ours" : nf_proc_hidden() ?
	    "processes may be hidden from us: /proc hidepid" :
	    "a /proc/PID/maps unreadable, or a process out of our sight";
}

/*
 * Mappings and who holds them: for SysV the kernel's nattch; for POSIX the
 * mappings of the file in /proc/PID/maps. Returns the count, the PIDs in
 * pids (*npids of them, -1 when they cannot be known). A POSIX segment's
 * count is then unknown too: (unsigned long)-1, never 0, for a process we
 * cannot see (hidepid) or read may map it.
 */
unsigned long
attached(const struct tgt *t, pid_t *pids, int *npids)
{
	struct nf_maps_hit h;

	if (!t->posix) {
		*npids = t->s.nattch ? nf_seg_attached(t->key, pids, NPIDS) : 0;
		return t->s.nattch;
	}
	if (nf_maps_find(t->path, (unsigned long)t->st.st_ino, pids, NPIDS,
	    &h) < 0 || h.unreadable || nf_proc_hidden()) {
		*npids = -1;
		return (unsigned long)-1;
	}
	*npids = (int)h.npids;
	return h.nmaps;
}

const char *
pidlist(const pid_t *pids, int n, char *buf, size_t len)
{
	size_t o = 0;

	if (n < 0) {
		nf_fmt(buf, len, "unknown: %s", unknown());
		return buf;
	}
	buf[0] = '\0';
	for (int i = 0; i < n && i < NPIDS && o + 16 < len; i++)
		o += nf_fmt(buf + o, len - o, i ? " %d" : "%d", (int)pids[i]);
	if (n > NPIDS)
		nf_fmt(buf + o, len - o, " ...");
	return n ? buf : "-";
}

/* The contents: a POSIX segment is a file; a SysV one, see segio.c. */
void
io_open(struct nf_io *io, const struct tgt *t, int rw)
{
	char kb[16];
	struct stat st;

	io->fd = -1;
	io->m = NULL;
	io->size = tsize(t);
	if (!t->posix) {
		if (nf_io_sysv(io, t->s.shmid, io->size, rw) < 0)
			nf_die(NF_SYS, "%s: shmat:", tname(t, kb, sizeof(kb)));
		return;
	}
	io->fd = open(t->path, (rw ? O_RDWR : O_RDONLY) | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY);
	if (io->fd < 0)
		nf_die(NF_SYS, "%s: open:", t->path);
	if (fstat(io->fd, &st) < 0)
		nf_die(NF_SYS, "%s: fstat:", t->path);
	if (st.st_ino != t->st.st_ino || st.st_dev != t->st.st_dev ||
	    (uint64_t)st.st_size != io->size)
		nf_die(NF_SYS, "%s: replaced or resized meanwhile", t->path);
}

/* ---- formatting ---- */

static void
iso(char *buf, size_t n, long long t)
{
	if (t <= 0)
		nf_fmt(buf, n, "-");
	else
		nf_iso(buf, n, t, -1);
}

/* The permission bits in octal as ipcs(1) prints them: 666, 600, 0 (nf_fmt
 * has no %o). */
static void
octal(char *buf, unsigned m)
{
	int i = 0;

	m &= 0777;
	for (int sh = 6; sh >= 0; sh -= 3)
		if (i || (m >> sh) || !sh)
			buf[i++] = (char)('0' + ((m >> sh) & 7));
	buf[i] = '\0';
}

enum { F_KIND, F_KEY, F_SHMID, F_OWNER, F_PERMS, F_BYTES, F_NATTCH, F_CPID,
    F_LPID, F_ATIME, F_DTIME, F_CTIME, F_FLAGS, NF_FIELDS };
static const char *const fname[NF_FIELDS] = {
	"kind", "key", "shmid", "owner", "perms", "bytes", "nattch", "cpid",
	"lpid", "attached", "detached", "changed", "flags"
};

struct row {
	char v[NF_FIELDS][272];
};

static void
row_sysv(struct row *r, const struct nf_seg *s)
{
	nf_fmt(r->v[F_KIND], 272, "sysv");
	nf_fmt(r->v[F_KEY], 272, "0x%08x", (unsigned)s->key);
	nf_fmt(r->v[F_SHMID], 272, "%d", s->shmid);
	nf_owner_name(s->uid, r->v[F_OWNER], 272);
	octal(r->v[F_PERMS], s->mode);
	nf_fmt(r->v[F_BYTES], 272, "%llu", (unsigned long long)s->size);
	nf_fmt(r->v[F_NATTCH], 272, "%lu", s->nattch);
	nf_fmt(r->v[F_CPID], 272, "%d", (int)s->cpid);
	nf_fmt(r->v[F_LPID], 272, "%d", (int)s->lpid);
	iso(r->v[F_ATIME], 272, s->atime);
	iso(r->v[F_DTIME], 272, s->dtime);
	iso(r->v[F_CTIME], 272, s->ctime);
	nf_fmt(r->v[F_FLAGS], 272, "%s%s%s", s->dest ? "dest" : "",
	    s->dest && s->locked ? "," : "", s->locked ? "locked" : "");
	if (!s->dest && !s->locked)
		nf_fmt(r->v[F_FLAGS], 272, "-");
}

static void
row_posix(struct row *r, const char *name, const struct stat *st)
{
	nf_fmt(r->v[F_KIND], 272, "posix");
	nf_fmt(r->v[F_KEY], 272, "%s", name);
	nf_fmt(r->v[F_SHMID], 272, "-");
	nf_owner_name(st->st_uid, r->v[F_OWNER], 272);
	octal(r->v[F_PERMS], (unsigned)st->st_mode & 07777);
	nf_fmt(r->v[F_BYTES], 272, "%lld", (long long)st->st_size);
	for (int i = F_NATTCH; i <= F_DTIME; i++)
		nf_fmt(r->v[i], 272, "-");
	iso(r->v[F_CTIME], 272, (long long)st->st_ctim.tv_sec);
	nf_fmt(r->v[F_FLAGS], 272, "-");
}

static void
row_line(const struct row *r)
{
	for (int i = 0; i < NF_FIELDS; i++) {
		nf_out("%s", r->v[i]);
		nf_out(i + 1 < NF_FIELDS ? "\t" : "\n");
	}
}

/* ---- key ---- */

static int
cmd_key(struct run *r)
{
	const char *why, *id = r->argv[0];
	uint32_t k, b;

	if (nf_parse_busid(id, &k, &why) < 0)
		nf_die(NF_USAGE, "%s: %s", id, why);
	b = nf_buskey(k);
	nf_out("object\t0x%08x\t%u\n", (unsigned)k, (unsigned)k);
	nf_out("bus\t0x%08x\t%u\n", (unsigned)b, (unsigned)b);
	return NF_OK;
}

/* ---- ls ---- */

static int
ls_sysv(const struct nf_seg *s, void *arg)
{
	struct lsf *f = arg;
	struct row r;

	if ((f->byuid && s->uid != f->uid) || (f->bykey && (f->k.posix ||
	    s->key != f->k.key)))
		return 0;
	row_sysv(&r, s);
	row_line(&r);
	f->n++;
	return 0;
}

static int
ls_posix(const char *name, void *arg)
{
	struct lsf *f = arg;
	char path[320], nm[272];
	struct stat st;
	struct row r;

	/* sem.NAME are POSIX semaphores, not shared memory. */
	if (!strncmp(name, "sem.", 4) || strlen(name) > 255)
		return 0;
	nf_fmt(nm, sizeof(nm), "/%s", name);
	if (f->bykey && (!f->k.posix || strcmp(f->k.name, nm)))
		return 0;
	nf_fmt(path, sizeof(path), "/dev/shm/%s", name);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (f->byuid && st.st_uid != f->uid)
		return 0;
	row_posix(&r, nm, &st);
	row_line(&r);
	f->n++;
	return 0;
}

static uid_t
parse_user(const char *s)
{
	unsigned long long v;
	const char *why;
	uid_t uid = 0;
	int r;

	if (nf_parse_ulong(s, 0, 0xfffffffeULL, &v, &why) == 0)
		return (uid_t)v;
	if (!*s || strchr(s, ':') || strchr(s, '\n'))
		nf_die(NF_USAGE, "-u %s: not a user name or uid", s);
	if ((r = nf_passwd(s, &uid, NULL, 0)) < 0)
		nf_die(NF_SYS, "/etc/passwd: read:");
	if (r == 0)
		nf_die(NF_USAGE, "-u %s: no such user", s);
	return uid;
}

static int
cmd_ls(struct run *r)
{
	struct lsf *f = &r->f;

	if (!r->noheader) {
		for (int i = 0; i < NF_FIELDS; i++)
			nf_out("%s%s", fname[i], i + 1 < NF_FIELDS ? "\t" :
			    "\n");
	}
	if (nf_seg_each(ls_sysv, f) < 0)
		nf_die(NF_SYS, "/proc/sysvipc/shm:");
	if (nf_dir_each("/dev/shm", ls_posix, f) < 0 && errno != ENOENT)
		nf_die(NF_SYS, "/dev/shm:");
	if (nf_shm_rmid_forced() == 1)
		nf_warn("kernel.shm_rmid_forced=1: the kernel destroys a "
		    "segment as soon as nothing is attached; none will "
		    "survive a restart gap");
	return f->n ? NF_OK : NF_FALSE;
}

/* ---- stat ---- */

static void
field(const char *name, const char *v)
{
	nf_out("%s\t", name);
	nf_out("%s\n", v);
}

static int
stat_header(const struct tgt *t)
{
	unsigned char hdr[NF_SHM_HDR];
	char buf[64], kb[16];
	const struct nf_seg *s = &t->s;
	int v;

	if (nf_seg_header(s, hdr) < 0) {
		nf_warn("%s: shmat: cannot read the header: %m",
		    tname(t, kb, sizeof(kb)));
		return NF_SYS;
	}
	v = nf_shm_judge(hdr, s->size, s->key);
	if (v != NF_V_NONE) {
		uint64_t crc = nf_shm_crc(hdr);
		int32_t init = nf_shm_get32(hdr, NF_SHM_OFF_INIT);
		int32_t ver = nf_shm_get32(hdr, NF_SHM_OFF_VERSION);

		nf_fmt(buf, sizeof(buf), "0x%08x",
		    (unsigned)nf_shm_get32(hdr, NF_SHM_OFF_KEY));
		field("hdr_key", buf);
		nf_fmt(buf, sizeof(buf), "%llu", (unsigned long long)
		    nf_shm_get64(hdr, NF_SHM_OFF_SIZE));
		field("hdr_size", buf);
		iso(buf, sizeof(buf), (long long)nf_shm_get64(hdr,
		    NF_SHM_OFF_CREATE));
		field("hdr_created", buf);
		iso(buf, sizeof(buf), (long long)nf_shm_get64(hdr,
		    NF_SHM_OFF_STAMP));
		field("hdr_stamp", buf);
		nf_fmt(buf, sizeof(buf), "0x%016llx", (unsigned long long)
		    nf_shm_get64(hdr, NF_SHM_OFF_CRC));
		field("hdr_crc", buf);
		field("hdr_crc_ok", crc == nf_shm_get64(hdr, NF_SHM_OFF_CRC) ?
		    "yes" : "no");
		nf_fmt(buf, sizeof(buf), "%d", (int)init);
		field("hdr_init", buf);
		nf_fmt(buf, sizeof(buf), "%d", (int)ver);
		field("hdr_version", buf);
		if (s->dest)
			v = NF_V_INIT;
		if (s->dest)
			nf_info("%s: INIT: marked for removal, a new server "
			    "starts with an empty segment", tname(t, kb,
			    sizeof(kb)));
		else if (v == NF_V_REFUSE)
			nf_info("%s: REFUSE: check version %d, not %d: a new "
			    "server exits at once", tname(t, kb, sizeof(kb)),
			    (int)ver, NF_SHM_VERSION);
		else if (v == NF_V_INIT)
			nf_info("%s: INIT: init flag %d, not %d: a new server "
			    "wipes the data", tname(t, kb, sizeof(kb)),
			    (int)init, NF_SHM_INIT_OK);
	}
	field("verdict", nf_shm_verdict_name(v));
	return NF_OK;
}

static int
cmd_stat(struct run *run)
{
	struct tgt *t = &run->t;
	pid_t pids[NPIDS];
	char buf[NPIDS * 12 + 8];
	struct row r;
	int np;

	need(t);
	if (t->posix)
		row_posix(&r, t->name, &t->st);
	else
		row_sysv(&r, &t->s);
	if (!t->posix && t->s.dest)	/* the kernel has cleared it */
		nf_fmt(r.v[F_KEY], 272, "0x%08x", (unsigned)t->key);
	if (t->posix) {
		unsigned long n = attached(t, pids, &np);

		if (np >= 0)
			nf_fmt(r.v[F_NATTCH], 272, "%lu", n);
	} else
		attached(t, pids, &np);
	for (int i = 0; i < NF_FIELDS; i++)
		field(fname[i], r.v[i]);
	field("pids", pidlist(pids, np, buf, sizeof(buf)));
	if (!t->posix)
		nf_seg_warn(&t->s);
	if (t->posix) {
		field("verdict", "NONE");
		return NF_OK;
	}
	return stat_header(t);
}

/* ---- wait ---- */

static int
cmd_wait(struct run *run)
{
	struct tgt *t = &run->t;
	long long ms = run->ms;
	struct nf_backoff b;
	pid_t pids[NPIDS];
	char buf[NPIDS * 12 + 8], kb[16];
	int r, np;

	need(t);
	if (!t->posix) {
		nf_seg_warn(&t->s);
		r = nf_seg_wait_detached(t->key, ms);
		if (r == NF_SYS)
			nf_die(NF_SYS, "%s: /proc/sysvipc/shm:", tname(t, kb,
			    sizeof(kb)));
		if (r == NF_TIMEOUT) {
			if (find(t) == 0) {
				attached(t, pids, &np);
				nf_warn("%s: still attached (nattch %lu, pids "
				    "%s)",
				    tname(t, kb, sizeof(kb)), t->s.nattch,
				    pidlist(pids, np, buf, sizeof(buf)));
			}
		}
		return r;
	}
	/* POSIX: no nattch in the kernel; look at the maps, gently: every
	 * 10 ms, then 10 ms less often each time, up to 100 ms. */
	nf_backoff_init(&b, ms, 10000, 10000, 100000);
	for (;;) {
		unsigned long n;

		if (find(t))
			return NF_OK;
		n = attached(t, pids, &np);
		if (np < 0)
			nf_die(NF_SYS, "%s: cannot tell who has it mapped (%s)",
			    t->name, unknown());
		if (n == 0)
			return NF_OK;
		if (!nf_backoff_sleep(&b)) {
			nf_warn("%s: still mapped (pids %s)", t->name,
			    pidlist(pids, np, buf, sizeof(buf)));
			return NF_TIMEOUT;
		}
	}
}

/* ---- sum ---- */

static int
cmd_sum(struct run *r)
{
	struct tgt *t = &r->t;
	static unsigned char buf[NF_CHUNK];
	const unsigned char *p;
	char kb[16];
	struct nf_sum s;
	struct nf_io io;

	need(t);
	io_open(&io, t, 0);
	nf_sum_init(&s);
	for (uint64_t off = 0; off < io.size;) {
		size_t k = io.size - off < NF_CHUNK ? (size_t)(io.size - off) :
		    NF_CHUNK;

		if (!(p = nf_io_get(&io, off, buf, k)))
			nf_die(NF_SYS, "%s: read:", tname(t, kb, sizeof(kb)));
		nf_sum_update(&s, p, k);
		off += k;
	}
	nf_io_close(&io);
	nf_out("%016llx\n", (unsigned long long)nf_sum_final(&s));
	return NF_OK;
}

/* ---- locks, for rm and restore ---- */

int
lock(const struct nf_addr *a, long long ms)
{
	int fd = -1, r;

	if (!a->pidfile)
		return -1;
	r = nf_restart_lock(a->pidfile, a->unsafe, ms, &fd);
	if (r == NF_BUSY)
		nf_die(NF_BUSY, NF_BUSY_FMT "; nothing done", a->pidfile,
		    a->pidfile);
	if (r != NF_OK)
		nf_die(r, "%s.lock: cannot take the restart lock:", a->pidfile);
	nf_debug("%s.lock: taken", a->pidfile);
	return fd;
}

/* Refuses (5) while attached, unless --force; 3 when it cannot be known. */
void
check_detached(struct tgt *t, const char *what)
{
	pid_t pids[NPIDS];
	char buf[NPIDS * 12 + 8], kb[16];
	unsigned long n;
	int np;

	n = attached(t, pids, &np);
	if (t->posix && np < 0) {
		if (!force)
			nf_die(NF_SYS, "%s: cannot tell who has it mapped (%s); "
			    "not %s (--force to go on)", t->name, unknown(), what);
		nf_warn("%s: cannot tell who has it mapped (%s); %s anyway "
		    "(--force)", t->name, unknown(), what);
		return;
	}
	if (n && !force)
		nf_die(NF_REFUSED, "%s: attached (nattch %lu, pids %s); not %s "
		    "(--force to go on)", tname(t, kb, sizeof(kb)), n,
		    pidlist(pids, np, buf, sizeof(buf)), what);
	if (n)
		nf_warn("%s: attached (nattch %lu, pids %s); %s anyway (--force)",
		    tname(t, kb, sizeof(kb)), n, pidlist(pids, np, buf,
		    sizeof(buf)), what);
}

/* ---- rm ---- */

static int
cmd_rm(struct run *r)
{
	struct tgt *t = &r->t;
	char kb[16];

	need(t);
	lock(&r->a, r->ms);
	/* Look again under the lock: a restart may have run meanwhile. */
	need(t);
	check_detached(t, "removed");
	if (t->posix) {
		if (unlink(t->path) < 0)
			nf_die(errno == ENOENT ? NF_FALSE : NF_SYS, "%s: unlink:",
			    t->path);
	} else {
		if (t->s.dest)
			nf_info("%s: already marked for removal", tname(t, kb,
			    sizeof(kb)));
		if (shmctl(t->s.shmid, IPC_RMID, NULL) < 0)
			nf_die(errno == EINVAL || errno == EIDRM ? NF_FALSE :
			    NF_SYS, "%s: shmctl IPC_RMID:", tname(t, kb,
			    sizeof(kb)));
		if (t->s.nattch)
			nf_info("%s: marked for removal; the data stays until "
			    "its last detach", tname(t, kb, sizeof(kb)));
	}
	nf_debug("%s: removed", tname(t, kb, sizeof(kb)));
	return NF_OK;
}

/* ---- the subcommands ---- */

/*
 * Each subcommand: the options it takes besides -h, -q, -v and -V ('F' is
 * --freeze); where its segment is named (SEG: 0 nowhere; 1 by -S/-I or the
 * first operand; 2 by -S/-I, an operand after FILE, or the backup); how
 * many operands it takes besides; -t's default (rm, restore: a held
 * restart lock is 4 at once).
 */
static const struct cmd {
	const char *name;
	const char *opts;
	int seg, args;
	long long ms;
	int (*run)(struct run *);
} cmds[] = {
	{ "key",	"",		0, 1, -1, cmd_key },
	{ "ls",		"Hku",		0, 0, -1, cmd_ls },
	{ "stat",	"CIS",		1, 0, -1, cmd_stat },
	{ "sum",	"CIS",		1, 0, -1, cmd_sum },
	{ "wait",	"CISt",		1, 0, -1, cmd_wait },
	{ "save",	"CFfIS",	1, 1, -1, cmd_save },
	{ "restore",	"CfIpSt",	2, 1, 0, cmd_restore },
	{ "rm",		"CfIpSt",	1, 0, 0, cmd_rm },
};

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "server", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'I' },
		{ "chdir", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "key", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "freeze", required_argument, NULL, 'F' },
		NF_COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd *c = NULL;
	struct run r;
	const char *why;
	unsigned long long fpid;
	int ch;

	nf_init(argv[0]);
	nf_copy_threads();
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		nf_ecommon_opt('h', usage_text, opts_text, "nfshm");
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		nf_ecommon_opt('V', usage_text, opts_text, "nfshm");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			c = &cmds[i];
	if (!c) {
		nf_warn("%s: unknown command", argv[1]);
		usage();
	}
	argc--, argv++;
	memset(&r, 0, sizeof(r));
	r.ms = c->ms;
	while ((ch = nf_getopt(argc, argv, "C:fHhI:k:p:qS:t:u:vV",
	    lo)) != -1) {
		if (nf_ecommon_opt(ch, usage_text, opts_text, "nfshm"))
			continue;
		/* Only the subcommand's own; -k, -u, --freeze once. */
		if (ch == '?' || !strchr(c->opts, ch) ||
		    (ch == 'k' && r.f.bykey) || (ch == 'u' && r.f.byuid) ||
		    (ch == 'F' && r.fpid))
			usage();
		switch (ch) {
		case 'f':
			force = 1;
			break;
		case 'H':
			r.noheader = 1;
			break;
		case 'k':
			parse_tgt(nf_optarg, &r.f.k);
			r.f.bykey = 1;
			break;
		case 't':
			r.ms = nf_edur("-t", nf_optarg);
			break;
		case 'u':
			r.f.uid = parse_user(nf_optarg);
			r.f.byuid = 1;
			break;
		case 'F':
			if (nf_parse_ulong(nf_optarg, 2, nf_pid_max(), &fpid,
			    &why) < 0 || fpid == (unsigned long long)getpid())
				nf_die(NF_USAGE, "--freeze %s: %s", nf_optarg,
				    fpid ? "our own pid" : why);
			r.fpid = (pid_t)fpid;
			break;
		default:	/* -C, -I, -p, -S */
			nf_eaddr_opt(&r.a, ch, nf_optarg);
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	if (c->seg) {
		nf_eaddr_finish(&r.a, 0);	/* -S/-I checked, -C done */
		if (r.a.server) {
			r.t.key = r.a.key;
			r.have_tgt = 1;
		} else if (c->seg == 1 && argc > 0) {
			parse_tgt(argv[0], &r.t);
			r.have_tgt = 1;
			argc--, argv++;
		} else if (c->seg == 2 && argc == c->args + 1) {
			parse_tgt(argv[c->args], &r.t);
			r.have_tgt = 1;
			argc--;
		}
		if (c->seg == 1 && !r.have_tgt)
			usage();
	}
	if (argc != c->args)
		usage();
	r.argc = argc;
	r.argv = argv;
	nf_exit(c->run(&r));
}
