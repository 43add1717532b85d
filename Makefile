# zoom_events -- plain Makefile.
#
#   make                 build ./zoom_events (-Werror; `make WERROR=` drops it)
#   make SANITIZE=1      build under ASan+UBSan into build/asan/
#   make run             run the service locally (private MariaDB, nginx :8280)
#   make test            the whole suite (unit, e2e on both builds, fuzz, lint)
#   make unit e2e lint fuzz bench install deb clean
#
# Libraries come from Debian packages through pkg-config: libfcgi-dev,
# libcjson-dev, libmariadb-dev, libinih-dev, libssl-dev, zlib1g-dev.

VERSION    := 1.0.0
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/zoom_events
SYSCONFDIR ?= /etc
DESTDIR    ?=

CC         ?= cc
WERROR     ?= -Werror
PKGS       := fcgi libcjson libmariadb inih libcrypto zlib

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wwrite-strings -Wpointer-arith -Wvla -Wcast-qual -Wundef \
	$(WERROR)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
BUILD      := build/asan
OPT        := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDSAN      := -fsanitize=address,undefined
else
BUILD      := build/release
OPT        := -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDSAN      :=
endif

CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -DZE_VERSION='"$(VERSION)"' -I.
CFLAGS   += -std=c11 -pthread $(OPT) $(WARNINGS) $(PKG_CFLAGS)
LDFLAGS  += -pthread $(LDSAN) -Wl,-z,relro,-z,now
LDLIBS   += $(PKG_LIBS)

SRCS := zoom_events.c request.c commands.c commands_report.c tabular.c \
	supervisor.c report.c outbuf.c normalize.c signature.c seal.c config.c \
	log.c store.c metrics.c stats.c spool.c spool_record.c ingest.c \
	ingest_ops.c ingest_visits.c ingest_purge.c visits.c
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
HDRS := $(wildcard *.h)

ifeq ($(SANITIZE),1)
BIN := $(BUILD)/zoom_events
else
BIN := zoom_events
endif

UNIT_TESTS := test_normalize test_signature test_config test_spool test_report \
	test_visits test_seal test_metrics
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/%)


.PHONY: all asan unit e2e check test lint layout clang-check fuzz fuzz-build run bench install \
	deb clean deps cluster-up cluster-down test-cluster

all: $(BIN)

$(BUILD):
	mkdir -p $@

$(BUILD)/%.o: %.c $(HDRS) Makefile | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

asan:
	$(MAKE) SANITIZE=1 all unit-build

# Unit tests link only the module under test (and log.o where needed),
# so a stray dependency is a link error.
$(BUILD)/test_normalize: tests/unit/test_normalize.c $(BUILD)/normalize.o tests/unit/unit.h tests/unit/norm_oracle.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/normalize.o $(LDFLAGS) -lcjson
$(BUILD)/test_signature: tests/unit/test_signature.c $(BUILD)/signature.o tests/unit/unit.h tests/unit/sig_oracle.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/signature.o $(LDFLAGS) -lcrypto
$(BUILD)/test_config: tests/unit/test_config.c $(BUILD)/config.o $(BUILD)/log.o $(BUILD)/seal.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/config.o $(BUILD)/log.o $(BUILD)/seal.o $(LDFLAGS) -linih -lcrypto
$(BUILD)/test_spool: tests/unit/test_spool.c $(BUILD)/spool.o $(BUILD)/spool_record.o $(BUILD)/seal.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/spool.o $(BUILD)/spool_record.o $(BUILD)/seal.o $(LDFLAGS) -lz -lcrypto
$(BUILD)/test_seal: tests/unit/test_seal.c $(BUILD)/seal.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/seal.o $(LDFLAGS) -lcrypto
$(BUILD)/test_metrics: tests/unit/test_metrics.c $(BUILD)/metrics.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/metrics.o $(LDFLAGS)

$(BUILD)/test_report: tests/unit/test_report.c $(BUILD)/report.o $(BUILD)/outbuf.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/report.o $(BUILD)/outbuf.o $(LDFLAGS)

$(BUILD)/test_visits: tests/unit/test_visits.c $(BUILD)/visits.o tests/unit/unit.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/visits.o $(LDFLAGS)

.PHONY: unit-build
unit-build: $(UNIT_BINS)

unit: unit-build
	@for t in $(UNIT_BINS); do ./$$t || exit 1; done

# The fuzzers need clang's libFuzzer; tests/fuzz/replay.c runs their corpus
# under whatever compiler built the rest (make check does, under ASan).  The
# normalizer's corpus is tests/fixtures/*.json (the unit tests' own
# bodies) plus the edge cases in tests/fuzz/corpus/normalize/.
FUZZ_SECS ?= 60
FUZZ_CC   ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE \
	-D_GNU_SOURCE -I. $(PKG_CFLAGS)
FUZZ_DIR  := tests/fuzz

build/fuzz:
	mkdir -p $@

build/fuzz/fuzz_normalize: $(FUZZ_DIR)/fuzz_normalize.c normalize.c $(HDRS) tests/unit/norm_oracle.h | build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_DIR)/fuzz_normalize.c normalize.c -lcjson
build/fuzz/fuzz_signature: $(FUZZ_DIR)/fuzz_signature.c signature.c $(HDRS) tests/unit/sig_oracle.h | build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_DIR)/fuzz_signature.c signature.c -lcrypto
$(BUILD)/replay_normalize: $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_normalize.c $(BUILD)/normalize.o tests/unit/norm_oracle.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_normalize.c $(BUILD)/normalize.o $(LDFLAGS) -lcjson
$(BUILD)/replay_signature: $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_signature.c $(BUILD)/signature.o tests/unit/sig_oracle.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_signature.c $(BUILD)/signature.o $(LDFLAGS) -lcrypto

build/fuzz/fuzz_spool: $(FUZZ_DIR)/fuzz_spool.c spool.c spool_record.c seal.c $(HDRS) | build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_DIR)/fuzz_spool.c spool.c spool_record.c seal.c -lz -lcrypto
$(BUILD)/replay_spool: $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_spool.c $(BUILD)/spool.o $(BUILD)/spool_record.o $(BUILD)/seal.o
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(FUZZ_DIR)/replay.c $(FUZZ_DIR)/fuzz_spool.c $(BUILD)/spool.o $(BUILD)/spool_record.o $(BUILD)/seal.o $(LDFLAGS) -lz -lcrypto

fuzz-build: build/fuzz/fuzz_normalize build/fuzz/fuzz_signature build/fuzz/fuzz_spool

fuzz: fuzz-build
	tests/run-fuzz.sh $(FUZZ_SECS)

.PHONY: replay
replay: $(BUILD)/replay_normalize $(BUILD)/replay_signature $(BUILD)/replay_spool
	$(BUILD)/replay_normalize tests/fixtures/*.json tests/fixtures/catalog/*.json \
		$(FUZZ_DIR)/corpus/normalize/*
	$(BUILD)/replay_signature $(FUZZ_DIR)/corpus/signature/*
	$(BUILD)/replay_spool $(FUZZ_DIR)/corpus/spool/*

e2e: all
	tests/run.sh e2e

# The same warnings under clang (the build itself uses gcc).
clang-check:
	clang $(CPPFLAGS) -std=c11 -O2 -D_FORTIFY_SOURCE=2 $(WARNINGS) $(PKG_CFLAGS) \
		-fsyntax-only $(SRCS)

# The module rules (HACKING.md): include graph, file and function sizes.
layout:
	tests/check-layout.sh

lint: layout
	cppcheck --enable=warning,style,performance,portability --std=c11 \
		--inline-suppr --error-exitcode=1 --quiet \
		--suppress=missingIncludeSystem -I. $(SRCS)

# The README's test command: installs what it needs (as root), then runs
# everything and ends with "N passed, N failed".
test check:
	tests/run.sh all

deps:
	tests/deps.sh

run:
	tests/deps.sh
	$(MAKE) all
	deploy/run-local.sh

# install, deb (mk/install.mk), bench (mk/bench.mk), cluster (mk/cluster.mk)
-include mk/*.mk

clean:
	rm -rf build zoom_events
