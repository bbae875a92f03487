/* nfhandoff - SPDX-License-Identifier: ISC - see LICENSE */
/*
 * nfshm save and restore: a segment's contents to a file and back, in the
 * format of src/lib/backup.c (a header, the contents, their checksum;
 * written atomically). A restore checks the whole file before it touches
 * memory, refuses a segment of another size or one that is attached, and
 * looks again afterwards: a server that attached during the copy may have
 * read a mixture.
 */
#define _GNU_SOURCE
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/shmhdr.h"
#include "nfshm.h"
#include "nfshm-freeze.h"

/* ---- save ---- */

/*
 * --freeze PID: does PID have this very segment attached for writing? For
 * SysV, its maps must show the segment's shmid and it must be in our IPC
 * namespace (the same key there is another server's segment). 1 yes; for
 * POSIX 0, left to the maps. Dies 5 when not, 3 when it cannot be told.
 */
static int
freeze_has(const struct tgt *t, pid_t pid)
{
	char kb[16];
	int r;

	if (t->posix)
		return 0;
	if ((r = nf_proc_has_seg(pid, t->key, t->s.shmid)) < 0)
		nf_die(NF_SYS, "--freeze %d: cannot read its maps or IPC "
		    "namespace: not stopping it; nothing saved", (int)pid);
	if (r != 1)
		nf_die(NF_REFUSED, "--freeze %d: it does not have %s attached%s: "
		    "not stopping a process that is not its server; nothing "
		    "saved", (int)pid, tname(t, kb, sizeof(kb)), r ?
		    " for writing (an observer)" : "");
	return 1;
}

static void
on_sig(int sig)
{
	nf_caught = sig;
}

int
cmd_save(struct run *run)
{
	struct tgt *t = &run->t;
	const char *file = run->argv[0];
	pid_t fpid = run->fpid;
	char kb[16], buf[NPIDS * 12 + 8];
	const char *base = strrchr(file, '/');
	struct stat st;
	struct nf_bk b;
	struct nf_bksave sv = { 0 };
	struct freeze fz;
	struct sigaction sa;
	pid_t pids[NPIDS];
	struct nf_io io;
	unsigned long n;
	int np, r, others = 0, found = 0;

	/* A frozen server cannot exit: with -S/-I, hold its restart lock
	 * through the copy, so no restart signals it meanwhile and waits out
	 * its -t for nothing. */
	if (fpid && run->a.pidfile)
		lock(&run->a, 0);
	/* The destination first: nothing is created if it is wrong. */
	if (!*file || (base && !base[1]) || strlen(file) > 4000)
		nf_die(NF_USAGE, "%s: not a file name", file);
	if (lstat(file, &st) == 0 && !S_ISREG(st.st_mode))
		nf_die(NF_USAGE, "%s: %s", file, S_ISLNK(st.st_mode) ?
		    "is a symbolic link (give the real path)" :
		    "not a regular file");
	need(t);
	if (fpid) {
		freeze_open(&fz, fpid);
		found = freeze_has(t, fpid);
	}
	n = attached(t, pids, &np);
	for (int i = 0; i < np && i < NPIDS; i++)
		*(pids[i] == fpid ? &found : &others) = 1;
	/* Who else has it cannot be told: perhaps someone. A SysV segment
	 * attached once is attached by PID alone. */
	if (np < 0)
		others = t->posix || n > 1;
	if (fpid && np < 0 && t->posix)
		nf_die(NF_SYS, "%s: cannot tell who has it mapped (%s): not "
		    "stopping %d; nothing saved", t->name, unknown(), (int)fpid);
	if (fpid && !found)
		nf_die(NF_REFUSED, "--freeze %d: it does not have %s mapped: "
		    "not stopping a process that is not its server; nothing "
		    "saved", (int)fpid, t->name);
	if (fpid && others && !force)
		nf_warn("%s: attached by others too (pids %s): only %d is stopped; "
		    "the copy may be torn (-f: no warning)", tname(t, kb,
		    sizeof(kb)), pidlist(pids, np, buf, sizeof(buf)), (int)fpid);
	if (!fpid && n && !force) {
		if (np < 0 && t->posix)
			nf_warn("%s: cannot tell who has it mapped (%s): the copy "
			    "may be torn (-f: no warning)", t->name, unknown());
		else
			nf_warn("%s: attached (pids %s): the copy may be torn (-f: "
			    "save anyway without this warning)", tname(t, kb,
			    sizeof(kb)), pidlist(pids, np, buf, sizeof(buf)));
	}
	if (!t->posix)
		nf_seg_warn(&t->s);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	memset(&b, 0, sizeof(b));
	b.kind = t->posix ? NF_BK_POSIX : NF_BK_SYSV;
	b.key = t->posix ? 0 : t->key;
	b.mode = t->posix ? (unsigned)t->st.st_mode & 0777 : t->s.mode;
	b.saved = (uint64_t)time(NULL);
	b.uid = t->posix ? t->st.st_uid : t->s.uid;
	b.gid = t->posix ? t->st.st_gid : t->s.gid;
	if (t->posix)
		nf_fmt(b.name, sizeof(b.name), "%s", t->name);
	io_open(&io, t, 0);
	sv.io = &io;
	/* Copied in the kernel when nothing else writes (nothing attached,
	 * or only the server, stopped); checked after. */
	sv.direct = !t->posix && (fpid ? !others : t->s.nattch == 0);
	sv.shmid = t->posix ? -1 : t->s.shmid;
	sv.natt = fpid ? n : 0;
	sv.label = tname(t, kb, sizeof(kb));
	if (fpid) {
		freeze_stop(&fz);
		sv.copied = freeze_resume;
		sv.arg = &fz;
	}
	r = nf_bk_save(&sv, &b, file);
	if (fpid)
		freeze_resume(&fz);
	nf_io_close(&io);
	if (r == 1) {
		int sig = nf_caught;

		signal(sig, SIG_DFL);
		raise(sig);
		_exit(128 + sig);
	}
	return r;
}

/* ---- restore ---- */

/* Removes a segment we created, when filling it failed. */
static void
drop(const struct tgt *t)
{
	if (t->posix)
		unlink(t->path);
	else
		shmctl(t->s.shmid, IPC_RMID, NULL);
}

/*
 * After the copy: is the data there, and did anyone attach meanwhile? A
 * server that attached during the copy may have read a mixture, or written
 * into it. NATT: the attachments before the copy (0 unless --force).
 */
static void
check_after(struct tgt *t, unsigned long natt)
{
	pid_t pids[NPIDS];
	char buf[NPIDS * 12 + 8], kb[16];
	int np, r;

	if (!t->posix) {
		if ((r = nf_seg_disturbed(t->s.shmid, natt, &t->s)) == 0)
			return;
		t->s.key = t->key;
		if (r == 2)
			nf_die(NF_SYS, "%s: destroyed during the restore (%s): "
			    "the restored data is not there", tname(t, kb,
			    sizeof(kb)), nf_shm_rmid_forced() == 1 ?
			    "kernel.shm_rmid_forced=1" : "removed by someone");
	} else if (find(t) != 0)
		nf_die(NF_SYS, "%s: removed during the restore: the restored "
		    "data is not there", t->path);
	/* A POSIX segment's mappings that cannot be seen may be new ones:
	 * only --force accepts that. */
	if (attached(t, pids, &np) <= natt && t->posix)
		return;
	if (t->posix && np < 0 && force) {
		nf_warn("%s: cannot tell whether another process mapped it "
		    "during the restore (%s): accepted (--force)", t->name,
		    unknown());
		return;
	}
	nf_die(NF_SYS, "%s: %s during the restore (attached now: pids %s): it may "
	    "have read or written a mixture of the old and the restored data; "
	    "stop it and restore again", tname(t, kb, sizeof(kb)), np < 0 ?
	    "perhaps attached by another process" : "attached by another "
	    "process", pidlist(pids, np, buf, sizeof(buf)));
}

int
cmd_restore(struct run *run)
{
	const char *file = run->argv[0];
	struct tgt *t = &run->t;
	char kb[16];
	pid_t pids[NPIDS];
	struct nf_bk b;
	struct nf_io io;
	long long t0 = nf_now_us();
	unsigned long natt = 0;
	int fd, created = 0, failed, r, np, found;

	/* All of the input first: the file, its header, its checksum. */
	if ((r = nf_bk_open(file, &b, &fd)) != NF_OK)
		nf_exit(r);
	if (!run->have_tgt) {
		memset(t, 0, sizeof(*t));
		if (b.kind == NF_BK_POSIX)
			parse_posix(b.name, t);
		else
			t->key = b.key;
	}
	if (!t->posix && b.size == 0)
		nf_die(NF_USAGE, "%s: an empty backup cannot become a SysV "
		    "segment", file);
	if ((r = nf_bk_verify(fd, &b, file)) != NF_OK)
		nf_exit(r);

	lock(&run->a, run->ms);
	if ((found = find(t) == 0)) {
		if (tsize(t) != b.size)
			nf_die(NF_REFUSED, "%s: has %llu bytes, the backup %llu: "
			    "not restored (nfshm rm it first)", tname(t, kb,
			    sizeof(kb)), (unsigned long long)tsize(t),
			    (unsigned long long)b.size);
		if (!t->posix && t->s.dest)
			nf_die(NF_REFUSED, "%s: marked for removal: not restored "
			    "(a new server would not find it)", tname(t, kb,
			    sizeof(kb)));
		check_detached(t, "restored");
		natt = attached(t, pids, &np);
	}
	/* With nothing else attached, the kernel would destroy what we
	 * write at our own detach. */
	if (!t->posix && natt == 0 && nf_shm_rmid_forced() == 1)
		nf_die(NF_REFUSED, "%s: kernel.shm_rmid_forced=1 would destroy "
		    "the segment as soon as nfshm detaches (nothing else is "
		    "attached): not restored (nfrestart --restore stays "
		    "attached until the new server is)", tname(t, kb,
		    sizeof(kb)));
	if (found)
		;
	else if (t->posix) {
		int pfd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, b.mode);

		if (pfd < 0)
			nf_die(NF_SYS, "%s: open:", t->path);
		created = 1;
		if (fchmod(pfd, b.mode) < 0 || (geteuid() == 0 &&
		    fchown(pfd, b.uid, b.gid) < 0) ||
		    ftruncate(pfd, (off_t)b.size) < 0) {
			int e = errno;

			unlink(t->path);
			errno = e;
			nf_die(NF_SYS, "%s: create:", t->path);
		}
		close(pfd);
		if (lstat(t->path, &t->st) < 0)
			nf_die(NF_SYS, "%s: lstat:", t->path);
	} else {
		if (nf_bk_create(&b, t->key, &t->s) < 0)
			nf_die(NF_SYS, "%s: shmget:", tname(t, kb, sizeof(kb)));
		created = 1;
	}
	if (!t->posix && b.kind == NF_BK_SYSV && b.key != t->key)
		nf_info("%s: the backup was saved from 0x%08x", tname(t, kb,
		    sizeof(kb)), (unsigned)b.key);

	/* Copy, checksumming again what is written: the file could have
	 * changed in place since it was verified. */
	io_open(&io, t, 1);
	r = nf_bk_load(fd, &io, &b, &failed);
	nf_io_close(&io);
	close(fd);
	if (r != 0) {
		int e = errno;

		if (created)
			drop(t);
		errno = e;
		if (r == 2)
			nf_die(NF_SYS, "%s: changed while it was restored: %s",
			    file, created ? "the new segment was removed" :
			    "the segment holds a mixture; restore again");
		nf_die(NF_SYS, "%s: %s: %m: %s", failed == 'r' ? file :
		    tname(t, kb, sizeof(kb)), failed == 'r' ? "read" : "write",
		    created ? "the new segment was removed" :
		    "the segment holds a mixture; restore again");
	}
	check_after(t, natt);
	if (!t->posix)
		nf_seg_warn(&t->s);
	nf_debug("%s: %llu bytes restored from %s in %lld ms%s",
	    tname(t, kb, sizeof(kb)), (unsigned long long)b.size, file,
	    (nf_now_us() - t0) / 1000, created ? " (created)" : "");
	return NF_OK;
}
