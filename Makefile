# tigris: one hand-written Makefile. `make` builds, `make test` runs every test
# (normal build, then ASan+UBSan), `make run` starts the demo. See README.md.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
PKGS      = libzmq libcurl jansson libevent libxml-2.0 sqlite3 libhs libsystemd
OPT      ?= -O2
SAN      ?=
CFLAGS   += -std=c11 -D_GNU_SOURCE -g $(OPT) $(SAN) -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
            -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lstdc++
TEST_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

# Debian packages needed to build, test and run (installed by `make deps`).
DEB_PKGS = build-essential pkg-config python3 python3-zmq sqlite3 systemd \
           libzmq3-dev libcurl4-openssl-dev libjansson-dev libevent-dev libcmocka-dev \
           libxml2-dev libsqlite3-dev libhyperscan-dev libsystemd-dev

LIB_SRC  := $(filter-out %/main.c,$(wildcard common/*.c proto/*.c daemon/*.c workers/*.c cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libtigris.a
BINS     := $(BUILD)/tigrisd $(BUILD)/tigris-worker $(BUILD)/tigris
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run test check unit integration asan clean install uninstall lint eval \
	bench bench-programs conformance fuzz fuzz-programs
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tigrisd: $(BUILD)/obj/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tigris-worker: $(BUILD)/obj/workers/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tigris: $(BUILD)/obj/cli/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

# Benchmark programs: bench/bench_<name>.c, linked like the tests.
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Install any missing Debian package (as root, or through sudo).
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing:" $$missing; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

run: deps
	$(MAKE) all
	deploy/run-demo.sh $(BUILD)

unit: $(TESTS) $(BINS)
	@tests/run.sh unit $(BUILD)

integration: $(BINS) $(TESTS)
	@tests/run.sh integration $(BUILD)

check: $(TESTS) $(BINS)
	@tests/run.sh all $(BUILD)

# Every test: each fuzz target briefly (regressions), the normal build, then the
# same tests under ASan and UBSan.
TEST_FUZZ_SECONDS ?= 60
test: deps
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(MAKE) check
	$(MAKE) asan

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

# Benchmarks: an optimised build in build-bench/, then bench/run.sh (see docs/benchmarks.md).
bench: deps
	$(MAKE) BUILD=build-bench OPT="-O3" all bench-programs
	bench/run.sh build-bench

bench-programs: $(BENCHES)

# Fuzzing (docs/security.md): libFuzzer targets fuzz/fuzz_<name>.c, built with clang
# (Debian: clang, libclang-rt-14-dev, installed when missing) and ASan + UBSan into
# build-fuzz/, each run for FUZZ_SECONDS seconds from a seed corpus made at run time
# (fuzz/run.sh); any crash, leak or timeout fails.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SAN   = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all
$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-programs: $(FUZZ_BINS)

FUZZ_DEB_PKGS = clang libclang-rt-14-dev

fuzz: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_DEB_PKGS)"
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN)" fuzz-programs
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Installation (docs/operations.md): `make install` / `make uninstall`, PREFIX and
# DESTDIR as usual. Programs go to $(BINDIR), man pages to $(MANDIR)/man{1,5,8},
# README and docs to $(DOCDIR), and the systemd units to $(UNITDIR), which is
# $(PREFIX)/lib/systemd/system for every PREFIX (systemd reads
# /usr/local/lib/systemd/system, and /usr/lib/systemd/system is /lib/systemd/system
# on Debian's merged /usr); their /usr/local/ paths are rewritten to $(PREFIX)/.
# The config and the taxonomy go to $(DESTDIR)$(CONFDIR) only when absent, and
# uninstall removes them only when unchanged. The state directory is never
# touched. INSTALL_NOBUILD=1 installs what $(BUILD) holds without building first
# (tests/integration/test_install.sh).
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/tigris
UNITDIR  ?= $(PREFIX)/lib/systemd/system
CONFDIR  ?= /etc/tigris
MAN_PAGES  := $(wildcard docs/man/*.1 docs/man/*.5 docs/man/*.8)
UNIT_FILES := $(wildcard systemd/*.service systemd/*.target)
DOC_FILES  := README.md $(wildcard docs/*.md) deploy/tigris.example.json
CONF_FILES := deploy/tigris.example.json:tigris.json deploy/taxonomy.tgt:taxonomy.tgt

install: $(if $(INSTALL_NOBUILD),,$(BINS))
	@for b in $(BINS); do [ -x "$$b" ] || { echo "$$b is missing: run make first"; exit 1; }; done
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(DOCDIR)" \
		"$(DESTDIR)$(CONFDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man5" \
		"$(DESTDIR)$(MANDIR)/man8"
	install -m 0755 $(BINS) "$(DESTDIR)$(BINDIR)/"
	@for m in $(MAN_PAGES); do \
		install -m 0644 "$$m" "$(DESTDIR)$(MANDIR)/man$${m##*.}/" || exit 1; done
	@for u in $(UNIT_FILES); do \
		sed 's|/usr/local/|$(PREFIX)/|g' "$$u" >"$(DESTDIR)$(UNITDIR)/$${u##*/}" && \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$${u##*/}" || exit 1; done
	install -m 0644 $(DOC_FILES) "$(DESTDIR)$(DOCDIR)/"
	@for c in $(CONF_FILES); do src=$${c%%:*}; dst="$(DESTDIR)$(CONFDIR)/$${c##*:}"; \
		if [ -e "$$dst" ]; then echo "keeping $$dst (exists)"; \
		else install -m 0644 "$$src" "$$dst" || exit 1; fi; done

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/tigrisd" "$(DESTDIR)$(BINDIR)/tigris-worker" \
		"$(DESTDIR)$(BINDIR)/tigris"
	@for m in $(MAN_PAGES); do rm -f "$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}"; done
	@for u in $(UNIT_FILES); do rm -f "$(DESTDIR)$(UNITDIR)/$${u##*/}"; done
	@for d in $(DOC_FILES); do rm -f "$(DESTDIR)$(DOCDIR)/$${d##*/}"; done
	@rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true
	@for c in $(CONF_FILES); do src=$${c%%:*}; dst="$(DESTDIR)$(CONFDIR)/$${c##*:}"; \
		if [ -e "$$dst" ] && ! cmp -s "$$src" "$$dst"; then echo "keeping $$dst (changed)"; \
		else rm -f "$$dst"; fi; done
	@rmdir "$(DESTDIR)$(CONFDIR)" 2>/dev/null || true

lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|atoi|strtok|gets)\(' \
		$$(find common proto daemon workers cli -name '*.[ch]') || \
		(echo "banned function used" && false)

clean:
	rm -rf build build-asan build-bench build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Feed parser conformance against shared/conformance/feedparser (issue: feeds).
conformance: $(BINS)
	tests/conformance/run.py --tigris $(BUILD)/tigris --corpus ../shared/conformance/feedparser

# Classifier evaluation on the labelled sets in tests/data/eval: the tuning sets
# as one (fails on regression against the baseline), then each held-out set
# (printed, never gated: nobody tunes on them).
eval: $(BINS)
	tests/eval/run.py --tigris $(BUILD)/tigris --taxonomy deploy/taxonomy.tgt \
		--sets tuning --baseline tests/data/eval-baseline.json
	for f in $$(tests/eval/run.py --list held-out); do tests/eval/run.py --tigris $(BUILD)/tigris \
		--taxonomy deploy/taxonomy.tgt --data $$f || exit 1; done
