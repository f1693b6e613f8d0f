# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with Debian's clang into
# $(FUZZ_BUILD) with -fsanitize=fuzzer,address,undefined.
#   make fuzz [FUZZ_SECONDS=60]      every harness for FUZZ_SECONDS seconds
#   make fuzz-smoke                  every harness for FUZZ_SMOKE_SECONDS (CI)
#   make fuzz-build                  only build
#   make fuzz FUZZ_ONLY="uart rtc"   a subset
# Seeds: tests/fuzz/corpus/<name>/; crash inputs kept as regression inputs:
# tests/fuzz/regress/<name>/ (replayed by tests/unit/test_fuzz_regress.c in
# `make check`). Working corpora and artifacts stay under $(FUZZ_BUILD).
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The optional-library switches (-DLHYVE_HAVE_URING...) follow the main build.
FUZZ_CFLAGS = -std=gnu11 -O1 -g -fno-omit-frame-pointer $(WARN) -Iinclude \
	-Itests/unit -D_GNU_SOURCE -pthread -fno-strict-aliasing $(FUZZ_SAN) \
	$(filter -DLHYVE_%,$(CFLAGS))
FUZZ_LIBS = -pthread $(LDLIBS)

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_ONLY ?= $(FUZZ_NAMES)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB := $(FUZZ_BUILD)/liblhyve.a

.PHONY: fuzz fuzz-smoke fuzz-build

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(wildcard tests/fuzz/*.h) \
		tests/unit/unit.h tests/unit/vqdrv.h $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_LIBFUZZER -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_ONLY)

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_ONLY)

# The regression test #includes every harness.
$(BUILD)/tests/unit/test_fuzz_regress: $(FUZZ_SRCS) $(wildcard tests/fuzz/*.h) tests/unit/vqdrv.h

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
