/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Reading NFShmXFrame's object-segment header (the fixture writes one:
 * tests/fixtures/nfxhdr.c). Unaligned-safe:
 * everything goes through memcpy.
 */
#include <string.h>

#include "shmhdr.h"

int32_t
nf_shm_get32(const void *mem, size_t off)
{
	int32_t v;

	memcpy(&v, (const char *)mem + off, sizeof(v));
	return v;
}

uint64_t
nf_shm_get64(const void *mem, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)mem + off, sizeof(v));
	return v;
}

/*
 * As the framework computes it (NFCSharedMem::Initialize and SetStamp): the
 * key, create time and stamp each cut to 32 bits, the size whole, xor-ed
 * into the 64-bit field. The framework writes it and never checks it.
 */
uint64_t
nf_shm_crc(const void *mem)
{
	return (uint64_t)(uint32_t)nf_shm_get32(mem, NF_SHM_OFF_KEY) ^
	    nf_shm_get64(mem, NF_SHM_OFF_SIZE) ^
	    (uint64_t)(uint32_t)nf_shm_get64(mem, NF_SHM_OFF_CREATE) ^
	    (uint64_t)(uint32_t)nf_shm_get64(mem, NF_SHM_OFF_STAMP);
}

int
nf_shm_judge(const void *mem, uint64_t segsize, uint32_t key)
{
	if (segsize < NF_SHM_HDR ||
	    (uint32_t)nf_shm_get32(mem, NF_SHM_OFF_KEY) != key ||
	    nf_shm_get64(mem, NF_SHM_OFF_SIZE) != segsize)
		return NF_V_NONE;
	if (nf_shm_get32(mem, NF_SHM_OFF_VERSION) != NF_SHM_VERSION)
		return NF_V_REFUSE;
	if (nf_shm_get32(mem, NF_SHM_OFF_INIT) != NF_SHM_INIT_OK)
		return NF_V_INIT;
	return NF_V_RECOVER;
}

const char *
nf_shm_verdict_name(int v)
{
	return v == NF_V_RECOVER ? "RECOVER" : v == NF_V_INIT ? "INIT" :
	    v == NF_V_REFUSE ? "REFUSE" : "NONE";
}
