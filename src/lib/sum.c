/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * A 64-bit checksum of our own, made for speed: four independent lanes, each
 * 8-byte word xor-ed in, multiplied by an odd constant (a bijection that
 * carries every bit upwards) and rotated (which brings the high bits back
 * down for the next word), so memory bandwidth is the limit, not the
 * multiplier's latency. The lanes and the length are folded at the end.
 * Not cryptographic: it detects damage, not an adversary. `nfshm sum`
 * prints it, and backups carry it.
 */
#include <string.h>

#include "backup.h"

#define K1 0x9e3779b97f4a7c15ULL
#define K2 0xd6e8feb86659fd93ULL

static uint64_t
rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

void
nf_sum_init(struct nf_sum *s)
{
	s->l[0] = K1;
	s->l[1] = K2;
	s->l[2] = ~K1;
	s->l[3] = ~K2;
	s->len = 0;
	s->tl = 0;
}

static void
blocks(struct nf_sum *s, const unsigned char *p, size_t nblk)
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

void
nf_sum_update(struct nf_sum *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	s->len += n;
	if (s->tl) {
		size_t k = 32 - s->tl < n ? 32 - s->tl : n;

		memcpy(s->tail + s->tl, p, k);
		s->tl += k, p += k, n -= k;
		if (s->tl < 32)
			return;
		blocks(s, s->tail, 1);
		s->tl = 0;
	}
	blocks(s, p, n / 32);
	p += n / 32 * 32;
	n %= 32;
	memcpy(s->tail, p, n);
	s->tl = n;
}

uint64_t
nf_sum_final(struct nf_sum *s)
{
	uint64_t h = s->len * K2;

	if (s->tl) {		/* the last words, zero-padded */
		memset(s->tail + s->tl, 0, 32 - s->tl);
		blocks(s, s->tail, 1);
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
