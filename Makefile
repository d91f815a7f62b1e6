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
DEB_PKGS = build-essential pkg-config python3 python3-zmq sqlite3 \
           libzmq3-dev libcurl4-openssl-dev libjansson-dev libevent-dev libcmocka-dev \
           libxml2-dev libsqlite3-dev libhyperscan-dev libsystemd-dev

LIB_SRC  := $(filter-out %/main.c,$(wildcard common/*.c proto/*.c daemon/*.c workers/*.c cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libtigris.a
BINS     := $(BUILD)/tigrisd $(BUILD)/tigris-worker $(BUILD)/tigris
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run test check unit integration asan clean install uninstall lint eval
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

# Every test: the normal build, then the same tests under ASan and UBSan.
test: deps
	$(MAKE) check
	$(MAKE) asan

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|atoi|strtok|gets)\(' \
		$$(find common proto daemon workers cli -name '*.[ch]') || \
		(echo "banned function used" && false)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Feed parser conformance against shared/conformance/feedparser (issue: feeds).
conformance: $(BINS)
	tests/conformance/run.py --tigris $(BUILD)/tigris --corpus ../shared/conformance/feedparser

# Classifier evaluation on the labelled set in tests/data/eval (fails on regression).
eval: $(BINS)
	tests/eval/run.py --tigris $(BUILD)/tigris --taxonomy deploy/taxonomy.tgt \
		--data tests/data/eval/items.jsonl --baseline tests/data/eval-baseline.json
