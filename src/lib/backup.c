/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The backup file of `nfshm save`, `nfrestart --backup` and their restores.
 *
 * A 512-byte header, then the contents. All numbers little-endian.
 *    0  magic "NFSHMBK1"     8  format version (1)   12  kind (1 SysV,
 *   2 POSIX)   16  key   20  mode   24  size   32  checksum of the
 *   contents (as `nfshm sum`)   40  saved at (Unix seconds)   48  uid
 *   52  gid   56  POSIX name (NUL-padded, 256 bytes)   504  checksum of
 *   bytes 0..503.
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
#include "backup.h"

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
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
	return (uint64_t)get32(p + 4) << 32 | get32(p);
}

uint64_t
nf_bk_hdrsum(const unsigned char *h)
{
	struct nf_sum s;

	nf_sum_init(&s);
	nf_sum_update(&s, h, NF_BK_HDR - 8);
	return nf_sum_final(&s);
}

void
nf_bk_encode(const struct nf_bk *b, unsigned char *h)
{
	memset(h, 0, NF_BK_HDR);
	memcpy(h, NF_BK_MAGIC, 8);
	put32(h + 8, NF_BK_VERSION);
	put32(h + 12, b->kind);
	put32(h + 16, b->key);
	put32(h + 20, b->mode);
	put64(h + 24, b->size);
	put64(h + 32, b->sum);
	put64(h + 40, b->saved);
	put32(h + 48, b->uid);
	put32(h + 52, b->gid);
	memcpy(h + 56, b->name, sizeof(b->name));
	put64(h + NF_BK_HDR - 8, nf_bk_hdrsum(h));
}

const char *
nf_bk_decode(const unsigned char *h, struct nf_bk *b)
{
	if (memcmp(h, NF_BK_MAGIC, 8))
		return "not an nfshm backup (bad magic)";
	if (get32(h + 8) != NF_BK_VERSION)
		return "backup format version not supported";
	if (get64(h + NF_BK_HDR - 8) != nf_bk_hdrsum(h))
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
	if ((b->kind != NF_BK_SYSV && b->kind != NF_BK_POSIX) ||
	    (b->kind == NF_BK_SYSV && !b->key) || (b->kind == NF_BK_POSIX &&
	    (b->name[0] != '/' || strchr(b->name + 1, '/'))))
		return "header names no segment: the backup is corrupt";
	return NULL;
}

int
nf_bk_open(const char *file, struct nf_bk *b, int *fdp)
{
	unsigned char h[NF_BK_HDR];
	const char *why;
	struct stat st;
	int fd, r = NF_USAGE;

	/* O_NONBLOCK: a FIFO must not hang us before it is refused. */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
		nf_warn("%s: open:", file);
		return errno == ENOENT ? NF_USAGE : NF_SYS;
	}
	if (fstat(fd, &st) < 0) {
		nf_warn("%s: fstat:", file);
		r = NF_SYS;
	} else if (!S_ISREG(st.st_mode))
		nf_warn("%s: not a regular file", file);
	else if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		nf_warn("%s: not an nfshm backup (too short)", file);
	else if ((why = nf_bk_decode(h, b)))
		nf_warn("%s: %s; nothing restored", file, why);
	else if ((uint64_t)st.st_size != NF_BK_HDR + b->size)
		nf_warn("%s: %lld bytes, the header says %llu: the backup is "
		    "truncated or corrupt; nothing restored", file,
		    (long long)st.st_size, (unsigned long long)(NF_BK_HDR +
		    b->size));
	else {
		*fdp = fd;
		return NF_OK;
	}
	close(fd);
	return r;
}

/* The checksum of the N bytes after the header of the file open at FD:
 * 0, or -1 (errno). */
static int
sum_bk(int fd, uint64_t n, uint64_t *sum)
{
	static unsigned char buf[NF_CHUNK];
	struct nf_sum s;

	nf_sum_init(&s);
	for (uint64_t off = 0; off < n;) {
		size_t k = n - off < NF_CHUNK ? (size_t)(n - off) : NF_CHUNK;

		if (nf_preadall(fd, buf, k, NF_BK_HDR + off) < 0)
			return -1;
		nf_sum_update(&s, buf, k);
		off += k;
	}
	*sum = nf_sum_final(&s);
	return 0;
}

int
nf_bk_verify(int fd, const struct nf_bk *b, const char *file)
{
	uint64_t sum;

	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (sum_bk(fd, b->size, &sum) < 0) {
		nf_warn("%s: read:", file);
		return NF_SYS;
	}
	if (sum != b->sum) {
		nf_warn("%s: checksum mismatch: the backup is corrupt; nothing "
		    "restored", file);
		return NF_USAGE;
	}
	return NF_OK;
}

int
nf_seg_disturbed(int shmid, unsigned long natt, struct nf_seg *now)
{
	if (nf_seg_byid(shmid, now) != 0 || now->dest)
		return 2;
	return now->nattch > natt || now->lpid != getpid();
}

int
nf_bk_save(const struct nf_bksave *sv, struct nf_bk *b, const char *file)
{
	struct nf_io *io = sv->io;
	const char *label = sv->label;
	int direct = sv->direct && io->fd >= 0 && nf_copy_direct;
	unsigned char h[NF_BK_HDR];
	struct nf_afile f;
	struct nf_sum s;
	struct nf_seg now;
	long long t0 = nf_now_us();
	int r, failed = 'w', e;

	if ((r = nf_afile_open(&f, file, "nfshm-", 0600)) < 0) {
		if (r == -2)
			errno = ENAMETOOLONG;
		nf_warn("%s: open:", r == -2 ? file : f.tmp);
		return NF_SYS;
	}
	/* A header that cannot pass until it is rewritten at the end. */
	memset(h, 0, sizeof(h));
	if (nf_writeall(f.fd, h, sizeof(h)) < 0)
		goto fail;
	nf_sum_init(&s);
	/* sendfile writes at the file's offset: past the header. */
	r = direct ? nf_copy_direct(io->fd, 0, f.fd, io->size,
	    nf_get_io, io, &s, &failed) : nf_copy_summed(io->size, nf_get_io,
	    io, nf_put_bk, &f.fd, &s, &failed);
	if (sv->copied)
		sv->copied(sv->arg);
	if (r < 0)
		goto fail;
	if (r > 0) {
		nf_afile_abort(&f);
		return 1;
	}
	b->size = io->size;
	b->sum = nf_sum_final(&s);
	if (direct && sv->shmid >= 0 &&
	    nf_seg_disturbed(sv->shmid, sv->natt, &now)) {
		/* Someone attached since our look (the last attach or detach
		 * is no longer ours): the sum must be of what was written. */
		nf_warn("%s: attached during the save: the copy may be torn",
		    label);
		int rfd = open(f.tmp, O_RDONLY | O_CLOEXEC);

		r = rfd < 0 ? -1 : sum_bk(rfd, b->size, &b->sum);
		if (rfd >= 0)
			close(rfd);
		if (r < 0) {
			nf_afile_abort(&f);
			nf_warn("%s: read:", f.tmp);
			return NF_SYS;
		}
	}
	nf_bk_encode(b, h);
	if (nf_pwriteall(f.fd, h, sizeof(h), 0) < 0)
		goto fail;
	if ((r = nf_afile_commit(&f)) < 0) {
		if (r == -2)
			nf_warn("%s: rename:", file);
		else
			nf_warn("%s: write: %m (the previous %s is untouched)",
			    f.tmp, file);
		return NF_SYS;
	}
	nf_debug("%s: %llu bytes saved to %s in %lld ms, sum %016llx", label,
	    (unsigned long long)b->size, file, (nf_now_us() - t0) / 1000,
	    (unsigned long long)b->sum);
	return NF_OK;
fail:
	e = errno;
	nf_afile_abort(&f);
	errno = e;
	if (failed == 'r')
		nf_warn("%s: read:", label);
	else
		nf_warn("%s: write: %m (the previous %s is untouched)", f.tmp,
		    file);
	return NF_SYS;
}

int
nf_bk_create(const struct nf_bk *b, uint32_t key, struct nf_seg *s)
{
	struct shmid_ds ds;
	int id = shmget((key_t)key, (size_t)b->size, IPC_CREAT | IPC_EXCL |
	    (int)b->mode);

	if (id < 0)
		return -1;
	/* As root, give it back to its owner, as it was saved. */
	if (geteuid() == 0 && shmctl(id, IPC_STAT, &ds) == 0) {
		ds.shm_perm.uid = b->uid;
		ds.shm_perm.gid = b->gid;
		if (shmctl(id, IPC_SET, &ds) < 0)
			nf_warn("0x%08x: shmctl IPC_SET: %m", (unsigned)key);
	}
	if (nf_seg_byid(id, s) != 0) {
		errno = EIDRM;		/* created, then lost */
		return -1;
	}
	s->key = key;
	return 0;
}

int
nf_bk_load(int fd, struct nf_io *io, const struct nf_bk *b, int *failed)
{
	struct nf_sum s;
	int r;

	nf_sum_init(&s);
	r = io->fd >= 0 && nf_copy_direct ? nf_copy_direct(fd, NF_BK_HDR,
	    io->fd, b->size, nf_get_bk, &fd, &s, failed) :
	    nf_copy_summed(b->size, nf_get_bk, &fd, nf_put_io, io, &s, failed);
	if (r == 0 && nf_sum_final(&s) != b->sum)
		return 2;
	return r;
}
