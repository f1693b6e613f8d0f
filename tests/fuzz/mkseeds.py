#!/usr/bin/env python3
"""Write the seed corpora tests/fuzz/corpus/<harness>/seed-* (valid inputs
of each kind, in each harness's input format). Run from anywhere; the
committed seeds are this script's output, so edit here and re-run."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def out(harness, name, data):
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


u8 = lambda v: struct.pack('<B', v & 0xff)
u16 = lambda v: struct.pack('<H', v & 0xffff)
u32 = lambda v: struct.pack('<I', v & 0xffffffff)
u64 = lambda v: struct.pack('<Q', v & 0xffffffffffffffff)


def addr(a):  # fz_addr: selector < 0xf0, then u32 (taken modulo RAM + 4 KiB)
    return u8(0) + u32(a)


# ---------------------------------------------------------------- virtio
# fzv_run: u64 features, u8 queue size shift, then ops (op, q, args).
VERSION_1 = 1 << 32
EVENT_IDX = 1 << 29
INDIRECT = 1 << 28


def v_chain(q, bufs):  # op 0: [(gpa, len, write)]
    b = u8(0) + u8(q) + u8(len(bufs) - 1)
    for gpa, ln, w in bufs:
        b += addr(gpa) + u16(ln) + u8(1 if w else 0)
    return b


def v_kick(q):
    return u8(4) + u8(q)


def v_mem(q, gpa, data):  # op 5
    assert len(data) < 64
    return u8(5) + u8(q) + addr(gpa) + u8(len(data)) + data


def v_reap(q):
    return u8(11) + u8(q)


def v_cfg_read(off, size_sel):
    return u8(7) + u8(0) + u16(off) + u8(size_sel)


def v_hook(q, args):
    return u8(13) + u8(q) + args


def v_desc(q, i, gpa, ln, flags, nxt):  # op 1
    return u8(1) + u8(q) + u16(i) + addr(gpa) + u32(ln) + u8(flags) + u16(nxt)


def v_ind(q, table, i, gpa, ln, flags, nxt):  # op 2
    return u8(2) + u8(q) + addr(table) + u8(i) + addr(gpa) + u32(ln) + u8(flags) + u8(nxt)


def v_publish(q, head):
    return u8(3) + u8(q) + u16(head)


def virtio_hdr(feat, qshift):
    return u64(feat) + u8(qshift)


BUF = 0x180000  # buffers live above the rings of up to 6 queues

# virtio-rnd
out('virtio_rnd', 'read', virtio_hdr(VERSION_1, 4) + v_chain(0, [(BUF, 64, True)]) +
    v_kick(0) + v_reap(0))
out('virtio_rnd', 'indirect-eventidx',
    virtio_hdr(VERSION_1 | EVENT_IDX | INDIRECT, 3) +
    v_ind(0, BUF, 0, BUF + 0x1000, 32, 2 | 1, 1) + v_ind(0, BUF, 1, BUF + 0x2000, 32, 2, 0) +
    v_desc(0, 0, BUF, 32, 4, 0) + v_publish(0, 0) + v_kick(0) + v_reap(0) +
    v_chain(0, [(BUF, 16, True), (BUF + 16, 16, True)]) + v_kick(0) + v_reap(0))

# virtio-blk: opt byte, then virtio. Header 16 bytes, data, status byte.
HDR, DATA, ST = BUF, BUF + 0x1000, BUF + 0x3000


def blk_req(typ, sector, dlen, dwrite, data=b''):
    b = v_mem(0, HDR, u32(typ) + u32(0) + u64(sector))
    if data:
        b += v_mem(0, DATA, data)
    bufs = [(HDR, 16, False)]
    if dlen:
        bufs.append((DATA, dlen, dwrite))
    bufs.append((ST, 1, True))
    return b + v_chain(0, bufs) + v_kick(0) + v_reap(0)


blkfeat = VERSION_1 | (1 << 9) | (1 << 13) | (1 << 14)
out('virtio_blk', 'rw', u8(0) + virtio_hdr(blkfeat, 5) +
    blk_req(1, 8, 512, False, b'x' * 32) + blk_req(0, 8, 512, True) + blk_req(4, 0, 0, False) +
    blk_req(8, 0, 20, True))
out('virtio_blk', 'discard-zeroes', u8(0) + virtio_hdr(blkfeat, 5) +
    v_mem(0, DATA, u64(16) + u32(8) + u32(0)) +
    v_mem(0, HDR, u32(11) + u32(0) + u64(0)) +
    v_chain(0, [(HDR, 16, False), (DATA, 16, False), (ST, 1, True)]) + v_kick(0) +
    v_mem(0, HDR, u32(13) + u32(0) + u64(0)) +
    v_chain(0, [(HDR, 16, False), (DATA, 16, False), (ST, 1, True)]) + v_kick(0) + v_reap(0))
out('virtio_blk', 'ro-4k', u8(1 | (2 << 2)) + virtio_hdr(VERSION_1 | EVENT_IDX, 4) +
    blk_req(1, 0, 4096, False) + blk_req(0, 0, 4096, True) + v_cfg_read(0, 3) +
    v_cfg_read(20, 2))

# virtio-net: offloads byte, then virtio; q0 = RX, q1 = TX. Hook: u16 len, bytes.
netfeat = VERSION_1 | (1 << 5) | (1 << 15) | (1 << 16) | 1 | 2
frame = bytes(12) + b'\xff' * 6 + b'\x02' + bytes(5) + b'\x08\x06' + bytes(46)
out('virtio_net', 'tx', u8(0) + virtio_hdr(netfeat, 4) +
    v_mem(1, BUF, frame[:60]) + v_chain(1, [(BUF, len(frame), False)]) + v_kick(1) +
    v_reap(1))
out('virtio_net', 'rx-mrg', u8(1) + virtio_hdr(netfeat, 4) +
    v_chain(0, [(BUF, 1526, True)]) + v_chain(0, [(BUF + 0x1000, 64, True)]) + v_kick(0) +
    v_hook(0, u16(60) + frame[12:]) + v_hook(0, u16(1514) + b'\xab' * 64) + v_reap(0))
out('virtio_net', 'rx-nomrg', u8(0) + virtio_hdr(VERSION_1, 3) +
    v_chain(0, [(BUF, 12, True), (BUF + 0x100, 1514, True)]) + v_kick(0) +
    v_hook(0, u16(100) + b'\x01' * 100) + v_reap(0))

# virtio-console: opt byte (bit 0: 2 ports, bit 1: named port), then virtio.
# Hook: u8 op (bits 0-1: connect/send/hangup/shutdown, bits 2+: port).
def c_ctl(q, ident, event, value, at):
    return (v_mem(q, at, u32(ident) + u16(event) + u16(value)) +
            v_chain(q, [(at, 8, False)]) + v_kick(q))


out('virtio_console', 'single', u8(0) + virtio_hdr(VERSION_1, 4) +
    v_hook(0, u8(0)) + v_chain(0, [(BUF, 256, True)]) + v_kick(0) +
    v_hook(0, u8(1) + u16(5) + b'hello') + v_mem(1, BUF + 0x1000, b'guest out') +
    v_chain(1, [(BUF + 0x1000, 9, False)]) + v_kick(1) + v_reap(0) + v_reap(1) +
    v_hook(0, u8(2)))
out('virtio_console', 'multiport', u8(3) + virtio_hdr(VERSION_1 | (1 << 1), 4) +
    v_chain(2, [(BUF + 0x2000, 64, True)]) + v_chain(2, [(BUF + 0x2100, 64, True)]) +
    v_kick(2) + c_ctl(3, 0, 0, 1, BUF + 0x3000) + c_ctl(3, 0, 3, 1, BUF + 0x3100) +
    c_ctl(3, 1, 3, 1, BUF + 0x3200) + c_ctl(3, 0, 6, 1, BUF + 0x3300) +
    v_hook(0, u8(0)) + v_hook(0, u8(4)) + v_reap(2) + v_chain(4, [(BUF, 128, True)]) +
    v_kick(4) + v_hook(0, u8(5) + u16(3) + b'abc') + v_reap(4) + v_hook(0, u8(6)))

# ---------------------------------------------------------------- virtqueue
# opt (bit0 event idx, bit1 indirect, bits 2+: size shift), ops.
def q_desc(i, gpa, ln, flags, nxt):
    return u8(0) + u16(i) + addr(gpa) + u32(ln) + u8(flags) + u16(nxt)


def q_ind(table, i, gpa, ln, flags, nxt):
    return u8(1) + addr(table) + u8(i) + addr(gpa) + u32(ln) + u8(flags) + u8(nxt)


def q_pop(maxiov):
    return u8(4) + u8(maxiov) + u16(0) + u16(0) + u8(16) + u16(0) + u16(64) + u8(4)


QB = 0x1c0000
out('virtqueue', 'chain', u8(3 << 2) + q_desc(0, QB, 64, 1, 1) + q_desc(1, QB + 64, 64, 3, 2) +
    q_desc(2, QB + 128, 64, 2, 0) + u8(2) + u16(0) + q_pop(63) + u8(5) + u16(128) + u8(7))
out('virtqueue', 'indirect-eventidx', u8(3 | (4 << 2)) + q_ind(QB, 0, QB + 0x1000, 100, 1, 1) +
    q_ind(QB, 1, QB + 0x2000, 100, 2, 0) + q_desc(0, QB, 32, 4, 0) + u8(2) + u16(0) +
    u8(3 | 0x20) + u16(0) + q_pop(8) + u8(5) + u16(100) + u8(7) + u8(8) + u8(6))

# ---------------------------------------------------------------- PCI
# fzp_step ops; 10/11 (virtio_pci only): BAR access dev, bar, off, size sel, val.
def p_cf8(bdf_reg, size_sel, val, write):
    return u8(1 | (0x80 if write else 0)) + u32(bdf_reg) + u8(size_sel) + u8(0) + u32(val)


def p_bar(dev, bar, off, size_sel, val, write):
    return u8(10 | (0x80 if write else 0)) + u8(dev) + u8(bar) + u16(off) + u8(size_sel) + u64(val)


def cfgaddr(slot, reg):
    return (slot << 11) | reg


scan = b''.join(p_cf8(cfgaddr(s, 0), 2, 0, False) for s in (0, 4, 5, 31))
sizing = (p_cf8(cfgaddr(4, 0x10), 2, 0xffffffff, True) + p_cf8(cfgaddr(4, 0x10), 2, 0, False) +
          p_cf8(cfgaddr(4, 0x10), 2, 0xc0000000, True) + p_cf8(cfgaddr(4, 4), 1, 6, True) +
          p_cf8(cfgaddr(4, 0x34), 0, 0, False))
out('pci', 'scan-size', u8(0) + scan + sizing)
out('pci', 'msi', u8(1) + scan + sizing + p_cf8(cfgaddr(4, 0x40), 2, 0, False))
ecam = u8(2 | 0x80) + u32((4 << 15) | 4) + u8(1) + u64(6)
out('pci', 'ecam', u8(0) + ecam + u8(2) + u32(4 << 15) + u8(2) + u64(0))


def vp_setup(dev):
    common = [(0x14, 0, 1), (0x14, 0, 3), (0x08, 2, 1), (0x0c, 2, 1), (0x14, 0, 0xb),
              (0x16, 1, 0), (0x18, 1, 16), (0x20, 3, 0x100000), (0x28, 3, 0x100100),
              (0x30, 3, 0x100200), (0x1a, 1, 1), (0x10, 1, 0), (0x1c, 1, 1), (0x14, 0, 0xf)]
    b = b''.join(p_bar(dev, 0, off, sz, val, True) for off, sz, val in common)
    # one 64-byte buffer chain, then kick through the notify window
    b += (u8(5) + addr(0x100000) + u8(16) + u64(0x180000) + u32(64) + u16(2) + u16(0))
    b += u8(5) + addr(0x100100) + u8(6) + u16(0) + u16(1) + u16(0)
    b += p_bar(dev, 0, 0x3000, 1, 0, True)
    b += p_bar(dev, 0, 0x1000, 0, 0, False)  # ISR read
    b += p_bar(dev, 0, 0x4000, 3, 0xfee00000, True) + p_bar(dev, 0, 0x4008, 2, 0x4041, True)
    return b


out('virtio_pci', 'rnd-queue', u8(0) + vp_setup(1) + vp_setup(2))
out('virtio_pci', 'msi', u8(1) + vp_setup(1))

# ---------------------------------------------------------------- chips
out('uart', 'init', b''.join(u8(4) + u8(o) + u8(0) + u64(v) for o, v in
                               [(3, 0x80), (0, 1), (1, 0), (3, 3), (2, 0xc7), (4, 0xb), (1, 0xf)]) +
    u8(2) + u8(5) + b'hello' + u8(0) + u8(5) + u8(0) + u64(0) + u8(0) + u8(0) + u8(0) + u64(0) +
    u8(4) + u8(0) + u8(0) + u64(0x41) + u8(3))
out('rtc', 'regs', u8(0) + u32(0x20000) + u64(0) +
    b''.join(u8(0) + u8(r) + u8(0) for r in (0, 2, 4, 6, 7, 8, 9, 0x32, 0xa, 0xb, 0xc, 0xd)) +
    u8(4) + u8(0xb) + u8(0x82) + u8(4) + u8(0) + u8(0x30) + u8(4) + u8(0xb) + u8(0x02) +
    u8(4) + u8(0xa) + u8(0x26) + u8(4) + u8(0xb) + u8(0x42) + u8(3))
out('pm', 'acpi', u8(4 | 0x80) + u8(0) + u8(0) + u32(0xf0) + u8(2) + u8(0) + u8(2) + u32(0) +
    u8(0x80) + u8(2) + u8(1) + u32(0x100) + u8(0xff) + u8(0) + u8(0) + u8(1) + u32(0) +
    u8(1 | 0x80) + u8(0) + u8(1) + u32(0x3c01) + u8(5 | 0x80) + u8(0) + u8(0) + u32(6))
out('i8042', 'reset', u8(1) + u8(0) + u8(0) + u8(0) + u8(3) + u8(0xfe))
# PIT: [op][value]; op%4: 0 = port 0x40+((op>>2)&3) (write if op&0x10),
# 1 = port 0x61, 3 = poll the loop. Channel 0 rate generator, channel 2
# gated one-shot read through port 0x61, read-back, counter latch.
pit = lambda port, val, write=True: u8(((port & 3) << 2) | (0x10 if write else 0)) + u8(val)
out('pit', 'modes',
    pit(3, 0x34) + pit(0, 0x02) + pit(0, 0x00) + u8(3) + u8(0) +
    pit(3, 0xb0) + pit(2, 0x10) + pit(2, 0x00) + u8(0x11) + u8(1) + u8(1) + u8(0) +
    pit(3, 0xe2) + pit(0, 0, False) + pit(0, 0, False) + pit(0, 0, False) +
    pit(3, 0x00) + pit(0, 0, False) + pit(0, 0, False) + u8(3) + u8(0))

# ---------------------------------------------------------------- loaders
# [flags][cmdline len][cmdline][initrd len u16][initrd][kernel]
def loader_in(kernel, cmdline=b'console=ttyS0', initrd=b''):
    flags = 3 | (4 if initrd else 0)
    return u8(flags) + u8(len(cmdline)) + cmdline + u16(len(initrd)) + initrd + kernel


def bzimage(version=0x20f, setup_sects=1, pm=b'\x90' * 1024):
    setup = bytearray(512 * (setup_sects + 1))
    struct.pack_into('<B', setup, 0x1f1, setup_sects)
    struct.pack_into('<H', setup, 0x1fe, 0xaa55)
    struct.pack_into('<BB', setup, 0x200, 0xeb, 0x268 - 0x202)  # jmp over the header
    struct.pack_into('<I', setup, 0x202, 0x53726448)  # "HdrS"
    struct.pack_into('<H', setup, 0x206, version)
    struct.pack_into('<B', setup, 0x211, 1)           # loadflags: LOADED_HIGH
    struct.pack_into('<I', setup, 0x214, 0x100000)    # code32_start
    struct.pack_into('<I', setup, 0x22c, 0x37ffffff)  # initrd_addr_max
    struct.pack_into('<I', setup, 0x230, 0x200000)    # kernel_alignment
    struct.pack_into('<B', setup, 0x234, 1)           # relocatable
    struct.pack_into('<H', setup, 0x236, 1)           # xloadflags: XLF_KERNEL_64
    struct.pack_into('<I', setup, 0x238, 2048)        # cmdline_size
    struct.pack_into('<Q', setup, 0x258, 0x1000000)   # pref_address
    struct.pack_into('<I', setup, 0x260, 0x400000)    # init_size
    return bytes(setup) + pm


out('bzimage', 'v20f', loader_in(bzimage()))
out('bzimage', 'initrd', loader_in(bzimage(setup_sects=4), initrd=b'\x07' * 600))
out('bzimage', 'v206', loader_in(bzimage(version=0x206)))


def elf64(phdrs, entry, extra=b''):
    """phdrs: [(type, flags, offset, paddr, filesz, memsz, align)] after the ELF + ph headers."""
    ehsize, phsize = 64, 56
    h = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    h += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, entry, ehsize, 0, 0, ehsize, phsize,
                     len(phdrs), 0, 0, 0)
    for t, fl, off, pa, fs, ms, al in phdrs:
        h += struct.pack('<IIQQQQQQ', t, fl, off, pa, pa, fs, ms, al)
    return h + extra


def elf32(phdrs, entry, extra=b''):
    ehsize, phsize = 52, 32
    h = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8)
    h += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, ehsize, 0, 0, ehsize, phsize,
                     len(phdrs), 0, 0, 0)
    for t, fl, off, pa, fs, ms, al in phdrs:
        h += struct.pack('<IIIIIIII', t, off, pa, pa, fs, ms, fl, al)
    return h + extra


# PVH: PT_NOTE with name "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY), 4-byte entry.
note = struct.pack('<III', 4, 4, 18) + b'Xen\0' + u32(0x100000)
code = b'\xf4' * 64
hdr_len = 64 + 2 * 56
pvh = elf64([(1, 5, 0x1000, 0x100000, len(code), len(code) + 0x100, 0x1000),
             (4, 4, hdr_len, 0, len(note), len(note), 4)], 0x100000,
            note + bytes(0x1000 - hdr_len - len(note)) + code)
out('pvh', 'elf64', loader_in(pvh))
hdr_len32 = 52 + 2 * 32
pvh32 = elf32([(1, 5, 0x1000, 0x100000, len(code), len(code), 0x1000),
               (4, 4, hdr_len32, 0, len(note), len(note), 4)], 0x100000,
              note + bytes(0x1000 - hdr_len32 - len(note)) + code)
out('pvh', 'elf32', loader_in(pvh32, initrd=b'\x01' * 100))

# multiboot v1: header in the first 8 KiB (magic, flags, checksum).
MB_MAGIC = 0x1BADB002


def mb_header(flags, extra=b''):
    return u32(MB_MAGIC) + u32(flags) + u32(-(MB_MAGIC + flags)) + extra


mbh = mb_header(3)
mb_elf = elf32([(1, 5, 0x1000, 0x100000, 0x100, 0x200, 0x1000)], 0x100000,
               bytes(0x1000 - 52 - 32) + mbh + code + bytes(0x100 - len(mbh) - len(code)))
out('multiboot', 'elf', loader_in(mb_elf, initrd=b'module'))
# a.out kludge (flags bit 16): header_addr, load_addr, load_end, bss_end, entry
kl = mb_header(0x10003, u32(0x100000) + u32(0x100000) + u32(0x100100) + u32(0x100200) +
               u32(0x100030))
out('multiboot', 'kludge', loader_in(kl + code + bytes(0x100 - len(kl) - len(code))))

# ---------------------------------------------------------------- cli/config
def argv(*args, flags=0, conf=None):
    b = u8(flags) + b'\0'.join(a.encode() for a in args)
    if conf is not None:
        b += b'\xff' + conf.encode()
    return b


out('cli', 'basic', argv('-c', '2', '-m', '512M', '-H', '-P', '-s', '0,hostbridge',
                         '-s', '31,lpc', '-l', 'com1,stdio', '-s', '4,virtio-rnd', 'vm0'))
out('cli', 'devices', argv('-A', '-c', 'cpus=4,sockets=2,cores=2', '-s', '3:0,virtio-blk,/x.img,ro,sectorsize=512/4096,ser=ABC',
                           '-s', '5,virtio-net,tap0,mac=02:00:00:00:00:01',
                           '-s', '6,virtio-console,port1=/tmp/c.sock,org.x=/tmp/d.sock',
                           '-l', 'bootrom,/usr/share/OVMF/OVMF_CODE.fd', '-o', 'x86.x2apic=true',
                           '-U', '12345678-1234-1234-1234-123456789abc', '-p', '0:1', 'vm1'))
out('cli', 'config-file', argv('vm2', flags=1,
                               conf='# comment\nmemory.size=1G\ncpus=2\npci.0.0.0.device=hostbridge\n'))
out('cli', 'help', argv('-s', 'help'))
out('config', 'tree', b''.join(u8(op) + s.encode() + b'\n' for op, s in [
    (0, 'memory.size=512M'), (0, 'cpus=2'), (0, 'name=vm%(cpus)'), (0, 'pci.0.3.0.device=virtio-blk'),
    (0x07 | 0x30, 'disk.img,ro,sectorsize=4096'), (0, 'a=%(b)'), (0, 'b=%(a)'), (4, 'a'),
    (4, 'name'), (5, 'memory.size'), (6, '0-3,5'), (6, '0x10'), (8, ''), (9, ''),
    (2, 'lpc.com1.path\tstdio'), (3, 'cpus'), (0x07 | 0x40, 'tap0,mac=00:a0:98:00:00:01'),
    (0x07 | 0x60, 'port1=/tmp/s,org.n=/tmp/t'), (0x07 | 0x50, ''), (9, '')]))

# ---------------------------------------------------------------- ctl
# op: bits 0-2 action (0/1 raw bytes: u16 len + bytes, 2 known command u8,
# 3 COM1 output u8 len + bytes, 4 shutdown, 5 hang up), bits 4+: client.
out('ctl', 'commands', u8(0) + u16(5) + b'help\n' + u8(2) + u8(0) + u8(2) + u8(1) + u8(2) + u8(2) +
    u8(2) + u8(4) + u8(0x10) + u16(12) + b'stats 0\ninfo\n' + u8(3) + u8(3) + b'abc' +
    u8(0x12) + u8(6) + u8(5))
out('ctl', 'stop', u8(2) + u8(9) + u8(2) + u8(0))

print('seeds written to', os.path.join(HERE, 'corpus'))

pic = lambda t, off, val, write=True: u8(t | (off << 3) | (0x10 if write else 0)) + u8(val)
out('pic', 'init',
    pic(0, 0, 0x11) + pic(0, 1, 0x20) + pic(0, 1, 0x04) + pic(0, 1, 0x01) + pic(0, 1, 0x00) +
    pic(1, 0, 0x11) + pic(1, 1, 0x28) + pic(1, 1, 0x02) + pic(1, 1, 0x01) + pic(1, 1, 0x00) +
    pic(2, 1, 0x02) + u8(7) + u8(7 | 4 << 3) + u8(7 | 12 << 3) + u8(5) +
    pic(0, 0, 0x0B) + pic(0, 0, 0, False) + pic(0, 0, 0x20) + u8(5) + u8(6) +
    u8(4 | 9 << 3) + u8(1) + u8(5) + pic(1, 0, 0x20) + pic(0, 0, 0x20) + u8(4 | 9 << 3) + u8(0) +
    pic(0, 0, 0x0C) + pic(0, 0, 0, False) + pic(0, 0, 0x60) + pic(0, 0, 0xA0) +
    u8(0x83) + u8(0) + u8(1) + (0x0f20).to_bytes(8, 'little'))
