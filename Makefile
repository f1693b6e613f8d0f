# lhyve: bhyve for Linux/KVM.  See README.md.
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
SANITIZE ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla -Wundef -Wno-unused-parameter \
	-Wno-missing-field-initializers
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE -pthread -fno-strict-aliasing
LDFLAGS += -pthread
LDLIBS +=
# io_uring for block I/O when liburing is installed (scripts/setup installs it).
ifneq ($(wildcard /usr/include/liburing.h),)
CFLAGS += -DLHYVE_HAVE_URING
LDLIBS += -luring
endif
# The post-setup system call filter when libseccomp is installed (scripts/setup
# installs it); without it bhyve runs with no_new_privs only.
ifneq ($(wildcard /usr/include/seccomp.h),)
CFLAGS += -DLHYVE_HAVE_SECCOMP
LDLIBS += -lseccomp
endif
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

MAIN_SRCS := src/bhyve.c
LIB_SRCS := $(filter-out $(MAIN_SRCS),$(sort $(shell find src -name '*.c')))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/liblhyve.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)
SCRIPTS := $(sort $(wildcard tools/*.sh))
PROGS := $(BUILD)/bhyve $(TOOLS)

.PHONY: all setup check check-unit check-guest check-system check-linux demo install clean guests
all: $(PROGS)

# Rebuild everything when the compiler, flags or libraries change (e.g.
# liburing installed after a first build): objects depend on this stamp.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then echo '$(FLAGS_NOW)' > $@; fi
.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bhyve: $(BUILD)/src/bhyve.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%: $(BUILD)/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB) tests/unit/unit.h tests/unit/fakes.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Test guests (freestanding, built with the system gcc).
include tests/guest/guest.mk
# Fuzzing (libFuzzer harnesses): make fuzz [FUZZ_SECONDS=N]
-include tests/fuzz/fuzz.mk
# Benchmarks against QEMU: make bench
-include bench/bench.mk

setup:
	scripts/setup

check-unit: all $(UNIT_BINS)
	scripts/run-tests unit $(UNIT_BINS)

check-guest: all guests
	scripts/run-tests guest

check-system: all guests
	scripts/run-tests system

# The README's test command: set up, build, run every test.
check:
	scripts/setup
	$(MAKE) all $(UNIT_BINS) guests
	scripts/run-tests all $(UNIT_BINS)

# Long check (not in CI): boot Debian's cloud kernel to a busybox shell.
check-linux: all
	scripts/setup --linux
	tests/linux/run.sh check

# Set up and boot a VM interactively on the serial console (scripts/demo:
# Linux, or the monitor test guest on hosts that cannot run Linux user space).
demo:
	scripts/setup
	$(MAKE) all guests
	scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/sbin/
	for s in $(SCRIPTS); do install -m 755 $$s $(DESTDIR)$(PREFIX)/sbin/; done
	install -d $(DESTDIR)$(PREFIX)/share/examples/bhyve
	for s in $(SCRIPTS); do install -m 755 $$s $(DESTDIR)$(PREFIX)/share/examples/bhyve/; done
	install -m 644 docs/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 docs/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
