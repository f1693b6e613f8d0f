#!/usr/bin/env python3
"""Build the lhyve test initramfs: a gzip'd newc cpio holding a static busybox
(every applet as a symlink), /init (init.sh) and the few device nodes the
kernel needs before devtmpfs is mounted. Written directly in newc format so no
root privileges (mknod) are needed and the output is reproducible.

usage: mkinitramfs.py [--compress gzip|none] [--modules KMODDIR NAME,...]
                      INIT_SCRIPT BUSYBOX OUTPUT
(gzip is the default; an uncompressed archive saves the guest the inflate
work, which is slow where ring-0 code is emulated)

--modules adds the named kernel modules and everything they depend on, found
under KMODDIR (a lib/modules/<version> tree; '-' and '_' in names are the
same). The dependencies come from each module's .modinfo section ("depends="),
since a kernel package ships no modules.dep. The archive gets
/lib/modules/<version>/<path>.ko, a modules.dep for busybox modprobe, and
/lib/modules/load-order: the module files, dependencies first, for insmod.
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


def elf_section(data, wanted):
    """Contents of the ELF64 little-endian section named wanted, or None."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shentsize < 64 or shstrndx >= shnum or \
            shoff + shnum * shentsize > len(data):
        raise ValueError("bad section header table")

    def header(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    strtab = header(shstrndx)
    for i in range(shnum):
        sh = header(i)
        name = data[strtab[4] + sh[0]:].split(b"\0", 1)[0]
        if name == wanted:
            if sh[4] + sh[5] > len(data):
                raise ValueError("section %s out of the file" % wanted)
            return data[sh[4]:sh[4] + sh[5]]
    return None


def modinfo(data):
    """The key=value strings of a kernel module's .modinfo section."""
    sec = elf_section(data, b".modinfo")
    if sec is None:
        raise ValueError("no .modinfo section")
    info = {}
    for item in sec.split(b"\0"):
        if b"=" in item:
            key, value = item.decode(errors="replace").split("=", 1)
            info.setdefault(key, value)
    return info


def modname(name):
    return name.replace("-", "_")


def resolve_modules(kmoddir, names):
    """[(relative path, data)] of names and their dependencies, dependencies
    first; the kernel version from vermagic."""
    index = {}
    for root, _, files in os.walk(kmoddir):
        for f in files:
            if f.endswith(".ko"):
                path = os.path.join(root, f)
                index[modname(f[:-3])] = os.path.relpath(path, kmoddir)
    order, done, active = [], {}, set()
    version = None

    def visit(name):
        nonlocal version
        name = modname(name)
        if name in done:
            return
        if name in active:
            raise ValueError("module dependency loop at %s" % name)
        if name not in index:
            raise ValueError("module %s not found under %s" % (name, kmoddir))
        active.add(name)
        rel = index[name]
        with open(os.path.join(kmoddir, rel), "rb") as f:
            data = f.read()
        info = modinfo(data)
        ver = info.get("vermagic", "").split(" ")[0]
        if version is None:
            version = ver
        elif ver != version:
            raise ValueError("%s is for kernel %s, not %s" % (rel, ver, version))
        deps = [d for d in info.get("depends", "").split(",") if d]
        for d in deps:
            visit(d)
        active.discard(name)
        done[name] = (rel, [index[modname(d)] for d in deps])
        order.append((rel, data))

    for n in names:
        visit(n)
    return order, done, version


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
    kmoddir, modnames = None, []
    while len(args) >= 2 and args[0] in ("--compress", "--modules"):
        if args[0] == "--compress":
            compress = args[1]
            args = args[2:]
        elif len(args) >= 3:
            kmoddir = args[1]
            modnames = [n for n in args[2].split(",") if n]
            args = args[3:]
        else:
            break
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
    modules = []
    if kmoddir is not None:
        try:
            modules, deps, version = resolve_modules(kmoddir, modnames)
        except (OSError, ValueError) as e:
            sys.stderr.write("mkinitramfs: modules: %s\n" % e)
            return 1

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
    if modules:
        base = "lib/modules/" + version
        made = {"lib", "lib/modules"}
        a.dir("lib")
        a.dir("lib/modules")
        for rel, data in modules:
            parts = (base + "/" + os.path.dirname(rel)).split("/")
            for i in range(3, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made:
                    made.add(d)
                    a.dir(d)
            a.file(base + "/" + rel, data)
        # Like depmod: every module with all its (transitive) dependencies,
        # the ones to load last first.
        loadpos = {rel: i for i, (rel, _) in enumerate(modules)}
        lines = []
        for name in sorted(deps):
            rel = deps[name][0]
            closure, todo = set(), list(deps[name][1])
            while todo:
                d = todo.pop()
                if d not in closure:
                    closure.add(d)
                    todo.extend(deps[modname(os.path.basename(d)[:-3])][1])
            lines.append("%s: %s\n" % (rel, " ".join(
                sorted(closure, key=lambda r: -loadpos[r]))))
        dep = "".join(lines)
        a.file(base + "/modules.dep", dep.encode())
        a.file("lib/modules/load-order",
               "".join("/%s/%s\n" % (base, rel) for rel, _ in modules).encode())
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
