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
#include <sys/shm.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
	uintptr_t pg = (uintptr_t)getpagesize(), end;
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
 * The copy in this thread: each chunk read, summed, then written.
 * copymt.c has it in two threads, and the copy in the kernel between two
 * files, for the tools that can afford the thread library.
 */
static int
summed1(uint64_t size, nf_getfn *get, void *garg, nf_putfn *put,
    void *parg, struct nf_sum *s, int *failed)
{
	static unsigned char buf[NF_CHUNK];
	const unsigned char *p;

	for (uint64_t off = 0; off < size && !nf_caught;) {
		size_t k = size - off < NF_CHUNK ? (size_t)(size - off) :
		    NF_CHUNK;

		if (!(p = get(garg, off, buf, k))) {
			*failed = 'r';
			return -1;
		}
		nf_sum_update(s, p, k);
		if (put(parg, off, p, k) < 0) {
			*failed = 'w';
			return -1;
		}
		off += k;
	}
	return nf_caught ? 1 : 0;
}

nf_copyfn *nf_copy_summed = summed1;
nf_directfn *nf_copy_direct;	/* none: summed1 copies the files too */
