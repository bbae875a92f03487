/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * Reading and writing NFShmXFrame's object-segment header. Unaligned-safe:
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

void
nf_shm_put32(void *mem, size_t off, int32_t v)
{
	memcpy((char *)mem + off, &v, sizeof(v));
}

void
nf_shm_put64(void *mem, size_t off, uint64_t v)
{
	memcpy((char *)mem + off, &v, sizeof(v));
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
nf_shm_is_nfx(const void *mem, size_t size, uint32_t key)
{
	if (size < NF_SHM_HDR)
		return 0;
	return (uint32_t)nf_shm_get32(mem, NF_SHM_OFF_KEY) == key &&
	    nf_shm_get64(mem, NF_SHM_OFF_SIZE) == (uint64_t)size;
}

int
nf_shm_verdict(const void *mem, size_t size, uint32_t key)
{
	return nf_shm_judge(mem, (uint64_t)size, key);
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

void
nf_shm_init_header(void *mem, size_t size, uint32_t key, uint64_t now)
{
	/* A stand-in for the vtable pointer, so offset 0 is not zero. */
	nf_shm_put64(mem, 0, 0x00005555deadbeefULL);
	nf_shm_put32(mem, NF_SHM_OFF_KEY, (int32_t)key);
	nf_shm_put64(mem, NF_SHM_OFF_SIZE, (uint64_t)size);
	nf_shm_put64(mem, NF_SHM_OFF_CREATE, now);
	nf_shm_put64(mem, NF_SHM_OFF_STAMP, now);
	nf_shm_put64(mem, NF_SHM_OFF_CRC, nf_shm_crc(mem));
	nf_shm_put32(mem, NF_SHM_OFF_INIT, NF_SHM_INIT_OK);
	nf_shm_put32(mem, NF_SHM_OFF_VERSION, NF_SHM_VERSION);
}
