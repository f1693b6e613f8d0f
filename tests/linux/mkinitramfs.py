#!/usr/bin/env python3
"""Build the lhyve test initramfs: a gzip'd newc cpio holding a static busybox
(every applet as a symlink), /init (init.sh) and the few device nodes the
kernel needs before devtmpfs is mounted. Written directly in newc format so no
root privileges (mknod) are needed and the output is reproducible.

usage: mkinitramfs.py [--compress gzip|none] INIT_SCRIPT BUSYBOX OUTPUT
(gzip is the default; an uncompressed archive saves the guest the inflate
work, which is slow where ring-0 code is emulated)
"""
import gzip
import os
import struct
import subprocess
import sys

S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR = 0o040000, 0o100000, 0o120000, 0o020000


def is_static_elf(path):
    """True if path is an ELF64 executable with no PT_INTERP segment."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


class Newc:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    @staticmethod
    def _pad(n):
        return b"\0" * ((4 - n % 4) % 4)

    def add(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        namez = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(namez), 0]
        hdr = b"070701" + b"".join(b"%08x" % v for v in fields)
        self.out += hdr + namez + self._pad(len(hdr) + len(namez))
        self.out += data + self._pad(len(data))
        self.ino += 1

    def dir(self, name):
        self.add(name, S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, perm=0o644):
        self.add(name, S_IFREG | perm, data)

    def symlink(self, name, target):
        self.add(name, S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self.add(name, S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self.add("TRAILER!!!", 0)
        return bytes(self.out)


def main():
    args = sys.argv[1:]
    compress = "gzip"
    if len(args) >= 2 and args[0] == "--compress":
        compress = args[1]
        args = args[2:]
    if len(args) != 3 or compress not in ("gzip", "none"):
        sys.stderr.write(__doc__)
        return 2
    init_path, busybox, output = args
    if not is_static_elf(busybox):
        sys.stderr.write("mkinitramfs: %s is not a static ELF64 executable "
                         "(install busybox-static)\n" % busybox)
        return 1
    applets = subprocess.run([busybox, "--list-full"], check=True,
                             capture_output=True, text=True).stdout.split()
    with open(init_path, "rb") as f:
        init = f.read()
    with open(busybox, "rb") as f:
        bb = f.read()

    a = Newc()
    dirs = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys",
            "tmp", "root", "etc", "mnt", "run", "var"]
    for d in dirs:
        a.dir(d)
    a.chardev("dev/console", 5, 1)
    a.chardev("dev/null", 1, 3, 0o666)
    a.chardev("dev/ttyS0", 4, 64)
    a.file("bin/busybox", bb, 0o755)
    a.file("init", init, 0o755)
    a.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    a.file("etc/group", b"root:x:0:\n")
    seen = {"bin/busybox"}
    for path in sorted(applets):
        rel = path.lstrip("/")
        if rel in seen or os.path.dirname(rel) not in dirs:
            continue
        seen.add(rel)
        a.symlink(rel, "/bin/busybox")
    data = a.finish()

    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        if compress == "gzip":
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0,
                               filename="") as gz:
                gz.write(data)
        else:
            f.write(data)
    os.replace(tmp, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
