/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Copies of shared memory: the checksum (sum.c), reading and writing a
 * segment's contents and copying them with their checksum (segio.c), and
 * the backup file that `nfshm save` writes and `nfshm restore` and
 * `nfrestart --restore` read (backup.c).
 */
#ifndef NF_BACKUP_H
#define NF_BACKUP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* ---- sum.c: nfshm's 64-bit checksum; portable ---- */
struct nf_sum {
	uint64_t l[4];
	uint64_t len;
	unsigned char tail[32];
	size_t tl;
};
void nf_sum_init(struct nf_sum *s);
void nf_sum_update(struct nf_sum *s, const void *data, size_t n);
uint64_t nf_sum_final(struct nf_sum *s);

/* ---- segio.c: a segment's contents, and copies of them ---- */
#define NF_CHUNK (256 * 1024)	/* checksummed, then copied while cached */

/* Set by the caller's signal handler: a copy stops at the next chunk. */
extern volatile sig_atomic_t nf_caught;

/* The contents as a file (fd >= 0) or through an attachment (m). */
struct nf_io {
	int fd;
	unsigned char *m;
	uint64_t size;
};
/* A SysV segment's contents, through its file in /proc/self/map_files
 * where we may (root, CAP_CHECKPOINT_RESTORE), else through an attachment.
 * 0, or -1 (errno: shmat failed). */
int nf_io_sysv(struct nf_io *io, int shmid, uint64_t size, int rw);
void nf_io_close(struct nf_io *io);
/* K bytes at OFF: in buf (a file), or in place (a mapping); NULL on error. */
const unsigned char *nf_io_get(struct nf_io *io, uint64_t off,
    unsigned char *buf, size_t k);
int nf_io_put(struct nf_io *io, uint64_t off, const unsigned char *p,
    size_t k);
int nf_preadall(int fd, void *buf, size_t n, uint64_t off);
int nf_pwriteall(int fd, const void *buf, size_t n, uint64_t off);

typedef const unsigned char *nf_getfn(void *arg, uint64_t off,
    unsigned char *buf, size_t k);
typedef int nf_putfn(void *arg, uint64_t off, const unsigned char *p,
    size_t k);
/* The two sides: an nf_io, and a backup file (its contents after its
 * header) whose fd is at *arg. */
nf_getfn nf_get_io, nf_get_bk;
nf_putfn nf_put_io, nf_put_bk;
/*
 * SIZE bytes from get to put, summed into s as they are read (what is
 * summed is exactly what is written). 0 done; -1 with errno and *failed
 * 'r' (get) or 'w' (put); 1 when nf_caught stopped it.
 */
typedef int nf_copyfn(uint64_t size, nf_getfn *get, void *garg,
    nf_putfn *put, void *parg, struct nf_sum *s, int *failed);
/* SIZE bytes from fd IN at IN_OFF to fd OUT at its offset, in the kernel
 * (sendfile), while get reads the same bytes for the sum: only for
 * contents nothing changes meanwhile. Returns as nf_copy_summed. */
typedef int nf_directfn(int in, uint64_t in_off, int out, uint64_t size,
    nf_getfn *get, void *garg, struct nf_sum *s, int *failed);
/* nf_copy_summed runs in this thread by default, and nf_copy_direct is
 * NULL (nf_copy_summed does its job); nf_copy_threads() (copymt.c) puts
 * both in place in two threads, the reads and the sum beside the writes,
 * at the price of the thread library in the binary (a tool near its size
 * budget keeps one thread). */
extern nf_copyfn *nf_copy_summed;
extern nf_directfn *nf_copy_direct;
void nf_copy_threads(void);

/* ---- backup.c: the backup file ---- */
struct nf_seg;
#define NF_BK_MAGIC "NFSHMBK1"
#define NF_BK_HDR 512
#define NF_BK_VERSION 1
enum { NF_BK_SYSV = 1, NF_BK_POSIX = 2 };

struct nf_bk {
	unsigned kind;
	uint32_t key;
	unsigned mode;
	uint64_t size, sum, saved;
	uint32_t uid, gid;
	char name[256];
};
void nf_bk_encode(const struct nf_bk *b, unsigned char *h);
/* NULL when the header is sound, else why not. */
const char *nf_bk_decode(const unsigned char *h, struct nf_bk *b);
uint64_t nf_bk_hdrsum(const unsigned char *h);
/*
 * Open a backup and check everything but its contents' checksum: a
 * regular file (a FIFO is refused, never waited on), its header, its size.
 * NF_OK with *fd open, or NF_USAGE (bad) / NF_SYS after a message.
 */
int nf_bk_open(const char *file, struct nf_bk *b, int *fd);
/* The checksum of the contents against the header's: NF_OK, NF_USAGE
 * (corrupt) or NF_SYS (read error), after a message. */
int nf_bk_verify(int fd, const struct nf_bk *b, const char *file);
/*
 * Write a backup of sv->io, described by B (its size and sum are set
 * here), to FILE, atomically. LABEL names the segment in messages. NF_OK;
 * 1 when nf_caught stopped it (the temporary file removed); NF_SYS after a
 * message (FILE untouched).
 */
struct nf_bksave {
	struct nf_io *io;
	int direct;		/* copy in the kernel: nothing writes meanwhile */
	int shmid;		/* >= 0: SysV; after a direct copy, check that */
	unsigned long natt;	/* no more than this many are attached, and the
				 * last attach or detach is ours: else warn, and
				 * take the sum of the copy */
	const char *label;
	void (*copied)(void *arg);	/* as soon as the copy has ended */
	void *arg;
};
int nf_bk_save(const struct nf_bksave *sv, struct nf_bk *b,
    const char *file);
/*
 * Since our own last attach or detach of segment SHMID, has anyone else
 * attached or detached it (a copy made meanwhile may be torn)? 0 no; 1
 * yes (more than NATT attached now, or the last attach or detach is not
 * ours); 2 it is gone or marked for removal. NOW is what was read.
 */
int nf_seg_disturbed(int shmid, unsigned long natt, struct nf_seg *now);
/* A new SysV segment KEY for backup B: its size and mode, and, run as
 * root, its owner. 0 and S set, or -1 (errno). */
int nf_bk_create(const struct nf_bk *b, uint32_t key, struct nf_seg *s);
/*
 * Copy the contents of the backup open at FD into IO, summed again as they
 * are read. 0 done; -1 with errno and *failed 'r' (the file) or 'w'; 1
 * stopped by nf_caught; 2 the contents are not what the header says (the
 * file changed since it was verified).
 */
int nf_bk_load(int fd, struct nf_io *io, const struct nf_bk *b, int *failed);

#endif
