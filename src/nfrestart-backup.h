/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/* nfrestart --backup and --restore: the segments copied in the restart gap. */
#ifndef NFRESTART_BACKUP_H
#define NFRESTART_BACKUP_H

#include <stdint.h>

#include "lib/opts.h"

enum { NF_OPT_BACKUP = NF_OPT_TOOL + 16, NF_OPT_KEEP, NF_OPT_RESTORE };
#define BK_LONG \
	{ "backup", required_argument, NULL, NF_OPT_BACKUP }, \
	{ "keep", required_argument, NULL, NF_OPT_KEEP }, \
	{ "restore", required_argument, NULL, NF_OPT_RESTORE }

/* 1 if C was --backup, --keep or --restore (dies 2 on a bad value). */
int bk_opt(int c, const char *arg);
/* After the options (and -C): the segments, the object segment first;
 * how the server is started: 'x' nfrestart execs it, 'd' with -d, 0 no
 * COMMAND. Dies 2 (or 3). */
void bk_setup(const uint32_t *keys, int nkeys, int how);
/* Under the lock, before anything is touched: --restore's file checked
 * (header, key, size, checksum, what a new server would do with it).
 * NF_OK, or the exit code, said. */
int bk_prepare(int force);
/* Does --restore write KEY? Its preflight is then the backup's. */
int bk_restores(uint32_t key);
void bk_plan(void);	/* -n: what would be saved and restored */
/* In the gap: the backups, then the restore. NF_OK, or NF_SYS when a
 * backup failed (the new server is started all the same); a failed
 * restore ends nfrestart with NF_DOWN, nothing started. */
int bk_gap(void);

#endif
