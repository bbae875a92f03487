/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * SysV shared memory as the tools see it (DESIGN.md sections 4 and 5): a
 * segment found by its key, judged by its NFShmXFrame header, and the
 * processes that have it attached. Linux facts come from /proc/sysvipc/shm
 * and /proc/PID/maps; where /proc is missing, from shmctl(2).
 */
#ifndef NF_SHM_H
#define NF_SHM_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct nf_seg {
	uint32_t key;		/* the key it was found by */
	int shmid;
	uid_t uid;		/* owner */
	gid_t gid;
	uid_t cuid;		/* creator */
	unsigned mode;		/* permission bits (0777) */
	uint64_t size;
	unsigned long nattch;
	pid_t cpid, lpid;	/* creator, last shmat/shmdt */
	long long atime, dtime, ctime;	/* seconds since the epoch, 0: never */
	int dest;		/* marked for removal: its key no longer finds it */
	int locked;		/* SHM_LOCK */
};

/*
 * By key: 0 found, 1 no such segment, -1 error (errno). A segment already
 * marked for removal keeps its data until its last detach, but the kernel
 * has cleared its key; it is found through the attached processes' maps
 * (the name "/SYSV%08x" keeps the key, the inode is the shmid), with dest
 * set and key the one asked for.
 */
int nf_seg_find(uint32_t key, struct nf_seg *s);
/* By shmid: 0 found, 1 none, -1 error. */
int nf_seg_byid(int shmid, struct nf_seg *s);
/* Every segment, in the kernel's order; fn returning non-zero stops the
 * walk and is returned. -1 on error (errno). */
int nf_seg_each(int (*fn)(const struct nf_seg *s, void *arg), void *arg);

/*
 * The first NF_SHM_HDR bytes (shmhdr.h), read through a read-only
 * attachment (SHM_RDONLY: the contents are never written, but the kernel
 * counts the look in lpid, atime and dtime). 0 ok, -1 error (errno).
 */
int nf_seg_header(const struct nf_seg *s, unsigned char *hdr);
/* What a new server would do with it: NF_V_RECOVER/INIT/REFUSE, NF_V_NONE
 * if it is not NFShmXFrame's; -1 error (errno). A segment marked for
 * removal is INIT: a new server cannot find it and starts empty. */
int nf_seg_verdict(const struct nf_seg *s);

/* Who maps NAME as it appears in /proc/PID/maps ("/SYSV%08x",
 * "/dev/shm/x"): ino, when not 0, must match too. */
struct nf_maps_hit {
	size_t npids;		/* distinct processes (pids holds up to max) */
	size_t nmaps;		/* mappings: the kernel's nattch counts these */
	size_t unreadable;	/* processes whose maps could not be read */
};
/* 0 done, -1 no /proc (errno). */
int nf_maps_find(const char *name, unsigned long ino, pid_t *pids,
    size_t max, struct nf_maps_hit *h);
/*
 * PIDs that have segment KEY attached, from /proc/PID/maps: the count
 * (PIDs beyond max are counted, not stored), or -1 when it cannot be known
 * (no /proc; maps we may not read, unless the mappings found already
 * account for the segment's whole nattch).
 */
int nf_seg_attached(uint32_t key, pid_t *pids, size_t max);
/*
 * PIDs of our IPC namespace that have segment S (its shmid; -1: any, by
 * the key in the maps name, for one marked for removal) attached for
 * writing: a server, not an observer (SHM_RDONLY: a monitor, nfshm). The
 * count (beyond max counted, not stored), -1 when it cannot be known:
 * maps that cannot be read, or fewer mappings seen than S's nattch
 * (processes hidden by hidepid).
 */
int nf_seg_writers(const struct nf_seg *s, pid_t *pids, size_t max);
/* Until nattch is 0 or the segment is gone; ms < 0: no limit.
 * NF_OK, NF_TIMEOUT or NF_SYS (errno). */
int nf_seg_wait_detached(uint32_t key, long long ms);

/* kernel.shm_rmid_forced: 1, 0, or -1 unknown. */
int nf_shm_rmid_forced(void);
/* Does logind remove this owner's IPC objects when its last session ends
 * (RemoveIPC=yes, the default, for a uid above SYS_UID_MAX)? 1/0. */
int nf_removeipc_applies(uid_t uid);
/* /etc/passwd, read as it is (no NSS: no libc of ours brings it): NAME's
 * uid into *UID, or, NAME NULL, *UID's name into BUF (one that has blanks
 * or controls is not taken). 1 found, 0 not, -1 unreadable (errno). */
int nf_passwd(const char *name, uid_t *uid, char *buf, size_t n);
/* The owner's name from /etc/passwd into BUF, or its number. */
const char *nf_owner_name(uid_t uid, char *buf, size_t n);
/* Warnings on stderr for what would destroy the segment in the restart
 * gap: kernel.shm_rmid_forced=1, marked for removal, logind RemoveIPC. */
void nf_seg_warn(const struct nf_seg *s);

#endif
