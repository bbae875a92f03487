/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A segment's contents, read and written as a file where we may: mapping a
 * large segment costs one page-table entry per page on first touch, which
 * some virtual machines make dearer than the copy itself. A POSIX segment
 * is a file (its caller opens it). A SysV segment's file is reached through
 * our own attachment in /proc/self/map_files (root, or
 * CAP_CHECKPOINT_RESTORE); elsewhere the attachment itself is used, its
 * page tables filled ahead in one call. And copies of them, checksummed on
 * the way, for `nfshm save`/`restore` and `nfrestart --backup`/`--restore`.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/shm.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "nf.h"
#include "backup.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

volatile sig_atomic_t nf_caught;

int
nf_io_sysv(struct nf_io *io, int shmid, uint64_t size, int rw)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), end;
	char path[96];
	void *m;

	io->fd = -1;
	io->m = NULL;
	io->size = size;
	m = shmat(shmid, NULL, rw ? 0 : SHM_RDONLY);
	if (m == (void *)-1)
		return -1;
	end = (uintptr_t)m + (uintptr_t)((size + pg - 1) / pg * pg);
	nf_fmt(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
	    (unsigned long)(uintptr_t)m, (unsigned long)end);
	if ((io->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC)) >= 0) {
		shmdt(m);
		return 0;
	}
	nf_debug("shmid %d: %s: %m; through the attachment", shmid, path);
	io->m = m;
	return 0;
}

void
nf_io_close(struct nf_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	else
		shmdt(io->m);
}

int
nf_preadall(int fd, void *buf, size_t n, uint64_t off)
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

int
nf_pwriteall(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

const unsigned char *
nf_io_get(struct nf_io *io, uint64_t off, unsigned char *buf, size_t k)
{
	uintptr_t a;

	if (io->fd >= 0)
		return nf_preadall(io->fd, buf, k, off) < 0 ? NULL : buf;
	/* Fill the page tables ahead, in one call, rather than take a fault
	 * every few pages (Linux 5.14; elsewhere a no-op). */
	a = (uintptr_t)(io->m + off) & ~(uintptr_t)4095;
	madvise((void *)a, k + (uintptr_t)(io->m + off) - a,
	    MADV_POPULATE_READ);
	return io->m + off;
}

int
nf_io_put(struct nf_io *io, uint64_t off, const unsigned char *p, size_t k)
{
	if (io->fd >= 0)
		return nf_pwriteall(io->fd, p, k, off);
	memcpy(io->m + off, p, k);
	return 0;
}

const unsigned char *
nf_get_io(void *arg, uint64_t off, unsigned char *buf, size_t k)
{
	return nf_io_get(arg, off, buf, k);
}

int
nf_put_io(void *arg, uint64_t off, const unsigned char *p, size_t k)
{
	return nf_io_put(arg, off, p, k);
}

/* The backup's side: the contents start after its header. */
const unsigned char *
nf_get_bk(void *arg, uint64_t off, unsigned char *buf, size_t k)
{
	return nf_preadall(*(int *)arg, buf, k, NF_BK_HDR + off) < 0 ? NULL :
	    buf;
}

int
nf_put_bk(void *arg, uint64_t off, const unsigned char *p, size_t k)
{
	return nf_pwriteall(*(int *)arg, p, k, NF_BK_HDR + off);
}

/*
 * The copy runs in two threads: this one reads each chunk and checksums it
 * while a writer thread writes the chunk before, so the checksum costs no
 * time beyond the copy itself, and what is summed is exactly what is
 * written, even in a segment that changes meanwhile. Where no thread can be
 * had, the same loop runs alone.
 */
#define NSLOT 4

struct ring {
	mtx_t mu;
	cnd_t cv;
	const unsigned char *p[NSLOT];
	size_t len[NSLOT];
	uint64_t off[NSLOT];
	unsigned head, tail;	/* chunks handed over, chunks written */
	int done, err;		/* err: errno of a failed write */
	nf_putfn *put;
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

int
nf_copy_summed(uint64_t size, nf_getfn *get, void *garg, nf_putfn *put,
    void *parg, struct nf_sum *s, int *failed)
{
	static unsigned char bufs[NSLOT][NF_CHUNK];
	struct ring r;
	thrd_t th;
	uint64_t off = 0;
	int threaded, rerr = 0, werr = 0;

	memset(&r, 0, sizeof(r));
	r.put = put;
	r.arg = parg;
	threaded = size > NF_CHUNK && mtx_init(&r.mu, mtx_plain) ==
	    thrd_success && cnd_init(&r.cv) == thrd_success &&
	    thrd_create(&th, writer, &r) == thrd_success;
	while (off < size && !nf_caught) {
		size_t k = size - off < NF_CHUNK ? (size_t)(size - off) :
		    NF_CHUNK;
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
		nf_sum_update(s, p, k);
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
	return nf_caught ? 1 : 0;
}

/*
 * Straight from one file to the other, in the kernel, as cp(1) copies (one
 * copy, no page tables), in a thread of its own, while this one reads the
 * source again for the checksum: no hand-over between the two, so the
 * checksum costs no time where there is a second CPU. Only for contents
 * nobody changes; the caller checks afterwards that nobody did.
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

	while ((uint64_t)o - d->off < d->size && !nf_caught) {
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

int
nf_copy_direct(int in, uint64_t in_off, int out, uint64_t size,
    nf_getfn *get, void *garg, struct nf_sum *s, int *failed)
{
	static unsigned char buf[NF_CHUNK];
	struct direct d = { in, out, in_off, size, 0 };
	const unsigned char *p;
	thrd_t th;
	int threaded, rerr = 0;

	threaded = thrd_create(&th, sender, &d) == thrd_success;
	for (uint64_t off = 0; off < size && !nf_caught;) {
		size_t k = size - off < NF_CHUNK ? (size_t)(size - off) :
		    NF_CHUNK;

		if (!(p = get(garg, off, buf, k))) {
			rerr = errno ? errno : EIO;
			break;
		}
		nf_sum_update(s, p, k);
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
	return nf_caught ? 1 : 0;
}
