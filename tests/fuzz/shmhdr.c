/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * NFShmXFrame's object-segment header (shmhdr.c) on arbitrary bytes: the
 * input is the segment, exactly as long as the input. The first byte picks
 * the key and whether the key and size at 8 and 16 are made to match, so
 * the verdicts past "not a header" are reached. Besides not crashing (and
 * never reading past a segment shorter than the header): the verdict agrees
 * with a reference decoding of the layout in DESIGN.md section 5 and
 * with nf_shm_judge on a copy of the header; a header written by the
 * fixture's nf_shm_init_header (tests/fixtures/nfxhdr.c) is RECOVER with a
 * matching crc.
 */
#include <stdint.h>
#include <string.h>

#include "../fixtures/nfxhdr.h"
#include "fuzz.h"

static uint64_t
le(const uint8_t *p, int k)
{
	uint64_t v = 0;

	while (k--)
		v = v << 8 | p[k];
	return v;
}

static int
ref_verdict(const uint8_t *m, size_t size, uint32_t key)
{
	if (size < 128 || (uint32_t)le(m + 8, 4) != key ||
	    le(m + 16, 8) != (uint64_t)size)
		return NF_V_NONE;
	if ((uint32_t)le(m + 88, 4) != 100001)
		return NF_V_REFUSE;
	if ((uint32_t)le(m + 84, 4) != 987654321)
		return NF_V_INIT;
	return NF_V_RECOVER;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	uint8_t *seg, hdr[NF_SHM_HDR];
	uint32_t key;
	uint64_t crc;
	size_t big;
	int v;

	if (n < 1)
		return 0;
	seg = malloc(n);
	memcpy(seg, d, n);
	key = n >= 12 && (d[0] & 2) ? (uint32_t)le(d + 8, 4) :
	    0x100d0101u ^ d[0];
	if ((d[0] & 1) && n >= NF_SHM_HDR) {
		nf_shm_put32(seg, NF_SHM_OFF_KEY, (int32_t)key);
		nf_shm_put64(seg, NF_SHM_OFF_SIZE, (uint64_t)n);
	}
	v = nf_shm_judge(seg, (uint64_t)n, key);
	PROP(v == ref_verdict(seg, n, key));
	PROP(nf_shm_verdict_name(v) != NULL);
	if (n >= NF_SHM_HDR) {
		memcpy(hdr, seg, sizeof(hdr));
		PROP(nf_shm_judge(hdr, (uint64_t)n, key) == v);
		crc = nf_shm_crc(hdr);
		PROP(crc == ((uint64_t)(uint32_t)le(hdr + 8, 4) ^
		    le(hdr + 16, 8) ^ (uint32_t)le(hdr + 24, 8) ^
		    (uint32_t)le(hdr + 32, 8)));
	}
	free(seg);

	/* A fresh header over a segment of this size. */
	big = n < NF_SHM_HDR ? NF_SHM_HDR : n;
	seg = calloc(big, 1);
	nf_shm_init_header(seg, big, key, le(d, n < 8 ? n : 8));
	PROP(nf_shm_judge(seg, (uint64_t)big, key) == NF_V_RECOVER);
	PROP(nf_shm_get64(seg, NF_SHM_OFF_CRC) == nf_shm_crc(seg));
	PROP(nf_shm_judge(seg, (uint64_t)big, key ^ 1) == NF_V_NONE);
	free(seg);
	return 0;
}
