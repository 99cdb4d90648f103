# hart.c build. `make` builds bin/hart + build/libhart.a; `make test` runs every
# test (unit, golden and CLI tests under AddressSanitizer + UBSan, fuzz smoke); `make bench`, `make demo`,
# `make fuzz`, `make install PREFIX=...`. Missing Debian packages are installed
# automatically when running as root or with sudo (see `make deps`).
#
# BUILD selects the object directory, so several checkouts/builders can work
# side by side (e.g. `make BUILD=build-x test`).

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

PKGS      := cmocka libcjson libpcre2-8 libutf8proc libpng OpenCL openblas zlib
DEB_PKGS  := build-essential pkg-config libpng-dev zlib1g-dev libjpeg-dev libopenblas-dev \
             ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo libpcre2-dev \
             libutf8proc-dev libcjson-dev libcmocka-dev libclblast-dev clang \
             libclang-rt-14-dev libdnnl-dev python3

# Install missing build dependencies once (stamp file), before anything else.
DEPS_STAMP := $(BUILD)/.deps-ok
$(shell mkdir -p $(BUILD))
ifeq ($(filter deps clean,$(MAKECMDGOALS)),)
ifeq ($(wildcard $(DEPS_STAMP)),)
$(info checking build dependencies...)
DEPS_RESULT := $(shell ./tools/install_deps.sh $(DEB_PKGS) >&2 && touch $(DEPS_STAMP) && echo ok)
ifneq ($(DEPS_RESULT),ok)
$(error missing build dependencies; see the message above)
endif
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljpeg -lm -lpthread -ldl

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CSTD    := -std=c11 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120
INCS    := -Isrc -I. -I$(BUILD)/gen
CFLAGS  ?= -O2 -g
CFLAGS_ALL  := $(CSTD) $(WARN) $(CFLAGS) -fopenmp -march=x86-64-v2 $(INCS) $(PKG_CFLAGS)
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS_SAN  := $(CSTD) $(WARN) -O1 -g $(SAN) -fopenmp $(INCS) $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -fopenmp
# Sanitizer builds load libdnnl at start-up (static TLS): LeakSanitizer
# misreads the dynamic TLS of a dlopen()ed libdnnl and crashes at exit.
# Other builds open it at run time only (src/backend/cpu/cpu_conv_dnnl.c).
LDLIBS_SAN := $(LDLIBS) -Wl,--no-as-needed -ldnnl -Wl,--as-needed

LIB_SRCS := $(shell find src tokenizer -name '*.c' -not -path 'src/cli/*' 2>/dev/null | sort)
CLI_SRCS := $(shell find src/cli -name '*.c' 2>/dev/null | sort)
CL_SRCS  := $(sort $(wildcard kernels/*.cl))
GEN_KERN := $(BUILD)/gen/kernels_embedded.c

LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/rel/%.o) $(BUILD)/rel/gen/kernels_embedded.o
LIB_OBJS_SAN := $(LIB_SRCS:%.c=$(BUILD)/san/%.o) $(BUILD)/san/gen/kernels_embedded.o
CLI_OBJS     := $(CLI_SRCS:%.c=$(BUILD)/rel/%.o)
CLI_OBJS_SAN := $(CLI_SRCS:%.c=$(BUILD)/san/%.o)

UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
GOLDEN_SRCS := $(sort $(wildcard tests/golden/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)
GOLDEN_BINS := $(GOLDEN_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS  := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS  := $(BENCH_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT     := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_SAN := $(TEST_SUPPORT:%.c=$(BUILD)/san/%.o)
TEST_SUPPORT_REL := $(TEST_SUPPORT:%.c=$(BUILD)/rel/%.o)

LIB     := $(BUILD)/libhart.a
LIB_SAN := $(BUILD)/libhart-san.a
BIN     := bin/hart
BIN_SAN := $(BUILD)/san/hart

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): clang with ASan + UBSan; the
# library and the CLI commands (not main.c) are rebuilt with
# -fsanitize=fuzzer-no-link into $(LIB_FUZZ), which every harness links
# (-Wno-pass-failed: sanitizers keep clang from vectorising "omp simd" loops).
CLANG       ?= clang
CFLAGS_FUZZ := $(CSTD) $(WARN) -Wno-pass-failed -g -O1 -fno-omit-frame-pointer -fopenmp $(INCS) $(PKG_CFLAGS) \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(BUILD)/fuzz/obj/gen/kernels_embedded.o \
               $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter-out src/cli/main.c,$(CLI_SRCS)))
LIB_FUZZ    := $(BUILD)/libhart-fuzz.a
# The CLI test scripts run this sanitizer build of the CLI.
TEST_HART_BIN ?= $(BIN_SAN)

.SECONDARY:
.PHONY: all test unit golden clitest bench demo fuzz fuzz-build install clean deps
all: $(BIN) $(LIB)

deps:
	./tools/install_deps.sh $(DEB_PKGS)

$(GEN_KERN): $(CL_SRCS) tools/embed_kernels.sh
	@mkdir -p $(dir $@)
	./tools/embed_kernels.sh $@ $(CL_SRCS)

$(BUILD)/rel/gen/kernels_embedded.o: $(GEN_KERN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@
$(BUILD)/san/gen/kernels_embedded.o: $(GEN_KERN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -c $< -o $@
$(BUILD)/fuzz/obj/gen/kernels_embedded.o: $(GEN_KERN)
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(LIB_SAN): $(LIB_OBJS_SAN)
	@rm -f $@
	ar rcs $@ $^
$(LIB_FUZZ): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)
$(BIN_SAN): $(CLI_OBJS_SAN) $(LIB_SAN)
	$(CC) $(CFLAGS_SAN) -o $@ $(CLI_OBJS_SAN) $(LIB_SAN) $(LDLIBS_SAN)
$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_FUZZ)
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer -MMD -MP -MF $@.d -o $@ $< $(LIB_FUZZ) $(LDLIBS_SAN)

# Unit and golden tests link the sanitizer build.
$(BUILD)/tests/%: tests/%.c $(LIB_SAN) $(TEST_SUPPORT_SAN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -Itests -MMD -MP -MF $@.d -o $@ $< $(TEST_SUPPORT_SAN) $(LIB_SAN) $(LDLIBS_SAN)
# Benchmarks link the optimised build (a static pattern rule, so the
# sanitizer rule above never wins when the release support objects are new).
$(BENCH_BINS): $(BUILD)/tests/bench/%: tests/bench/%.c $(LIB) $(TEST_SUPPORT_REL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -MF $@.d -o $@ $< $(TEST_SUPPORT_REL) $(LIB) $(LDLIBS)

# Random-weight release-shape models for throughput runs (tools/scaleout_stage.sh stages it).
$(BUILD)/tools/make_random_models: tools/make_random_models.c $(LIB) $(TEST_SUPPORT_REL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -MF $@.d -o $@ $< $(TEST_SUPPORT_REL) $(LIB) $(LDLIBS)

# CLI scripts run the sanitizer CLI; tests/fuzz/smoke.sh runs every fuzz
# harness for FUZZ_SMOKE_SECONDS (default 1).
test: $(BIN) $(BIN_SAN) $(UNIT_BINS) $(GOLDEN_BINS) $(FUZZ_BINS) $(BUILD)/tools/make_random_models
	HART_BIN=$(TEST_HART_BIN) FUZZ_BUILD=$(BUILD) ./tests/run_tests.sh $(BUILD) $(UNIT_BINS) $(GOLDEN_BINS) -- \
	    $(sort $(wildcard tests/cli/test_*.sh)) tests/fuzz/smoke.sh

unit: $(UNIT_BINS)
	./tests/run_tests.sh $(BUILD) $(UNIT_BINS) --

golden: $(GOLDEN_BINS)
	./tests/run_tests.sh $(BUILD) $(GOLDEN_BINS) --

bench: $(BIN) $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

demo: $(BIN)
	./tools/demo.sh

fuzz-build: $(FUZZ_BINS)
# FUZZ_SECONDS per harness (default 60); FUZZ=name runs only that one
fuzz: $(FUZZ_BINS)
	./tools/fuzz.sh $(BUILD) $(if $(FUZZ),$(BUILD)/fuzz/$(FUZZ),$(FUZZ_BINS))

install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/hart
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hart
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libhart.a
	cd src && find . -name '*.h' -exec install -D -m 644 {} $(DESTDIR)$(PREFIX)/include/hart/{} \;

clean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
