/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * The backup header (`nfshm save` and `nfrestart --backup` files, read by
 * `nfshm restore` and `nfrestart --restore`) and its checksum, from
 * src/lib/backup.c and sum.c, as the tools link them. The first input byte says
 * whether to give the rest the right magic, version and header checksum,
 * so the field checks behind them are reached. Besides not crashing: an
 * accepted header names a segment (SysV with a key, or /NAME with no other
 * slash), has a mode within 0777, and encodes to a header that decodes to
 * the same fields; the checksum of the input is the same whether it is
 * summed at once or in pieces of any sizes.
 */
#include "../../src/lib/nf.h"
#include "fuzz.h"

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
same(const struct nf_bk *a, const struct nf_bk *b)
{
	return a->kind == b->kind && a->key == b->key && a->mode == b->mode &&
	    a->size == b->size && a->sum == b->sum && a->saved == b->saved &&
	    a->uid == b->uid && a->gid == b->gid &&
	    !memcmp(a->name, b->name, sizeof(a->name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	unsigned char h[NF_BK_HDR], h2[NF_BK_HDR];
	struct nf_bk b, b2;
	struct nf_sum whole, parts;
	const char *why;
	size_t off, k;

	if (n < 1)
		return 0;
	memset(h, 0, sizeof(h));
	memcpy(h, d + 1, n - 1 < NF_BK_HDR ? n - 1 : NF_BK_HDR);
	if (d[0] & 1) {
		uint64_t hs;

		memcpy(h, NF_BK_MAGIC, 8);
		put32(h + 8, NF_BK_VERSION);
		hs = nf_bk_hdrsum(h);
		put32(h + NF_BK_HDR - 8, (uint32_t)hs);
		put32(h + NF_BK_HDR - 4, (uint32_t)(hs >> 32));
	}
	memset(&b, 0xa5, sizeof(b));
	why = nf_bk_decode(h, &b);
	if (!why) {
		PROP(b.kind == 1 || b.kind == 2);
		if (b.kind == 1)
			PROP(b.key != 0);
		else
			PROP(b.name[0] == '/' && !strchr(b.name + 1, '/') &&
			    strlen(b.name) < sizeof(b.name));
		PROP(b.mode <= 0777);
		nf_bk_encode(&b, h2);
		memset(&b2, 0x5a, sizeof(b2));
		PROP(nf_bk_decode(h2, &b2) == NULL && same(&b, &b2));
		PROP(!memcmp(h2, NF_BK_MAGIC, 8) && get32(h2 + 8) ==
		    NF_BK_VERSION);
	} else {
		PROP(*why);
	}

	/* The checksum, at once and in pieces (sizes from the input). */
	nf_sum_init(&whole);
	nf_sum_update(&whole, d, n);
	nf_sum_init(&parts);
	for (off = 0, k = 0; off < n; off += k) {
		k = 1 + d[off] % 67;
		if (k > n - off)
			k = n - off;
		nf_sum_update(&parts, d + off, k);
	}
	PROP(nf_sum_final(&whole) == nf_sum_final(&parts));
	return 0;
}
