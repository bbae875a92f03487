/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm's private modules: src/nfshm.c (the subcommands' table, and what
 * looks: key, ls, stat, wait, sum, rm), src/nfshm-copy.c (save, restore)
 * and src/nfshm-freeze.c (save --freeze).
 */
#ifndef NFSHM_H
#define NFSHM_H

#include <sys/stat.h>
#include <sys/types.h>

#include "lib/nf.h"

#define NPIDS 64

extern int force;		/* -f */

/* What an operand (KEY, /NAME) or -S/-I names. */
struct tgt {
	int posix;
	uint32_t key;
	const char *name;	/* /NAME */
	char path[320];		/* /dev/shm/NAME */
	struct nf_seg s;	/* SysV */
	struct stat st;		/* POSIX */
};

/* ls -k, -u. */
struct lsf {
	int byuid;
	uid_t uid;
	int bykey;
	struct tgt k;
	int n;
};

/* The command line, as the subcommand that runs gets it. */
struct run {
	struct nf_addr a;	/* -C, -S/-I, -p: the restart lock's file */
	struct tgt t;		/* the segment (-S/-I, or an operand) */
	int have_tgt;
	long long ms;		/* -t (-1: none given) */
	pid_t fpid;		/* save --freeze PID, or 0 */
	struct lsf f;		/* ls */
	int noheader;		/* ls -H */
	int argc;		/* the operands left (FILE, ID) */
	char **argv;
};

/* src/nfshm.c */
void parse_posix(const char *arg, struct tgt *t);	/* dies 2 */
void parse_tgt(const char *arg, struct tgt *t);		/* dies 2 */
const char *tname(const struct tgt *t, char *buf, size_t n);
int find(struct tgt *t);	/* 0 found, 1 none; dies 3 on an error */
void need(struct tgt *t);	/* dies 1 when there is none */
uint64_t tsize(const struct tgt *t);
const char *unknown(void);	/* why who maps it cannot be told */
/* Its mappings' count, the PIDs in pids (*npids; -1: unknown). */
unsigned long attached(const struct tgt *t, pid_t *pids, int *npids);
const char *pidlist(const pid_t *pids, int n, char *buf, size_t len);
void io_open(struct nf_io *io, const struct tgt *t, int rw);	/* dies 3 */
/* The restart lock of -p or -S/-I (dies 4 while held, 3), or -1. */
int lock(const struct nf_addr *a, long long ms);
/* Dies 5 while attached (unless -f), 3 when it cannot be known. */
void check_detached(struct tgt *t, const char *what);

/* src/nfshm-copy.c */
int cmd_save(struct run *r);
int cmd_restore(struct run *r);

#endif
