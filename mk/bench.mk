# mk/bench.mk -- the load benchmark (issue 5), included by the Makefile.
#
#   make bench          full run: ceilings and service side by side, the
#                       100k-request RSS/leak check and the profile; writes
#                       bench/RESULTS.md (about 25 minutes on 2 cores)
#   make bench-smoke    every line once, ~1 s each, into bench/out/ (CI)
#   make bench-leak     only bench/leak.sh (RSS after 100k, ASan, valgrind)
#   make bench-profile  only bench/profile.sh (perf, strace -c, callgrind)
#   make bench-roundtrips  only bench/roundtrips.sh (the round-trip experiment)
#   make bench-build    the helpers: build/release/bench/{gen_requests,
#                       fcgi_noop,db_direct}
#
# Knobs are environment variables read by bench/run.sh (BENCH_WORKERS,
# BENCH_CONC, BENCH_RUNS, BENCH_SECS, ...); BENCH_ARGS is passed on.

BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/gen_requests $(BENCH_DIR)/fcgi_noop \
	$(BENCH_DIR)/db_direct

.PHONY: bench-build bench-smoke bench-leak bench-profile bench-roundtrips

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

# tests/deps.sh first and recursive makes after it, so that pkg-config
# flags are read once the packages are there.
bench:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) SANITIZE=1 all
	$(MAKE) bench-build
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

bench-roundtrips:
	tests/deps.sh
	$(MAKE) all
	$(MAKE) bench-build
	bench/roundtrips.sh
