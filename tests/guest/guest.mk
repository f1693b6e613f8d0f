# Freestanding test guests (see tests/guest/README.md).
# Built with the system gcc whatever CC is; output in $(BUILD)/guests/.
GUEST_DIR := tests/guest
GUEST_OUT := $(BUILD)/guests
GUEST_CC ?= gcc
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic \
	-fno-stack-protector -mno-sse -mno-sse2 -mno-mmx -mno-avx -mno-80387 \
	-mno-red-zone -fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-fno-tree-loop-distribute-patterns \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wno-missing-field-initializers
GUEST_CFLAGS32 := $(GUEST_CFLAGS) -m32 -march=i686
GUEST_CFLAGS64 := $(filter-out -fno-pic,$(GUEST_CFLAGS)) -m64 -fpie \
	-fvisibility=hidden -mcmodel=small
GUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 \
	-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_COMMON := lib/string.c lib/console.c lib/acpi.c lib/power.c lib/apic.c \
	tests/main.c tests/irq.c tests/smp.c tests/rtc.c \
	tests/mgmt.c tests/monitor.c tests/insn.c
GUEST_SRCS32 := $(GUEST_COMMON) arch32/cpu32.c arch32/libgcc32.c arch32/start32.S
GUEST_SRCS64 := $(GUEST_COMMON) arch64/cpu64.c arch64/entry64.S
GUEST_OBJS32 := $(patsubst %,$(GUEST_OUT)/obj32/%.o,$(basename $(GUEST_SRCS32)))
GUEST_OBJS64 := $(patsubst %,$(GUEST_OUT)/obj64/%.o,$(basename $(GUEST_SRCS64)))
GUEST_BINS := $(GUEST_OUT)/guest-pvh.elf $(GUEST_OUT)/guest-mb.elf \
	$(GUEST_OUT)/guest.bzImage

.PHONY: guests
guests: $(GUEST_BINS)

$(GUEST_OUT)/obj32/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -MMD -MP -c $< -o $@
$(GUEST_OUT)/obj32/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS32) -MMD -MP -c $< -o $@
$(GUEST_OUT)/obj64/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -MMD -MP -c $< -o $@
$(GUEST_OUT)/obj64/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64) -MMD -MP -c $< -o $@

# 32-bit ELF guests: the same code with a PVH note or a multiboot header.
$(GUEST_OUT)/guest-pvh.elf: $(GUEST_OUT)/obj32/arch32/entry_pvh.o $(GUEST_OBJS32) \
		$(GUEST_DIR)/arch32/guest32.ld
	$(GUEST_CC) -m32 $(GUEST_LDFLAGS) -no-pie -Wl,-e,pvh_entry -Wl,-T,$(GUEST_DIR)/arch32/guest32.ld \
		-o $@ $(filter %.o,$^)
$(GUEST_OUT)/guest-mb.elf: $(GUEST_OUT)/obj32/arch32/entry_mb.o $(GUEST_OBJS32) \
		$(GUEST_DIR)/arch32/guest32.ld
	$(GUEST_CC) -m32 $(GUEST_LDFLAGS) -no-pie -Wl,-e,mb_entry -Wl,-T,$(GUEST_DIR)/arch32/guest32.ld \
		-o $@ $(filter %.o,$^)

# bzImage: 64-bit position-independent payload (self-relocating) behind a
# hand-made setup header; bzhead.S includes the payload with .incbin.
$(GUEST_OUT)/payload64.elf: $(GUEST_OBJS64) $(GUEST_DIR)/arch64/guest64.ld
	$(GUEST_CC) -m64 $(GUEST_LDFLAGS) -Wl,-pie -Wl,--no-dynamic-linker \
		-Wl,-z,notext -Wl,-T,$(GUEST_DIR)/arch64/guest64.ld -o $@ $(filter %.o,$^)
$(GUEST_OUT)/payload64.bin: $(GUEST_OUT)/payload64.elf
	objcopy -O binary $< $@
$(GUEST_OUT)/guest.bzImage: $(GUEST_DIR)/arch64/bzhead.S $(GUEST_OUT)/payload64.bin
	$(GUEST_CC) -c -m64 -DPAYLOAD='"$(GUEST_OUT)/payload64.bin"' \
		-o $(GUEST_OUT)/bzhead.o $<
	objcopy -O binary -j .bzimage $(GUEST_OUT)/bzhead.o $@

# 64-bit PVH guest (issue 3): long mode entered from the PVH 32-bit entry,
# interrupts with IRETQ, ring-3 drivers for the virtio tests. Also runs
# every test of the common set (test=NAME falls through to guest_main).
GUEST_CFLAGS64P := $(GUEST_CFLAGS) -m64 -mcmodel=small
GUEST_SRCS64P := $(GUEST_COMMON) arch64pvh/cpu64p.c arch64pvh/entry.S \
	virtio/vmain.c virtio/pcicfg.c virtio/vdrv.c virtio/vt_pci.c virtio/vt_blk.c \
	virtio/vt_rnd.c virtio/vt_console.c virtio/vt_intr.c virtio/vt_net.c virtio/vt_bad.c \
	virtio/vt_hostile.c virtio/vt_hostio.c virtio/vt_durable.c
GUEST_OBJS64P := $(patsubst %,$(GUEST_OUT)/obj64p/%.o,$(basename $(GUEST_SRCS64P)))
GUEST_BINS += $(GUEST_OUT)/guest64-pvh.elf
guests: $(GUEST_OUT)/guest64-pvh.elf

$(GUEST_OUT)/obj64p/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64P) -MMD -MP -c $< -o $@
$(GUEST_OUT)/obj64p/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS64P) -MMD -MP -c $< -o $@
$(GUEST_OUT)/guest64-pvh.elf: $(GUEST_OBJS64P) $(GUEST_DIR)/arch64pvh/guest64p.ld
	$(GUEST_CC) -m64 $(GUEST_LDFLAGS) -no-pie -Wl,-e,pvh_entry \
		-Wl,-T,$(GUEST_DIR)/arch64pvh/guest64p.ld -o $@ $(filter %.o,$^)
