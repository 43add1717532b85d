# mk/bench.mk -- the load benchmark (issue 5), included by the Makefile.
#
#   make bench          full run: ceilings and service side by side (with
#                       the batch size vs rows/s lines of issue 16), the
#                       100k-request RSS/leak check, the ThreadSanitizer
#                       check and the profile; writes bench/RESULTS.md
#                       (about 35 minutes on 2 cores)
#   make bench-smoke    most lines once, ~1 s each, into bench/out/ (CI)
#   make bench-leak     only bench/leak.sh (RSS after 100k, ASan, valgrind)
#   make bench-tsan     only bench/tsan.sh: the threaded workers under
#                       ThreadSanitizer (build/tsan/zoom_events, clang)
#   make bench-profile  only bench/profile.sh (perf, strace -c, callgrind)
#   make bench-batch    only the db-direct lines: batch size vs rows/s
#   make bench-visits   bench/visits_scale.sh: the visit facts over a
#                       million generated events (issue 13), writes
#                       bench/VISITS.md (about 10 minutes)
#   make bench-galera   bench/galera.sh: today's path vs group commit on the
#                       3-node Galera cluster through its front (root)
#   make bench-build    the helpers: build/release/bench/{gen_requests,
#                       fcgi_noop,db_direct}
#
# Knobs are environment variables read by bench/run.sh (BENCH_WORKERS,
# BENCH_CONC, BENCH_RUNS, BENCH_SECS, ...); BENCH_ARGS is passed on.

BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/gen_requests $(BENCH_DIR)/fcgi_noop \
	$(BENCH_DIR)/db_direct

.PHONY: bench-build bench-smoke bench-leak bench-profile bench-batch \
	bench-tsan bench-tsan-build bench-galera bench-visits

$(BENCH_DIR):
	mkdir -p $@

# Each helper links the service's own objects: sig_sign() for the
# signatures, store/stats/normalize/config for the database work.
$(BENCH_DIR)/gen_requests: bench/gen_requests.c bench/bench_event.h \
	$(BUILD)/signature.o | $(BENCH_DIR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/signature.o $(LDFLAGS) \
		-lcrypto
$(BENCH_DIR)/fcgi_noop: bench/fcgi_noop.c | $(BENCH_DIR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lfcgi
$(BENCH_DIR)/db_direct: bench/db_direct.c bench/bench_event.h \
	$(BUILD)/store.o $(BUILD)/stats.o $(BUILD)/normalize.o \
	$(BUILD)/config.o $(BUILD)/log.o $(BUILD)/seal.o | $(BENCH_DIR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/store.o $(BUILD)/stats.o \
		$(BUILD)/normalize.o $(BUILD)/config.o $(BUILD)/log.o \
		$(BUILD)/seal.o $(LDFLAGS) $(LDLIBS)

bench-build: $(BENCH_BINS)

# The service under ThreadSanitizer: clang, one command, its own directory
# (the objects of build/release and build/asan are not mixed in).
TSAN_DIR := build/tsan
$(TSAN_DIR)/zoom_events: $(SRCS) $(HDRS) mk/bench.mk
	mkdir -p $(TSAN_DIR)
	clang $(CPPFLAGS) -std=c11 -pthread -O1 -g -fno-omit-frame-pointer \
		-fsanitize=thread $(filter-out -Werror,$(WARNINGS)) $(PKG_CFLAGS) \
		-o $@ $(SRCS) -fsanitize=thread -pthread $(PKG_LIBS)

bench-tsan-build: $(TSAN_DIR)/zoom_events

# tests/deps.sh first and recursive makes after it, so that pkg-config
# flags are read once the packages are there.
bench:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) SANITIZE=1 all
	$(MAKE) bench-build
	$(MAKE) bench-tsan-build
	bench/run.sh $(BENCH_ARGS)

bench-smoke:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) bench-build
	bench/run.sh --smoke $(BENCH_ARGS)

bench-leak:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) SANITIZE=1 all
	$(MAKE) bench-build
	bench/leak.sh

bench-profile:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) bench-build
	bench/profile.sh

bench-tsan:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) bench-build
	$(MAKE) bench-tsan-build
	bench/tsan.sh

bench-batch:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) bench-build
	bench/run.sh --lines db,ac,batch --no-extras --out bench/out/batch/RESULTS.md

bench-galera:
	tests/deps.sh
	$(MAKE) all
	bench/galera.sh

bench-visits:
	tests/deps.sh
	$(MAKE) all
	bench/visits_scale.sh --out bench/VISITS.md
