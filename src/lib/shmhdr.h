/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * NFShmXFrame's object-segment header on x86-64 (DESIGN.md section 5): a C++
 * object with its vtable pointer at 0.
 */
#ifndef NF_SHMHDR_H
#define NF_SHMHDR_H

#include <stddef.h>
#include <stdint.h>

#define NF_SHM_OFF_KEY		8	/* int32 */
#define NF_SHM_OFF_SIZE		16	/* uint64 */
#define NF_SHM_OFF_CREATE	24	/* uint64 */
#define NF_SHM_OFF_STAMP	32	/* uint64 */
#define NF_SHM_OFF_CRC		40	/* uint64 */
#define NF_SHM_OFF_INIT		84	/* int32 */
#define NF_SHM_OFF_VERSION	88	/* int32 */
#define NF_SHM_HDR		128	/* the header fits in this */
#define NF_SHM_INIT_OK		987654321
#define NF_SHM_VERSION		100001

enum { NF_V_NONE, NF_V_RECOVER, NF_V_INIT, NF_V_REFUSE };

int32_t nf_shm_get32(const void *mem, size_t off);
uint64_t nf_shm_get64(const void *mem, size_t off);
uint64_t nf_shm_crc(const void *mem);
/* What a new server would do with a segment of SEGSIZE bytes whose
 * header (its first NF_SHM_HDR bytes) is HDR: NF_V_*; NONE when it is not
 * NFShmXFrame's (the key at 8 and the size at 16 do not match). */
int nf_shm_judge(const void *hdr, uint64_t segsize, uint32_t key);
const char *nf_shm_verdict_name(int v);

#endif
