# Benchmarks against QEMU (issue 5), see bench/README.md:
#   make bench                       everything, 3 runs per contender
#   make bench BENCH_QUICK=1         smoke check (short phases, 1 run)
#   make bench BENCH_ONLY=blk,net BENCH_RUNS=5
#   make bench BENCH_ARGS="--out /tmp/x.md"   any bench/bench.py option
# Guests: bench64-pvh.elf (the 64-bit PVH test runtime with the ring-3
# benchmark programs of tests/guest/bench/) and tiny.elf (startup); host
# tools: kvmfloor (bare KVM_RUN floor) and netload (tap frame blaster).
BENCH_OUT := $(BUILD)/bench
BENCH_GUEST_SRCS := tests/guest/bench/bmain.c tests/guest/bench/bblk.c \
	tests/guest/bench/bnet.c
BENCH_GUEST_OBJS := $(filter-out %/virtio/vmain.o %/virtio/vt_pci.o %/virtio/vt_blk.o \
	%/virtio/vt_rnd.o %/virtio/vt_console.o %/virtio/vt_intr.o %/virtio/vt_net.o \
	%/virtio/vt_bad.o,$(GUEST_OBJS64P)) \
	$(patsubst tests/guest/%.c,$(GUEST_OUT)/obj64p/%.o,$(BENCH_GUEST_SRCS))
BENCH_BINS := $(BENCH_OUT)/bench64-pvh.elf $(BENCH_OUT)/tiny.elf \
	$(BENCH_OUT)/kvmfloor $(BENCH_OUT)/netload $(BENCH_OUT)/tapfloor
BENCH_ARGS ?=
BENCH_ONLY ?=
BENCH_RUNS ?=
BENCH_QUICK ?=
BENCH_OPTS := $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) $(if $(BENCH_RUNS),--runs $(BENCH_RUNS)) \
	$(if $(filter 1 yes,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)

.PHONY: bench bench-build
bench-build: $(BUILD)/bhyve $(BENCH_BINS)

bench:
	scripts/setup --bench
	$(MAKE) bench-build
	python3 bench/bench.py --build $(BUILD) $(BENCH_OPTS)

$(BENCH_OUT)/bench64-pvh.elf: $(BENCH_GUEST_OBJS) $(GUEST_DIR)/arch64pvh/guest64p.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 $(GUEST_LDFLAGS) -no-pie -Wl,-e,pvh_entry \
		-Wl,-T,$(GUEST_DIR)/arch64pvh/guest64p.ld -o $@ $(filter %.o,$^)

$(BENCH_OUT)/tiny.elf: bench/tiny.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wl,-Ttext-segment=0x100000 \
		-Wl,-e,tiny_entry -o $@ $<

$(BENCH_OUT)/kvmfloor: bench/kvmfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(BENCH_OUT)/tapfloor: bench/tapfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(BENCH_OUT)/netload: bench/netload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)
