/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The copies of segio.c in two threads, for nfshm: the checksum then costs
 * no time beyond the copy itself where there is a second CPU.
 * nf_copy_threads() puts them in place; a tool that does not call it does
 * not carry the thread library.
 */
#define _GNU_SOURCE
#include <sys/sendfile.h>

#include <errno.h>
#include <string.h>
#include <threads.h>

#include "nf.h"
#include "backup.h"

/*
 * This thread reads each chunk and checksums it while a writer thread
 * writes the chunk before, so what is summed is exactly what is written,
 * even in a segment that changes meanwhile. Where no thread can be had,
 * the same loop runs alone.
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

static int
summed2(uint64_t size, nf_getfn *get, void *garg, nf_putfn *put, void *parg,
    struct nf_sum *s, int *failed)
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
 * source again for the checksum: no hand-over between the two.
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

static int
direct2(int in, uint64_t in_off, int out, uint64_t size, nf_getfn *get,
    void *garg, struct nf_sum *s, int *failed)
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

void
nf_copy_threads(void)
{
	nf_copy_summed = summed2;
	nf_copy_direct = direct2;
}
