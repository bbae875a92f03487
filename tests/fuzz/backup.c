/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm's backup header (`nfshm save` files, read by `nfshm restore`) and
 * its checksum. nfshm.c is compiled in whole (its main renamed), so the
 * decoder tried is the one the tool runs. The first input byte says
 * whether to give the rest the right magic, version and header checksum,
 * so the field checks behind them are reached. Besides not crashing: an
 * accepted header names a segment (SysV with a key, or /NAME with no other
 * slash), has a mode within 0777, and encodes to a header that decodes to
 * the same fields; the checksum of the input is the same whether it is
 * summed at once or in pieces of any sizes.
 */
#define main nfshm_main
#include "../../src/nfshm.c"
#undef main

#include "fuzz.h"

static int
same(const struct bk *a, const struct bk *b)
{
	return a->kind == b->kind && a->key == b->key && a->mode == b->mode &&
	    a->size == b->size && a->sum == b->sum && a->saved == b->saved &&
	    a->uid == b->uid && a->gid == b->gid &&
	    !memcmp(a->name, b->name, sizeof(a->name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	unsigned char h[BK_HDR], h2[BK_HDR];
	struct bk b, b2;
	struct sum whole, parts;
	const char *why;
	size_t off, k;

	if (n < 1)
		return 0;
	memset(h, 0, sizeof(h));
	memcpy(h, d + 1, n - 1 < BK_HDR ? n - 1 : BK_HDR);
	if (d[0] & 1) {
		memcpy(h, BK_MAGIC, 8);
		put32(h + 8, BK_VERSION);
		put64(h + BK_HDR - 8, hdrsum(h));
	}
	memset(&b, 0xa5, sizeof(b));
	why = bk_decode(h, &b);
	if (!why) {
		PROP(b.kind == 1 || b.kind == 2);
		if (b.kind == 1)
			PROP(b.key != 0);
		else
			PROP(b.name[0] == '/' && !strchr(b.name + 1, '/') &&
			    strlen(b.name) < sizeof(b.name));
		PROP(b.mode <= 0777);
		bk_encode(&b, h2);
		memset(&b2, 0x5a, sizeof(b2));
		PROP(bk_decode(h2, &b2) == NULL && same(&b, &b2));
		PROP(!memcmp(h2, BK_MAGIC, 8) && get32(h2 + 8) == BK_VERSION);
	} else {
		PROP(*why);
	}

	/* The checksum, at once and in pieces (sizes from the input). */
	sum_init(&whole);
	sum_update(&whole, d, n);
	sum_init(&parts);
	for (off = 0, k = 0; off < n; off += k) {
		k = 1 + d[off] % 67;
		if (k > n - off)
			k = n - off;
		sum_update(&parts, d + off, k);
	}
	PROP(sum_final(&whole) == sum_final(&parts));
	return 0;
}
