# nfhandoff - SPDX-License-Identifier: ISC - see LICENSE
.POSIX:
.SUFFIXES:
.SUFFIXES: .c .o

CC = musl-gcc
AR = ar
CFLAGS = -std=c11 -Oz -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector
LDFLAGS = -static -s -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
# systemd looks for units in /usr/local/lib/systemd/system too.
UNITDIR = $(PREFIX)/lib/systemd/system
CONFDIR = /etc/nfhandoff
DESTDIR =

LIBOBJ = src/lib/addr.o src/lib/backoff.o src/lib/fmt.o src/lib/guard.o \
	src/lib/msg.o src/lib/opt.o src/lib/parse.o src/lib/pidfd.o src/lib/pidfile.o \
	src/lib/pidrules.o src/lib/proc.o src/lib/shm.o src/lib/shmhdr.o \
	src/lib/sig.o src/lib/wait.o src/lib/backup.o src/lib/copymt.o \
	src/lib/files.o src/lib/segio.o src/lib/sum.o
LIBSRC = $(LIBOBJ:.o=.c)
LTO = -flto
LIBHDR = src/lib/nf.h src/lib/opts.h src/lib/shm.h src/lib/shmhdr.h \
	src/lib/backup.h
TOOLS = bin/nfpid bin/nfsignal bin/nfwait bin/nfshm bin/nfrestart
MAN1 = man/nfpid.1 man/nfsignal.1 man/nfwait.1 man/nfshm.1 man/nfrestart.1 man/nfrestart.exe.1
MAN7 = man/nfhandoff.7
MANZH1 = man/zh_CN/nfpid.1 man/zh_CN/nfsignal.1 man/zh_CN/nfwait.1 \
	man/zh_CN/nfshm.1 man/zh_CN/nfrestart.1 man/zh_CN/nfrestart.exe.1
MANZH7 = man/zh_CN/nfhandoff.7
FIXTURES = tests/bin/nfserver tests/bin/nfinit tests/bin/nfmany tests/bin/nfmem
# nfrestart.exe and its Windows test peer: built where mingw-w64 is found,
# with a note and nothing built where it is not (tests then skip, and fail
# under NF_REQUIRE_ALL=1).
WINCC = x86_64-w64-mingw32-gcc
WINCFLAGS = -std=c11 -Os -Wall -Wextra -Werror -ffunction-sections -fdata-sections
WINLDFLAGS = -static -s -Wl,--gc-sections
WINLIB = src/lib/addr.c src/lib/backoff.c src/lib/files.c src/lib/fmt.c \
	src/lib/msg.c src/lib/opt.c src/lib/parse.c src/lib/pidrules.c \
	src/lib/sig.c
WINTOOLS = bin/nfrestart.exe
WINFIX = tests/bin/winpeer.exe

all: $(TOOLS) $(FIXTURES) $(WINTOOLS) $(WINFIX)

.c.o:
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBOBJ): $(LIBHDR)

src/lib/libnf.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

# The tools are built from the library's sources with link-time
# optimisation: a tool keeps only what it calls, inlined across files
# (2 KiB less of nfrestart than through libnf.a; see the size budget).
bin/nfpid: src/nfpid.c $(LIBSRC) $(LIBHDR)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ src/nfpid.c $(LIBSRC)

bin/nfsignal: src/nfsignal.c $(LIBSRC) $(LIBHDR)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ src/nfsignal.c $(LIBSRC)

bin/nfwait: src/nfwait.c $(LIBSRC) $(LIBHDR)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ src/nfwait.c $(LIBSRC)

# nfshm and its private modules (src/nfshm.h).
SHMSRC = src/nfshm.c src/nfshm-copy.c src/nfshm-freeze.c
SHMHDR = src/nfshm.h src/nfshm-freeze.h

bin/nfshm: $(SHMSRC) $(SHMHDR) $(LIBSRC) $(LIBHDR)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ $(SHMSRC) $(LIBSRC)

# nfrestart and its private modules (src/nfrestart.h says which does what).
NFRSRC = src/nfrestart.c src/nfrestart-hold.c src/nfrestart-ready.c \
	src/nfrestart-backup.c src/nfrestart-notify.c
NFRHDR = src/nfrestart.h src/nfrestart-backup.h src/nfrestart-notify.h

bin/nfrestart: $(NFRSRC) $(NFRHDR) $(LIBSRC) $(LIBHDR)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ $(NFRSRC) $(LIBSRC)

tests/bin/nfserver: tests/fixtures/nfserver.c tests/fixtures/nfxhdr.c \
	    tests/fixtures/nfxhdr.h tests/fixtures/num.h src/lib/libnf.a $(LIBHDR)
	mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fixtures/nfserver.c \
	    tests/fixtures/nfxhdr.c src/lib/libnf.a

tests/bin/nfinit: tests/fixtures/nfinit.c
	mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fixtures/nfinit.c

tests/bin/nfmany: tests/fixtures/nfmany.c
	mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fixtures/nfmany.c

tests/bin/nfmem: tests/fixtures/nfmem.c
	mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/fixtures/nfmem.c

bin/nfrestart.exe: src/nfrestart-win.c $(WINLIB) $(LIBHDR) src/lib/winsig.h
	@if command -v $(WINCC) > /dev/null 2>&1; then \
	    echo "$(WINCC) $(WINCFLAGS) $(WINLDFLAGS) -o $@ src/nfrestart-win.c $(WINLIB) -lntdll"; \
	    $(WINCC) $(WINCFLAGS) $(WINLDFLAGS) -o $@ src/nfrestart-win.c $(WINLIB) -lntdll; \
	else \
	    echo "note: $(WINCC) not found: $@ not built (apt-get install gcc-mingw-w64-x86-64)"; \
	fi

tests/bin/winpeer.exe: tests/fixtures/winpeer.c tests/fixtures/num.h
	@mkdir -p tests/bin
	@if command -v $(WINCC) > /dev/null 2>&1; then \
	    echo "$(WINCC) $(WINCFLAGS) $(WINLDFLAGS) -o $@ tests/fixtures/winpeer.c"; \
	    $(WINCC) $(WINCFLAGS) $(WINLDFLAGS) -o $@ tests/fixtures/winpeer.c; \
	else \
	    echo "note: $(WINCC) not found: $@ not built"; \
	fi

check: all
	NF_CC="$(CC)" sh tests/run.sh

demo: all
	sh tests/demo/run.sh

# Benchmarks: never part of `make check`; each tests/bench/*.sh prints a table.
bench: all
	for b in tests/bench/*.sh; do sh "$$b" || exit 1; done

# Hardening (not part of `make check`; see README, Reliability).
FUZZTIME = 60
SOAK_N = 1000

# The suite's release-build cases (packages, sizes) need the release tools.
check-asan: all
	sh tests/asan/run.sh

fuzz:
	FUZZTIME=$(FUZZTIME) sh tests/fuzz/run.sh

soak: all
	SOAK_N=$(SOAK_N) sh tests/soak/soak.sh

reuse-trial: all
	sh tests/soak/reuse.sh

model:
	sh tests/model/run.sh

# Operators' side: packages and fleets.
deb: all
	sh src/deb/build.sh

dist:
	sh src/deb/dist.sh

distcheck: dist
	sh src/deb/dist.sh --check

fleet: all
	sh tests/fleet/run.sh

# A real systemd (252, booted in a systemd-nspawn container): the unit,
# reloads, crashes, stops (tests/systemd/). Not part of `make check`.
check-systemd: all
	sh tests/systemd/run.sh

bench-systemd: all
	sh tests/systemd/bench.sh

density: all
	sh tests/density/run.sh

install: $(TOOLS)
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 \
	    $(DESTDIR)$(MANPREFIX)/man7 $(DESTDIR)$(MANPREFIX)/zh_CN/man1 \
	    $(DESTDIR)$(MANPREFIX)/zh_CN/man7 $(DESTDIR)$(BASHCOMPDIR)
	cp -f $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	cp -f $(MAN1) $(DESTDIR)$(MANPREFIX)/man1/
	cp -f $(MAN7) $(DESTDIR)$(MANPREFIX)/man7/
	cp -f $(MANZH1) $(DESTDIR)$(MANPREFIX)/zh_CN/man1/
	cp -f $(MANZH7) $(DESTDIR)$(MANPREFIX)/zh_CN/man7/
	cp -f src/completion/nfhandoff.bash $(DESTDIR)$(BASHCOMPDIR)/nfpid
	for t in nfsignal nfwait nfshm nfrestart; do \
	    ln -sf nfpid $(DESTDIR)$(BASHCOMPDIR)/$$t || exit 1; done
	mkdir -p $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/nfhandoff
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
	    src/systemd/nfserver@.service.in > $(DESTDIR)$(UNITDIR)/nfserver@.service
	sed -e 's|@CONFDIR@|$(CONFDIR)|g' src/systemd/example.conf \
	    > $(DESTDIR)$(PREFIX)/share/doc/nfhandoff/nfserver.conf.example

clean:
	rm -f $(LIBOBJ) src/lib/libnf.a $(TOOLS) $(FIXTURES) $(WINTOOLS) $(WINFIX)

.PHONY: all check demo bench install clean check-asan fuzz soak reuse-trial model \
	deb dist distcheck fleet density check-systemd bench-systemd
