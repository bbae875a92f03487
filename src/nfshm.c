/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm: inspect, wait on, back up, restore, checksum and remove the shared
 * memory that carries a server's data across a restart: SysV segments by
 * key, POSIX ones by /name (files in /dev/shm).
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>	/* rename(); nothing else of stdio */
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "lib/nf.h"
#include "lib/opts.h"
#include "lib/shmhdr.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static const char usage_text[] =
"usage: nfshm key ID\n"
"       nfshm ls [-Hqv] [-k KEY | -k /NAME] [-u USER]\n"
"       nfshm stat | sum [-qv] [-C DIR] (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm wait [-qv] [-t DUR] [-C DIR] (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm save [-fqv] [-C DIR] (KEY | /NAME | -S SERVER -I ID) FILE\n"
"       nfshm restore [-fqv] [-t DUR] [-C DIR] [-p PIDFILE] FILE\n"
"                     [KEY | /NAME | -S SERVER -I ID]\n"
"       nfshm rm [-fqv] [-t DUR] [-C DIR] [-p PIDFILE]\n"
"                (KEY | /NAME | -S SERVER -I ID)\n"
"       nfshm -h | -V\n";

/* Option flags: the only globals. */
static int force, noheader;

#define CHUNK (256 * 1024)	/* checksummed, then copied while cached */
#define NPIDS 64
#define BK_MAGIC "NFSHMBK1"	/* a backup: see "the backup file" below */
#define BK_HDR 512
#define BK_VERSION 1

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

/* ---- the checksum ---- */

/*
 * A 64-bit checksum of our own, made for speed: four independent lanes, each
 * 8-byte word xor-ed in, multiplied by an odd constant (a bijection that
 * carries every bit upwards) and rotated (which brings the high bits back
 * down for the next word), so memory bandwidth is the limit, not the
 * multiplier's latency. The lanes and the length are folded at the end.
 * Not cryptographic: it detects damage, not an adversary.
 */
#define K1 0x9e3779b97f4a7c15ULL
#define K2 0xd6e8feb86659fd93ULL

struct sum {
	uint64_t l[4];
	uint64_t len;
	unsigned char tail[32];
	size_t tl;
};

static uint64_t
rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static void
sum_init(struct sum *s)
{
	s->l[0] = K1;
	s->l[1] = K2;
	s->l[2] = ~K1;
	s->l[3] = ~K2;
	s->len = 0;
	s->tl = 0;
}

static void
sum_blocks(struct sum *s, const unsigned char *p, size_t nblk)
{
	uint64_t a = s->l[0], b = s->l[1], c = s->l[2], d = s->l[3];

	for (; nblk; nblk--, p += 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		a = rotl((a ^ w[0]) * K1, 29);
		b = rotl((b ^ w[1]) * K1, 29);
		c = rotl((c ^ w[2]) * K1, 29);
		d = rotl((d ^ w[3]) * K1, 29);
	}
	s->l[0] = a, s->l[1] = b, s->l[2] = c, s->l[3] = d;
}

static void
sum_update(struct sum *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	s->len += n;
	if (s->tl) {
		size_t k = 32 - s->tl < n ? 32 - s->tl : n;

		memcpy(s->tail + s->tl, p, k);
		s->tl += k, p += k, n -= k;
		if (s->tl < 32)
			return;
		sum_blocks(s, s->tail, 1);
		s->tl = 0;
	}
	sum_blocks(s, p, n / 32);
	p += n / 32 * 32;
	n %= 32;
	memcpy(s->tail, p, n);
	s->tl = n;
}

static uint64_t
sum_final(struct sum *s)
{
	uint64_t h = s->len * K2;

	if (s->tl) {		/* the last words, zero-padded */
		memset(s->tail + s->tl, 0, 32 - s->tl);
		sum_blocks(s, s->tail, 1);
	}
	for (int i = 0; i < 4; i++) {
		h = rotl(h ^ (s->l[i] * K2), 31) * K1;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= K2;
	h ^= h >> 29;
	return h;
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

/*
 * Mappings and who holds them: for SysV the kernel's nattch; for POSIX the
 * mappings of the file in /proc/PID/maps. Returns the count, the PIDs in
 * pids (*npids of them, -1 when they cannot be known).
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
	    &h) < 0 || h.unreadable) {
		*npids = -1;
		return h.nmaps ? h.nmaps : (unsigned long)-1;
	}
	*npids = (int)h.npids;
	return h.nmaps;
}

static const char *
pidlist(const pid_t *pids, int n, char *buf, size_t len)
{
	size_t o = 0;

	if (n < 0)
		return "unknown (maps unreadable)";
	buf[0] = '\0';
	for (int i = 0; i < n && i < NPIDS && o + 16 < len; i++)
		o += nf_fmt(buf + o, len - o, i ? " %d" : "%d", (int)pids[i]);
	if (n > NPIDS)
		nf_fmt(buf + o, len - o, " ...");
	return n ? buf : "-";
}

/*
 * The contents, read and written as a file where we may: mapping a large
 * segment costs one page-table entry per page on first touch, which some
 * virtual machines make dearer than the copy itself. A POSIX segment is a
 * file. A SysV segment's file is reached through our own attachment in
 * /proc/self/map_files (root, or CAP_CHECKPOINT_RESTORE); elsewhere the
 * attachment itself is used, its page tables filled ahead in one call.
 */
struct io {
	int fd;			/* or -1: m */
	unsigned char *m;
	uint64_t size;
};

static void
io_open(struct io *io, const struct tgt *t, int rw)
{
	char kb[16], path[96];
	struct stat st;
	void *m;

	io->fd = -1;
	io->m = NULL;
	io->size = tsize(t);
	if (t->posix) {
		io->fd = open(t->path, (rw ? O_RDWR : O_RDONLY) | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY);
		if (io->fd < 0)
			nf_die(NF_SYS, "%s: open:", t->path);
		if (fstat(io->fd, &st) < 0)
			nf_die(NF_SYS, "%s: fstat:", t->path);
		if (st.st_ino != t->st.st_ino || st.st_dev != t->st.st_dev ||
		    (uint64_t)st.st_size != io->size)
			nf_die(NF_SYS, "%s: replaced or resized meanwhile",
			    t->path);
		return;
	}
	m = shmat(t->s.shmid, NULL, rw ? 0 : SHM_RDONLY);
	if (m == (void *)-1)
		nf_die(NF_SYS, "%s: shmat:", tname(t, kb, sizeof(kb)));
	{
		uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
		uintptr_t end = (uintptr_t)m + (uintptr_t)((io->size + pg - 1) /
		    pg * pg);

		nf_fmt(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		    (unsigned long)(uintptr_t)m, (unsigned long)end);
	}
	if ((io->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC)) >= 0) {
		shmdt(m);
		return;
	}
	nf_debug("%s: %s: %m; reading through the attachment", tname(t, kb,
	    sizeof(kb)), path);
	io->m = m;
}

static void
io_close(struct io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	else
		shmdt(io->m);
}

static int
preadall(int fd, void *buf, size_t n, uint64_t off)
{
	char *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;	/* shrank under us */
			return -1;
		}
		p += r, n -= (size_t)r, off += (uint64_t)r;
	}
	return 0;
}

/* K bytes at OFF: in buf (a file), or in place (a mapping). */
static const unsigned char *
io_get(struct io *io, uint64_t off, unsigned char *buf, size_t k)
{
	if (io->fd >= 0) {
		if (preadall(io->fd, buf, k, off) < 0)
			return NULL;
		return buf;
	}
	{
		/* Fill the page tables ahead, in one call, rather than take a
		 * fault every few pages (Linux 5.14; elsewhere a no-op). */
		uintptr_t a = (uintptr_t)(io->m + off) & ~(uintptr_t)4095;

		madvise((void *)a, k + (uintptr_t)(io->m + off) - a,
		    MADV_POPULATE_READ);
	}
	return io->m + off;
}

static int
io_put(struct io *io, uint64_t off, const unsigned char *p, size_t k)
{
	if (io->fd < 0) {
		memcpy(io->m + off, p, k);
		return 0;
	}
	while (k) {
		ssize_t w = pwrite(io->fd, p, k, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, k -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
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
			nf_die(NF_SYS, "%s: cannot tell who maps it: /proc/PID/"
			    "maps unreadable", t->path);
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
	static unsigned char buf[CHUNK];
	const unsigned char *p;
	char kb[16];
	struct sum s;
	struct io io;

	need(t);
	io_open(&io, t, 0);
	sum_init(&s);
	for (uint64_t off = 0; off < io.size;) {
		size_t k = io.size - off < CHUNK ? (size_t)(io.size - off) :
		    CHUNK;

		if (!(p = io_get(&io, off, buf, k)))
			nf_die(NF_SYS, "%s: read:", tname(t, kb, sizeof(kb)));
		sum_update(&s, p, k);
		off += k;
	}
	io_close(&io);
	nf_out("%016llx\n", (unsigned long long)sum_final(&s));
	return NF_OK;
}

/* ---- copying, checksummed ---- */

/*
 * The copy runs in two threads: this one reads each chunk and checksums it
 * while a writer thread writes the chunk before, so the checksum costs no
 * time beyond the copy itself, and what is summed is exactly what is
 * written, even in a segment that changes meanwhile. Where no thread can be
 * had, the same loop runs alone.
 */
#define NSLOT 4

typedef const unsigned char *getfn(void *arg, uint64_t off,
    unsigned char *buf, size_t k);
typedef int putfn(void *arg, uint64_t off, const unsigned char *p, size_t k);

static volatile sig_atomic_t caught;

struct ring {
	mtx_t mu;
	cnd_t cv;
	const unsigned char *p[NSLOT];
	size_t len[NSLOT];
	uint64_t off[NSLOT];
	unsigned head, tail;	/* chunks handed over, chunks written */
	int done, err;		/* err: errno of a failed write */
	putfn *put;
	void *arg;
};

static int
writer(void *arg)
{
	struct ring *r = arg;

	for (;;) {
		unsigned i;
		int e = 0;

		mtx_lock(&r->mu);
		while (r->tail == r->head && !r->done)
			cnd_wait(&r->cv, &r->mu);
		if (r->tail == r->head) {
			mtx_unlock(&r->mu);
			return 0;
		}
		i = r->tail % NSLOT;
		e = r->err;
		mtx_unlock(&r->mu);
		if (!e && r->put(r->arg, r->off[i], r->p[i], r->len[i]) < 0)
			e = errno ? errno : EIO;
		mtx_lock(&r->mu);
		r->err = e;
		r->tail++;
		cnd_broadcast(&r->cv);
		mtx_unlock(&r->mu);
	}
}

/* Copies SIZE bytes from get to put, summing them into s. 0 done; -1 with
 * errno and *failed 'r' (get) or 'w' (put); 1 when a signal stopped it. */
static int
copy_summed(uint64_t size, getfn *get, void *garg, putfn *put, void *parg,
    struct sum *s, int *failed)
{
	static unsigned char bufs[NSLOT][CHUNK];
	struct ring r;
	thrd_t th;
	uint64_t off = 0;
	int threaded, rerr = 0, werr = 0;

	memset(&r, 0, sizeof(r));
	r.put = put;
	r.arg = parg;
	threaded = size > CHUNK && mtx_init(&r.mu, mtx_plain) ==
	    thrd_success && cnd_init(&r.cv) == thrd_success &&
	    thrd_create(&th, writer, &r) == thrd_success;
	while (off < size && !caught) {
		size_t k = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		const unsigned char *p;
		unsigned i = 0;

		if (threaded) {
			mtx_lock(&r.mu);
			while (r.head - r.tail == NSLOT && !r.err)
				cnd_wait(&r.cv, &r.mu);
			werr = r.err;
			i = r.head % NSLOT;
			mtx_unlock(&r.mu);
			if (werr)
				break;
		}
		if (!(p = get(garg, off, bufs[i], k))) {
			rerr = errno ? errno : EIO;
			break;
		}
		sum_update(s, p, k);
		if (threaded) {
			mtx_lock(&r.mu);
			r.p[i] = p;
			r.len[i] = k;
			r.off[i] = off;
			r.head++;
			cnd_broadcast(&r.cv);
			mtx_unlock(&r.mu);
		} else if (put(parg, off, p, k) < 0) {
			werr = errno ? errno : EIO;
			break;
		}
		off += k;
	}
	if (threaded) {
		mtx_lock(&r.mu);
		r.done = 1;
		cnd_broadcast(&r.cv);
		mtx_unlock(&r.mu);
		thrd_join(th, NULL);
		if (!werr)
			werr = r.err;
	}
	if (rerr || werr) {
		*failed = rerr ? 'r' : 'w';
		errno = rerr ? rerr : werr;
		return -1;
	}
	return caught ? 1 : 0;
}

static const unsigned char *
get_io(void *arg, uint64_t off, unsigned char *buf, size_t k)
{
	return io_get(arg, off, buf, k);
}

static int
put_io(void *arg, uint64_t off, const unsigned char *p, size_t k)
{
	return io_put(arg, off, p, k);
}

/* The backup's side: the contents start after its header. */
struct bfile {
	int fd;
};

static const unsigned char *
get_file(void *arg, uint64_t off, unsigned char *buf, size_t k)
{
	return preadall(((struct bfile *)arg)->fd, buf, k, BK_HDR + off) < 0 ?
	    NULL : buf;
}

static int
put_file(void *arg, uint64_t off, const unsigned char *p, size_t k)
{
	int fd = ((struct bfile *)arg)->fd;

	off += BK_HDR;
	while (k) {
		ssize_t w = pwrite(fd, p, k, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, k -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

/*
 * Straight from the segment's file to the backup, in the kernel, as cp(1)
 * copies (one copy, no page tables), in a thread of its own, while this one
 * reads the segment again for the checksum: no hand-over between the two,
 * so the checksum costs no time where there is a second CPU. Only for a
 * segment nobody attaches; the caller checks afterwards that nobody did.
 */
struct direct {
	int in, out;
	uint64_t off, size;	/* where the contents start in `in` */
	int err;
};

static int
sender(void *arg)
{
	struct direct *d = arg;
	off_t o = (off_t)d->off;

	while ((uint64_t)o - d->off < d->size && !caught) {
		uint64_t left = d->size - ((uint64_t)o - d->off);
		ssize_t w = sendfile(d->out, d->in, &o, left < 0x40000000 ?
		    (size_t)left : 0x40000000);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			d->err = w < 0 ? errno : EIO;
			return 0;
		}
	}
	return 0;
}

/* SIZE bytes from IN at IN_OFF to OUT at its offset, summed as get reads
 * them; returns as copy_summed. */
static int
copy_direct(int in, uint64_t in_off, int out, uint64_t size, getfn *get,
    void *garg, struct sum *s, int *failed)
{
	static unsigned char buf[CHUNK];
	struct direct d = { in, out, in_off, size, 0 };
	const unsigned char *p;
	thrd_t th;
	int threaded, rerr = 0;

	threaded = thrd_create(&th, sender, &d) == thrd_success;
	for (uint64_t off = 0; off < size && !caught;) {
		size_t k = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		if (!(p = get(garg, off, buf, k))) {
			rerr = errno ? errno : EIO;
			break;
		}
		sum_update(s, p, k);
		off += k;
	}
	if (threaded)
		thrd_join(th, NULL);
	else if (!rerr)
		sender(&d);
	if (rerr || d.err) {
		*failed = rerr ? 'r' : 'w';
		errno = rerr ? rerr : d.err;
		return -1;
	}
	return caught ? 1 : 0;
}

/* ---- the backup file ---- */

/*
 * A backup: a 512-byte header, then the contents. All numbers little-endian.
 *    0  magic "NFSHMBK1"     8  format version (1)   12  kind (1 SysV,
 *   2 POSIX)   16  key   20  mode   24  size   32  checksum of the
 *   contents (as `nfshm sum`)   40  saved at (Unix seconds)   48  uid
 *   52  gid   56  POSIX name (NUL-padded, 256 bytes)   504  checksum of
 *   bytes 0..503.
 */

struct bk {
	unsigned kind;
	uint32_t key;
	unsigned mode;
	uint64_t size, sum, saved;
	uint32_t uid, gid;
	char name[256];
};

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
hdrsum(const unsigned char *h)
{
	struct sum s;

	sum_init(&s);
	sum_update(&s, h, BK_HDR - 8);
	return sum_final(&s);
}

static void
bk_encode(const struct bk *b, unsigned char *h)
{
	memset(h, 0, BK_HDR);
	memcpy(h, BK_MAGIC, 8);
	put32(h + 8, BK_VERSION);
	put32(h + 12, b->kind);
	put32(h + 16, b->key);
	put32(h + 20, b->mode);
	put64(h + 24, b->size);
	put64(h + 32, b->sum);
	put64(h + 40, b->saved);
	put32(h + 48, b->uid);
	put32(h + 52, b->gid);
	memcpy(h + 56, b->name, sizeof(b->name));
	put64(h + BK_HDR - 8, hdrsum(h));
}

/* NULL ok, else why not. */
static const char *
bk_decode(const unsigned char *h, struct bk *b)
{
	if (memcmp(h, BK_MAGIC, 8))
		return "not an nfshm backup (bad magic)";
	if (get32(h + 8) != BK_VERSION)
		return "backup format version not supported";
	if (get64(h + BK_HDR - 8) != hdrsum(h))
		return "header checksum mismatch: the backup is corrupt";
	b->kind = get32(h + 12);
	b->key = get32(h + 16);
	b->mode = get32(h + 20) & 0777;
	b->size = get64(h + 24);
	b->sum = get64(h + 32);
	b->saved = get64(h + 40);
	b->uid = get32(h + 48);
	b->gid = get32(h + 52);
	memcpy(b->name, h + 56, sizeof(b->name));
	b->name[sizeof(b->name) - 1] = '\0';
	if ((b->kind != 1 && b->kind != 2) || (b->kind == 1 && !b->key) ||
	    (b->kind == 2 && (b->name[0] != '/' || strchr(b->name + 1, '/'))))
		return "header names no segment: the backup is corrupt";
	return NULL;
}

/* ---- save ---- */

/* The checksum of N bytes of the backup after its header. */
static uint64_t
sum_file(int fd, unsigned char *buf, uint64_t n, const char *file)
{
	struct sum s;

	sum_init(&s);
	for (uint64_t off = 0; off < n;) {
		size_t k = n - off < CHUNK ? (size_t)(n - off) : CHUNK;

		if (preadall(fd, buf, k, BK_HDR + off) < 0)
			nf_die(NF_SYS, "%s: read:", file);
		sum_update(&s, buf, k);
		off += k;
	}
	return sum_final(&s);
}

static void
on_sig(int sig)
{
	caught = sig;
}

static int
cmd_save(struct tgt *t, const char *file)
{
	unsigned char h[BK_HDR];
	char tmp[4096], dir[4096], kb[16];
	const char *base = strrchr(file, '/');
	struct stat st;
	struct sum s;
	struct bk b;
	struct sigaction sa;
	pid_t pids[NPIDS];
	unsigned long n;
	long long t0 = nf_now_us();
	static unsigned char rbuf[CHUNK];
	struct bfile bf;
	struct nf_seg now;
	struct io io;
	int fd, np, e, r, failed, direct;

	/* The destination first: nothing is created if it is wrong. */
	if (!*file || (base && !base[1]) || strlen(file) > sizeof(tmp) - 64)
		nf_die(NF_USAGE, "%s: not a file name", file);
	if (lstat(file, &st) == 0 && !S_ISREG(st.st_mode))
		nf_die(NF_USAGE, "%s: %s", file, S_ISLNK(st.st_mode) ?
		    "is a symbolic link (give the real path)" :
		    "not a regular file");
	need(t);
	if ((n = attached(t, pids, &np)) && !force) {
		char buf[NPIDS * 12 + 8];

		if (np < 0 && t->posix)
			nf_warn("%s: cannot tell who maps it (/proc/PID/maps "
			    "unreadable): the copy may be torn (-f: no warning)",
			    t->name);
		else
			nf_warn("%s: attached (%s): the copy may be torn (-f: "
			    "save anyway without this warning)", tname(t, kb,
			    sizeof(kb)), pidlist(pids, np, buf, sizeof(buf)));
	}
	if (!t->posix)
		nf_seg_warn(&t->s);

	if (base)
		memcpy(dir, file, (size_t)(base - file + 1)),
		    dir[base - file + 1] = '\0';
	else
		nf_fmt(dir, sizeof(dir), ".");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (int i = 0;; i++) {
		nf_fmt(tmp, sizeof(tmp), "%s.%s.nfshm-%d-%d", base ? dir : "",
		    base ? base + 1 : file, (int)getpid(), i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || i > 100)
			break;
	}
	if (fd < 0)
		nf_die(NF_SYS, "%s: open:", tmp);

	memset(&b, 0, sizeof(b));
	b.kind = t->posix ? 2 : 1;
	b.key = t->posix ? 0 : t->key;
	b.mode = t->posix ? (unsigned)t->st.st_mode & 0777 : t->s.mode;
	b.size = tsize(t);
	b.saved = (uint64_t)time(NULL);
	b.uid = t->posix ? t->st.st_uid : t->s.uid;
	b.gid = t->posix ? t->st.st_gid : t->s.gid;
	if (t->posix)
		nf_fmt(b.name, sizeof(b.name), "%s", t->name);
	/* A header that cannot pass until it is rewritten at the end. */
	memset(h, 0, sizeof(h));
	if (nf_writeall(fd, h, sizeof(h)) < 0)
		goto fail_write;

	io_open(&io, t, 0);
	sum_init(&s);
	bf.fd = fd;
	/* sendfile writes at the file's offset: past the header. */
	direct = !t->posix && io.fd >= 0 && t->s.nattch == 0;
	r = direct ? copy_direct(io.fd, 0, fd, b.size, get_io, &io, &s,
	    &failed) :
	    copy_summed(b.size, get_io, &io, put_file, &bf, &s, &failed);
	io_close(&io);
	if (r == 0 && direct && (nf_seg_byid(t->s.shmid, &now) != 0 ||
	    now.nattch || now.lpid != getpid())) {
		/* Someone attached since our look (the last attach or detach
		 * is no longer ours): the sum must be of what was written. */
		int rfd = open(tmp, O_RDONLY | O_CLOEXEC);

		nf_warn("%s: attached during the save: the copy may be torn",
		    tname(t, kb, sizeof(kb)));
		if (rfd < 0)
			goto fail_write;
		b.sum = sum_file(rfd, rbuf, b.size, tmp);
		close(rfd);
	} else
		b.sum = sum_final(&s);
	if (r < 0 && failed == 'r') {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		nf_die(NF_SYS, "%s: read:", tname(t, kb, sizeof(kb)));
	}
	if (r < 0)
		goto fail_write;
	if (caught) {
		int sig = caught;

		unlink(tmp);
		signal(sig, SIG_DFL);
		raise(sig);
		_exit(128 + sig);
	}
	bk_encode(&b, h);
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		goto fail_write;
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		nf_die(NF_SYS, "%s: fsync:", tmp);
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail_write;
	}
	if (rename(tmp, file) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		nf_die(NF_SYS, "%s: rename:", file);
	}
	/* The rename itself is durable only once the directory is. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	nf_debug("%s: %llu bytes saved to %s in %lld ms, sum %016llx",
	    tname(t, kb, sizeof(kb)), (unsigned long long)b.size, file,
	    (nf_now_us() - t0) / 1000, (unsigned long long)b.sum);
	return NF_OK;
fail_write:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	nf_die(NF_SYS, "%s: write: %m (the previous %s is untouched)", tmp,
	    file);
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
	if (t->posix && np < 0 && !force)
		nf_die(NF_SYS, "%s: cannot tell who maps it (/proc/PID/maps "
		    "unreadable); not %s (--force to go on)", t->name, what);
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

static int
cmd_restore(const char *file, struct tgt *t, int have_tgt,
    const struct nf_addr *a, long long ms)
{
	unsigned char h[BK_HDR];
	char kb[16];
	static unsigned char buf[CHUNK];
	const char *why;
	struct stat st;
	struct sum s;
	struct bk b;
	struct io io;
	struct bfile bf;
	long long t0 = nf_now_us();
	int fd, created = 0, failed;

	/* All of the input first: the file, its header, its checksum. */
	/* O_NONBLOCK: a FIFO must not hang us before it is refused. */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0)
		nf_die(errno == ENOENT ? NF_USAGE : NF_SYS, "%s: open:", file);
	if (fstat(fd, &st) < 0)
		nf_die(NF_SYS, "%s: fstat:", file);
	if (!S_ISREG(st.st_mode))
		nf_die(NF_USAGE, "%s: not a regular file", file);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		nf_die(NF_USAGE, "%s: not an nfshm backup (too short)", file);
	if ((why = bk_decode(h, &b)))
		nf_die(NF_USAGE, "%s: %s; nothing restored", file, why);
	if ((uint64_t)st.st_size != BK_HDR + b.size)
		nf_die(NF_USAGE, "%s: %lld bytes, the header says %llu: the "
		    "backup is truncated or corrupt; nothing restored", file,
		    (long long)st.st_size, (unsigned long long)(BK_HDR +
		    b.size));
	if (!have_tgt) {
		memset(t, 0, sizeof(*t));
		if (b.kind == 2)
			parse_posix(b.name, t);
		else
			t->key = b.key;
	}
	if (!t->posix && b.size == 0)
		nf_die(NF_USAGE, "%s: an empty backup cannot become a SysV "
		    "segment", file);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (sum_file(fd, buf, b.size, file) != b.sum)
		nf_die(NF_USAGE, "%s: checksum mismatch: the backup is corrupt; "
		    "nothing restored", file);

	lock(a, ms);
	if (find(t) == 0) {
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
	} else if (t->posix) {
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
		int id = shmget((key_t)t->key, (size_t)b.size, IPC_CREAT |
		    IPC_EXCL | (int)b.mode);
		struct shmid_ds ds;

		if (id < 0)
			nf_die(NF_SYS, "%s: shmget:", tname(t, kb, sizeof(kb)));
		created = 1;
		/* As root, give it back to its owner, as it was saved. */
		if (geteuid() == 0 && shmctl(id, IPC_STAT, &ds) == 0) {
			ds.shm_perm.uid = b.uid;
			ds.shm_perm.gid = b.gid;
			if (shmctl(id, IPC_SET, &ds) < 0)
				nf_warn("%s: shmctl IPC_SET: %m", tname(t, kb,
				    sizeof(kb)));
		}
		if (nf_seg_byid(id, &t->s) != 0)
			nf_die(NF_SYS, "%s: created, then lost", tname(t, kb,
			    sizeof(kb)));
		t->s.key = t->key;
	}
	if (!t->posix && b.kind == 1 && b.key != t->key)
		nf_info("%s: the backup was saved from 0x%08x", tname(t, kb,
		    sizeof(kb)), (unsigned)b.key);

	/* Copy, checksumming again what is written: the file could have
	 * changed in place since it was verified. */
	io_open(&io, t, 1);
	sum_init(&s);
	bf.fd = fd;
	if ((io.fd >= 0 ? copy_direct(fd, BK_HDR, io.fd, b.size, get_file,
	    &bf, &s, &failed) : copy_summed(b.size, get_file, &bf, put_io, &io,
	    &s, &failed)) < 0) {
		int e = errno;

		io_close(&io);
		if (created)
			drop(t);
		errno = e;
		nf_die(NF_SYS, "%s: %s: %m: %s", failed == 'r' ? file :
		    tname(t, kb, sizeof(kb)), failed == 'r' ? "read" : "write",
		    created ? "the new segment was removed" :
		    "the segment holds a mixture; restore again");
	}
	io_close(&io);
	close(fd);
	if (sum_final(&s) != b.sum) {
		if (created)
			drop(t);
		nf_die(NF_SYS, "%s: changed while it was restored: %s",
		    file, created ? "the new segment was removed" :
		    "the segment holds a mixture; restore again");
	}
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
		NF_COMMON_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct nf_addr a = { 0 };
	struct lsf f = { 0 };
	struct tgt t;
	const char *cmd, *why, *topt = NULL;
	long long ms = -1;
	int c, have_tgt = 0, is_ls, is_lock;

	nf_init(argv[0]);
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
		nf_exit(cmd_save(&t, argv[0]));
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
