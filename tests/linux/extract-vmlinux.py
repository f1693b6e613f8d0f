#!/usr/bin/env python3
"""Extract the ELF vmlinux from a bzImage, for a PVH boot (which skips the
decompressor stub, i.e. tens of millions of ring-0 instructions that this
host's KVM emulates one by one).

The setup header (Linux boot protocol >= 2.08) gives payload_offset (0x248) and
payload_length (0x24c), relative to the protected-mode code that starts at
(setup_sects + 1) * 512. The payload is compressed (gzip, xz, lzma, lz4, zstd)
and ends with the 4-byte little-endian uncompressed size. The result must be
an ELF64 image with a PVH entry note (Xen ELF note type 18,
XEN_ELFNOTE_PHYS32_ENTRY), which Debian's kernels have (CONFIG_PVH=y).

usage: extract-vmlinux.py BZIMAGE OUTPUT
"""
import gzip
import lzma
import os
import struct
import subprocess
import sys

XEN_ELFNOTE_PHYS32_ENTRY = 18


def fail(msg):
    sys.stderr.write("extract-vmlinux: %s\n" % msg)
    sys.exit(1)


def payload_of(img):
    if len(img) < 0x250 or img[0x202:0x206] != b"HdrS":
        fail("not a bzImage (no HdrS signature)")
    version, = struct.unpack_from("<H", img, 0x206)
    if version < 0x208:
        fail("boot protocol %#x has no payload fields" % version)
    setup_sects = img[0x1F1] or 4
    off, length = struct.unpack_from("<II", img, 0x248)
    start = (setup_sects + 1) * 512 + off
    if length < 8 or start + length > len(img):
        fail("payload %#x+%#x outside the image" % (start, length))
    return img[start:start + length]


def run_tool(argv, data):
    try:
        p = subprocess.run(argv, input=data, capture_output=True, check=False)
    except FileNotFoundError:
        fail("%s not installed (scripts/setup --linux)" % argv[0])
    if p.returncode != 0 and not p.stdout:
        fail("%s failed: %s" % (argv[0], p.stderr.decode(errors="replace").strip()))
    return p.stdout


def decompress(payload):
    size, = struct.unpack_from("<I", payload, len(payload) - 4)
    body = payload[:-4]
    if body[:2] == b"\x1f\x8b":
        out = gzip.decompress(body)
    elif body[:6] == b"\xfd7zXZ\x00":
        out = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(body)
    elif body[:3] == b"\x5d\x00\x00":
        out = lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(body)
    elif body[:4] == b"\x02\x21\x4c\x18":  # LZ4 legacy frame
        out = run_tool(["lz4", "-d", "-c", "-q"], body)
    elif body[:4] == b"\x28\xb5\x2f\xfd":
        out = run_tool(["zstd", "-d", "-c", "-q"], body)
    else:
        fail("unknown payload compression (magic %s)" % body[:6].hex())
    if len(out) != size:
        fail("decompressed %d bytes, header says %d" % (len(out), size))
    return out


def pvh_entry(elf):
    """Return the PVH entry point of an ELF64 image, or None."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        fail("payload is not an ELF64 image")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", elf, phoff + i * phentsize)
        p_filesz, = struct.unpack_from("<Q", elf, phoff + i * phentsize + 32)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            desc = pos + 12 + ((namesz + 3) & ~3)
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY and descsz >= 4:
                return struct.unpack_from("<I", elf, desc)[0]
            pos = desc + ((descsz + 3) & ~3)
    return None


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1], "rb") as f:
        img = f.read()
    elf = decompress(payload_of(img))
    entry = pvh_entry(elf)
    if entry is None:
        fail("vmlinux has no PVH entry note (kernel built without CONFIG_PVH)")
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.replace(tmp, sys.argv[2])
    sys.stderr.write("extract-vmlinux: %s: %d bytes, PVH entry %#x\n"
                     % (sys.argv[2], len(elf), entry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
