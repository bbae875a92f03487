/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm: inspect, wait on, back up, restore, checksum and remove the shared
 * memory that carries a server's data across a restart: SysV segments by
 * key, POSIX ones by /name (files in /dev/shm).
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

#include "lib/nf.h"
#include "lib/opts.h"
#include "lib/shmhdr.h"
#include "nfshm-freeze.h"

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

/* Option flags: the only globals. */
static int force, noheader;

#define NPIDS 64

static void
usage(void)
{
	nf_usage_die(usage_text);
}

/* -h: the usage on stdout, a line at a time (nf_out takes 512 bytes). */
static _Noreturn void
help(void)
{
	char line[128];

	for (const char *p = usage_text; *p;) {
		size_t n = strcspn(p, "\n");

		memcpy(line, p, n < sizeof(line) ? n : sizeof(line) - 1);
		line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
		nf_out("%s\n", line);
		p += n + (p[n] == '\n');
	}
	nf_exit(NF_OK);
}

/* ---- what the operands name ---- */

struct tgt {
	int posix;
	uint32_t key;
	const char *name;	/* /NAME */
	char path[320];		/* /dev/shm/NAME */
	struct nf_seg s;	/* SysV */
	struct stat st;		/* POSIX */
};

static void
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
static void
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

static const char *
tname(const struct tgt *t, char *buf, size_t n)
{
	if (t->posix)
		return t->name;
	nf_fmt(buf, n, "0x%08x", (unsigned)t->key);
	return buf;
}

/* 0 found, 1 none; dies 3 on an error. */
static int
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

static void
need(struct tgt *t)
{
	char kb[16];

	if (find(t))
		nf_die(NF_FALSE, "%s: no such segment", tname(t, kb,
		    sizeof(kb)));
}

static uint64_t
tsize(const struct tgt *t)
{
	return t->posix ? (uint64_t)t->st.st_size : t->s.size;
}

/* Why who maps a segment cannot be told. */
static const char *
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
static unsigned long
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

static const char *
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
static void
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
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		nf_fmt(buf, n, "-");
		return;
	}
	nf_fmt(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Four octal digits, as chmod takes them (nf_fmt has no %o). */
static void
octal(char *buf, unsigned m)
{
	for (int i = 3; i >= 0; i--, m >>= 3)
		buf[i] = (char)('0' + (m & 7));
	buf[4] = '\0';
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
	nf_fmt(r->v[F_OWNER], 272, "%u", (unsigned)s->uid);
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
	nf_fmt(r->v[F_OWNER], 272, "%u", (unsigned)st->st_uid);
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
cmd_key(int argc, char **argv)
{
	const char *why;
	uint32_t k, b;

	if (argc != 1)
		usage();
	if (nf_parse_busid(argv[0], &k, &why) < 0)
		nf_die(NF_USAGE, "%s: %s", argv[0], why);
	b = nf_buskey(k);
	nf_out("object\t0x%08x\t%u\n", (unsigned)k, (unsigned)k);
	nf_out("bus\t0x%08x\t%u\n", (unsigned)b, (unsigned)b);
	return NF_OK;
}

/* ---- ls ---- */

struct lsf {
	int byuid;
	uid_t uid;
	int bykey;
	struct tgt k;
	int n;
};

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

struct pwq {
	const char *name;
	long long uid;
};

/* name:password:uid:... */
static int
pw_line(char *line, void *arg)
{
	struct pwq *q = arg;
	size_t l = strlen(q->name);
	char *p;
	long long v = 0;

	if (strncmp(line, q->name, l) || line[l] != ':')
		return 0;
	if (!(p = strchr(line + l + 1, ':')))
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	if (*p != ':')
		return 0;
	q->uid = v;
	return 1;
}

static uid_t
parse_user(const char *s)
{
	unsigned long long v;
	const char *why;
	struct pwq q = { s, -1 };

	if (nf_parse_ulong(s, 0, 0xfffffffeULL, &v, &why) == 0)
		return (uid_t)v;
	if (!*s || strchr(s, ':') || strchr(s, '\n'))
		nf_die(NF_USAGE, "-u %s: not a user name or uid", s);
	if (nf_lines_each("/etc/passwd", pw_line, &q) < 0 && errno != ENOENT)
		nf_die(NF_SYS, "/etc/passwd: read:");
	if (q.uid < 0)
		nf_die(NF_USAGE, "-u %s: no such user", s);
	return (uid_t)q.uid;
}

static int
cmd_ls(struct lsf *f, int argc)
{
	if (argc)
		usage();
	if (!noheader) {
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
cmd_stat(struct tgt *t)
{
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
cmd_wait(struct tgt *t, long long ms)
{
	long long start = nf_now_us(), step = 10;
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
				nf_warn("%s: still attached (nattch %lu): %s",
				    tname(t, kb, sizeof(kb)), t->s.nattch,
				    pidlist(pids, np, buf, sizeof(buf)));
			}
		}
		return r;
	}
	/* POSIX: no nattch in the kernel; look at the maps, gently. */
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
		if (ms >= 0 && nf_now_us() - start >= ms * 1000) {
			nf_warn("%s: still mapped: %s", t->name,
			    pidlist(pids, np, buf, sizeof(buf)));
			return NF_TIMEOUT;
		}
		nf_sleep_ms(step);
		if (step < 100)
			step += 10;
	}
}

/* ---- sum ---- */

static int
cmd_sum(struct tgt *t)
{
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

/* ---- save ---- */

/*
 * --freeze PID: does PID have this very segment attached for writing? For
 * SysV, its maps must show the segment's shmid and it must be in our IPC
 * namespace (the same key there is another server's segment). 1 yes; for
 * POSIX 0, left to the maps. Dies 5 when not, 3 when it cannot be told.
 */
static int
freeze_has(const struct tgt *t, pid_t pid)
{
	char kb[16];
	int r;

	if (t->posix)
		return 0;
	if ((r = nf_proc_has_seg(pid, t->key, t->s.shmid)) < 0)
		nf_die(NF_SYS, "--freeze %d: cannot read its maps or IPC "
		    "namespace: not stopping it; nothing saved", (int)pid);
	if (r != 1)
		nf_die(NF_REFUSED, "--freeze %d: it does not have %s attached%s: "
		    "not stopping a process that is not its server; nothing "
		    "saved", (int)pid, tname(t, kb, sizeof(kb)), r ?
		    " for writing (an observer)" : "");
	return 1;
}

static void
on_sig(int sig)
{
	nf_caught = sig;
}

static int
cmd_save(struct tgt *t, const char *file, pid_t fpid)
{
	char kb[16], buf[NPIDS * 12 + 8];
	const char *base = strrchr(file, '/');
	struct stat st;
	struct nf_bk b;
	struct nf_bksave sv = { 0 };
	struct freeze fz;
	struct sigaction sa;
	pid_t pids[NPIDS];
	struct nf_io io;
	unsigned long n;
	int np, r, others = 0, found = 0;

	/* The destination first: nothing is created if it is wrong. */
	if (!*file || (base && !base[1]) || strlen(file) > 4000)
		nf_die(NF_USAGE, "%s: not a file name", file);
	if (lstat(file, &st) == 0 && !S_ISREG(st.st_mode))
		nf_die(NF_USAGE, "%s: %s", file, S_ISLNK(st.st_mode) ?
		    "is a symbolic link (give the real path)" :
		    "not a regular file");
	need(t);
	if (fpid) {
		freeze_open(&fz, fpid);
		found = freeze_has(t, fpid);
	}
	n = attached(t, pids, &np);
	for (int i = 0; i < np && i < NPIDS; i++)
		*(pids[i] == fpid ? &found : &others) = 1;
	/* Who else has it cannot be told: perhaps someone. A SysV segment
	 * attached once is attached by PID alone. */
	if (np < 0)
		others = t->posix || n > 1;
	if (fpid && np < 0 && t->posix)
		nf_die(NF_SYS, "%s: cannot tell who has it mapped (%s): not "
		    "stopping %d; nothing saved", t->name, unknown(), (int)fpid);
	if (fpid && !found)
		nf_die(NF_REFUSED, "--freeze %d: it does not have %s mapped: "
		    "not stopping a process that is not its server; nothing "
		    "saved", (int)fpid, t->name);
	if (fpid && others && !force)
		nf_warn("%s: attached by others too (%s): only %d is stopped; "
		    "the copy may be torn (-f: no warning)", tname(t, kb,
		    sizeof(kb)), pidlist(pids, np, buf, sizeof(buf)), (int)fpid);
	if (!fpid && n && !force) {
		if (np < 0 && t->posix)
			nf_warn("%s: cannot tell who has it mapped (%s): the copy "
			    "may be torn (-f: no warning)", t->name, unknown());
		else
			nf_warn("%s: attached (%s): the copy may be torn (-f: "
			    "save anyway without this warning)", tname(t, kb,
			    sizeof(kb)), pidlist(pids, np, buf, sizeof(buf)));
	}
	if (!t->posix)
		nf_seg_warn(&t->s);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	memset(&b, 0, sizeof(b));
	b.kind = t->posix ? NF_BK_POSIX : NF_BK_SYSV;
	b.key = t->posix ? 0 : t->key;
	b.mode = t->posix ? (unsigned)t->st.st_mode & 0777 : t->s.mode;
	b.saved = (uint64_t)time(NULL);
	b.uid = t->posix ? t->st.st_uid : t->s.uid;
	b.gid = t->posix ? t->st.st_gid : t->s.gid;
	if (t->posix)
		nf_fmt(b.name, sizeof(b.name), "%s", t->name);
	io_open(&io, t, 0);
	sv.io = &io;
	/* Copied in the kernel when nothing else writes (nothing attached,
	 * or only the server, stopped); checked after. */
	sv.direct = !t->posix && (fpid ? !others : t->s.nattch == 0);
	sv.shmid = t->posix ? -1 : t->s.shmid;
	sv.natt = fpid ? n : 0;
	sv.label = tname(t, kb, sizeof(kb));
	if (fpid) {
		freeze_stop(&fz);
		sv.copied = freeze_resume;
		sv.arg = &fz;
	}
	r = nf_bk_save(&sv, &b, file);
	if (fpid)
		freeze_resume(&fz);
	nf_io_close(&io);
	if (r == 1) {
		int sig = nf_caught;

		signal(sig, SIG_DFL);
		raise(sig);
		_exit(128 + sig);
	}
	return r;
}

/* ---- locks, for rm and restore ---- */

static int
lock(const struct nf_addr *a, long long ms)
{
	int fd = -1, r;

	if (!a->pidfile)
		return -1;
	r = nf_restart_lock(a->pidfile, a->unsafe, ms, &fd);
	if (r == NF_BUSY)
		nf_die(NF_BUSY, "%s: a restart is in progress (%s.lock is "
		    "held); nothing done", a->pidfile, a->pidfile);
	if (r != NF_OK)
		nf_die(r, "%s.lock: cannot take the restart lock:", a->pidfile);
	nf_debug("%s.lock: taken", a->pidfile);
	return fd;
}

/* Refuses (5) while attached, unless --force; 3 when it cannot be known. */
static void
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
		nf_die(NF_REFUSED, "%s: attached (nattch %lu: %s); not %s "
		    "(--force to go on)", tname(t, kb, sizeof(kb)), n,
		    pidlist(pids, np, buf, sizeof(buf)), what);
	if (n)
		nf_warn("%s: attached (nattch %lu: %s); %s anyway (--force)",
		    tname(t, kb, sizeof(kb)), n, pidlist(pids, np, buf,
		    sizeof(buf)), what);
}

/* ---- rm ---- */

static int
cmd_rm(struct tgt *t, const struct nf_addr *a, long long ms)
{
	char kb[16];

	need(t);
	lock(a, ms);
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

/* ---- restore ---- */

/* Removes a segment we created, when filling it failed. */
static void
drop(const struct tgt *t)
{
	if (t->posix)
		unlink(t->path);
	else
		shmctl(t->s.shmid, IPC_RMID, NULL);
}

/*
 * After the copy: is the data there, and did anyone attach meanwhile? A
 * server that attached during the copy may have read a mixture, or written
 * into it. NATT: the attachments before the copy (0 unless --force).
 */
static void
check_after(struct tgt *t, unsigned long natt)
{
	pid_t pids[NPIDS];
	char buf[NPIDS * 12 + 8], kb[16];
	int np, r;

	if (!t->posix) {
		if ((r = nf_seg_disturbed(t->s.shmid, natt, &t->s)) == 0)
			return;
		t->s.key = t->key;
		if (r == 2)
			nf_die(NF_SYS, "%s: destroyed during the restore (%s): "
			    "the restored data is not there", tname(t, kb,
			    sizeof(kb)), nf_shm_rmid_forced() == 1 ?
			    "kernel.shm_rmid_forced=1" : "removed by someone");
	} else if (find(t) != 0)
		nf_die(NF_SYS, "%s: removed during the restore: the restored "
		    "data is not there", t->path);
	/* A POSIX segment's mappings that cannot be seen may be new ones:
	 * only --force accepts that. */
	if (attached(t, pids, &np) <= natt && t->posix)
		return;
	if (t->posix && np < 0 && force) {
		nf_warn("%s: cannot tell whether another process mapped it "
		    "during the restore (%s): accepted (--force)", t->name,
		    unknown());
		return;
	}
	nf_die(NF_SYS, "%s: %s during the restore (attached now: %s): it may "
	    "have read or written a mixture of the old and the restored data; "
	    "stop it and restore again", tname(t, kb, sizeof(kb)), np < 0 ?
	    "perhaps attached by another process" : "attached by another "
	    "process", pidlist(pids, np, buf, sizeof(buf)));
}

static int
cmd_restore(const char *file, struct tgt *t, int have_tgt,
    const struct nf_addr *a, long long ms)
{
	char kb[16];
	pid_t pids[NPIDS];
	struct nf_bk b;
	struct nf_io io;
	long long t0 = nf_now_us();
	unsigned long natt = 0;
	int fd, created = 0, failed, r, np, found;

	/* All of the input first: the file, its header, its checksum. */
	if ((r = nf_bk_open(file, &b, &fd)) != NF_OK)
		nf_exit(r);
	if (!have_tgt) {
		memset(t, 0, sizeof(*t));
		if (b.kind == NF_BK_POSIX)
			parse_posix(b.name, t);
		else
			t->key = b.key;
	}
	if (!t->posix && b.size == 0)
		nf_die(NF_USAGE, "%s: an empty backup cannot become a SysV "
		    "segment", file);
	if ((r = nf_bk_verify(fd, &b, file)) != NF_OK)
		nf_exit(r);

	lock(a, ms);
	if ((found = find(t) == 0)) {
		if (tsize(t) != b.size)
			nf_die(NF_REFUSED, "%s: has %llu bytes, the backup %llu: "
			    "not restored (nfshm rm it first)", tname(t, kb,
			    sizeof(kb)), (unsigned long long)tsize(t),
			    (unsigned long long)b.size);
		if (!t->posix && t->s.dest)
			nf_die(NF_REFUSED, "%s: marked for removal: not restored "
			    "(a new server would not find it)", tname(t, kb,
			    sizeof(kb)));
		check_detached(t, "restored");
		natt = attached(t, pids, &np);
	}
	/* With nothing else attached, the kernel would destroy what we
	 * write at our own detach. */
	if (!t->posix && natt == 0 && nf_shm_rmid_forced() == 1)
		nf_die(NF_REFUSED, "%s: kernel.shm_rmid_forced=1 would destroy "
		    "the segment as soon as nfshm detaches (nothing else is "
		    "attached): not restored (nfrestart --restore stays "
		    "attached until the new server is)", tname(t, kb,
		    sizeof(kb)));
	if (found)
		;
	else if (t->posix) {
		int pfd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, b.mode);

		if (pfd < 0)
			nf_die(NF_SYS, "%s: open:", t->path);
		created = 1;
		if (fchmod(pfd, b.mode) < 0 || (geteuid() == 0 &&
		    fchown(pfd, b.uid, b.gid) < 0) ||
		    ftruncate(pfd, (off_t)b.size) < 0) {
			int e = errno;

			unlink(t->path);
			errno = e;
			nf_die(NF_SYS, "%s: create:", t->path);
		}
		close(pfd);
		if (lstat(t->path, &t->st) < 0)
			nf_die(NF_SYS, "%s: lstat:", t->path);
	} else {
		if (nf_bk_create(&b, t->key, &t->s) < 0)
			nf_die(NF_SYS, "%s: shmget:", tname(t, kb, sizeof(kb)));
		created = 1;
	}
	if (!t->posix && b.kind == NF_BK_SYSV && b.key != t->key)
		nf_info("%s: the backup was saved from 0x%08x", tname(t, kb,
		    sizeof(kb)), (unsigned)b.key);

	/* Copy, checksumming again what is written: the file could have
	 * changed in place since it was verified. */
	io_open(&io, t, 1);
	r = nf_bk_load(fd, &io, &b, &failed);
	nf_io_close(&io);
	close(fd);
	if (r != 0) {
		int e = errno;

		if (created)
			drop(t);
		errno = e;
		if (r == 2)
			nf_die(NF_SYS, "%s: changed while it was restored: %s",
			    file, created ? "the new segment was removed" :
			    "the segment holds a mixture; restore again");
		nf_die(NF_SYS, "%s: %s: %m: %s", failed == 'r' ? file :
		    tname(t, kb, sizeof(kb)), failed == 'r' ? "read" : "write",
		    created ? "the new segment was removed" :
		    "the segment holds a mixture; restore again");
	}
	check_after(t, natt);
	if (!t->posix)
		nf_seg_warn(&t->s);
	nf_debug("%s: %llu bytes restored from %s in %lld ms%s",
	    tname(t, kb, sizeof(kb)), (unsigned long long)b.size, file,
	    (nf_now_us() - t0) / 1000, created ? " (created)" : "");
	return NF_OK;
}

/* ---- main ---- */

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
		{ "freeze", required_argument, NULL, NF_OPT_TOOL },
		NF_COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct nf_addr a = { 0 };
	struct lsf f = { 0 };
	struct tgt t;
	const char *cmd, *why, *topt = NULL;
	long long ms = -1;
	unsigned long long fpid = 0;
	int c, have_tgt = 0, is_ls, is_lock;

	nf_init(argv[0]);
	nf_copy_threads();
	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		help();
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		nf_out("nfshm " NF_VERSION "\n");
		nf_exit(NF_OK);
	}
	if (strcmp(cmd, "key") && strcmp(cmd, "ls") && strcmp(cmd, "stat") &&
	    strcmp(cmd, "wait") && strcmp(cmd, "save") &&
	    strcmp(cmd, "restore") && strcmp(cmd, "sum") && strcmp(cmd, "rm")) {
		nf_warn("%s: unknown command", cmd);
		usage();
	}
	is_ls = !strcmp(cmd, "ls");
	is_lock = !strcmp(cmd, "rm") || !strcmp(cmd, "restore");
	argc--, argv++;
	while ((c = nf_getopt(argc, argv, "C:fHhI:k:p:qS:t:u:vV",
	    lo)) != -1) {
		switch (c) {
		case 'C': case 'I': case 'p': case 'S':
			if (is_ls || (c == 'p' && !is_lock))
				usage();
			nf_addr_opt(&a, c, nf_optarg);
			break;
		case 'f':
			force = 1;
			break;
		case 'H':
			if (!is_ls)
				usage();
			noheader = 1;
			break;
		case 'h':
			help();
		case 'k':
			if (!is_ls || f.bykey)
				usage();
			parse_tgt(nf_optarg, &f.k);
			f.bykey = 1;
			break;
		case 't':
			if (strcmp(cmd, "wait") && !is_lock)
				usage();
			topt = nf_optarg;
			if (nf_parse_dur(nf_optarg, &ms, &why) < 0)
				nf_die(NF_USAGE, "-t %s: %s", nf_optarg, why);
			break;
		case NF_OPT_TOOL:
			if (strcmp(cmd, "save") || fpid)
				usage();
			if (nf_parse_ulong(nf_optarg, 2, nf_pid_max(), &fpid,
			    &why) < 0 || fpid == (unsigned long long)getpid())
				nf_die(NF_USAGE, "--freeze %s: %s", nf_optarg,
				    fpid ? "our own pid" : why);
			break;
		case 'u':
			if (!is_ls || f.byuid)
				usage();
			f.uid = parse_user(nf_optarg);
			f.byuid = 1;
			break;
		default:
			if (!nf_common_opt(c, usage_text, "nfshm"))
				usage();
			break;
		}
	}
	argc -= nf_optind;
	argv += nf_optind;
	if (!strcmp(cmd, "key"))
		nf_exit(cmd_key(argc, argv));
	if (is_ls)
		nf_exit(cmd_ls(&f, argc));
	if (force && (!strcmp(cmd, "stat") || !strcmp(cmd, "sum") ||
	    !strcmp(cmd, "wait")))
		usage();
	if (a.pidfile && !*a.pidfile)
		nf_die(NF_USAGE, "-p: empty file name");
	nf_addr_finish(&a, 0);	/* -S/-I checked, -C done */
	if (!topt && is_lock)
		ms = 0;		/* a held restart lock: 4 at once */

	/* The segment: -S/-I, or an operand (restore: after FILE). */
	memset(&t, 0, sizeof(t));
	if (a.server) {
		t.key = a.key;
		have_tgt = 1;
	}
	if (!strcmp(cmd, "restore")) {
		if (argc < 1 || argc > 2 || (argc == 2 && have_tgt))
			usage();
		if (argc == 2) {
			parse_tgt(argv[1], &t);
			have_tgt = 1;
		}
		nf_exit(cmd_restore(argv[0], &t, have_tgt, &a, ms));
	}
	if (!have_tgt) {
		if (argc < 1)
			usage();
		parse_tgt(argv[0], &t);
		argc--, argv++;
	}
	if (!strcmp(cmd, "save")) {
		if (argc != 1)
			usage();
		/* A frozen server cannot exit: with -S/-I, hold its restart
		 * lock through the copy, so no restart signals it meanwhile
		 * and waits out its -t for nothing. */
		if (fpid && a.pidfile)
			lock(&a, topt ? ms : 0);
		nf_exit(cmd_save(&t, argv[0], (pid_t)fpid));
	}
	if (argc)
		usage();
	if (!strcmp(cmd, "stat"))
		nf_exit(cmd_stat(&t));
	if (!strcmp(cmd, "wait"))
		nf_exit(cmd_wait(&t, ms));
	if (!strcmp(cmd, "sum"))
		nf_exit(cmd_sum(&t));
	nf_exit(cmd_rm(&t, &a, ms));
}
