#!/usr/bin/env bash
# Fetch Debian's cloud kernel image (linux-image-cloud-amd64 -> the real
# linux-image-<version>-cloud-amd64 package) with `apt-get download`, unpack it
# with dpkg-deb -x under tests/linux/cache/ and leave cache/vmlinuz pointing at
# boot/vmlinuz-*. It also keeps the few module directories the initramfs
# takes its virtio modules from (cache/modules/<version>/: kernel/drivers/
# virtio, block, net, char and kernel/net/core; mkinitramfs.py resolves the
# dependencies from each module's .modinfo, since the package ships no
# modules.dep). Nothing is installed into the host. Idempotent: once
# cache/vmlinuz and the module directory exist the script does nothing
# (offline); a cache from before the module directory gets it from the cached
# .deb.
#   tests/linux/fetch-kernel.sh          print the cached vmlinuz path
#   LHYVE_KERNEL_PKG=linux-image-6.1.0-XX-cloud-amd64 to pick a version
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${LHYVE_LINUX_CACHE:-$here/cache}
meta=linux-image-cloud-amd64

# Module directories kept (relative to lib/modules/<version>/).
moddirs="kernel/drivers/virtio kernel/drivers/block kernel/drivers/net
kernel/drivers/char kernel/net/core modules.order modules.builtin"

# keep_modules TREE VERSION: copy the module directories out of the unpacked
# package TREE into cache/modules/VERSION (atomically: a temporary name, then
# rename).
keep_modules() {
	local tree=$1 ver=$2 src dst d
	src=$tree/lib/modules/$ver
	dst=$cache/modules/$ver
	if [ ! -d "$src" ]; then
		echo "fetch-kernel: the package has no lib/modules/$ver" >&2
		return 1
	fi
	mkdir -p "$cache/modules"
	rm -rf "$dst.tmp"
	mkdir -p "$dst.tmp"
	for d in $moddirs; do
		[ -e "$src/$d" ] || continue
		mkdir -p "$dst.tmp/$(dirname "$d")"
		cp -a "$src/$d" "$dst.tmp/$d"
	done
	rm -rf "$dst"
	mv "$dst.tmp" "$dst"
}

if [ -e "$cache/vmlinuz" ] && [ -s "$cache/vmlinuz" ]; then
	img=$(readlink -f "$cache/vmlinuz")
	ver=$(basename "$img" | sed 's/^vmlinuz-//')
	if [ ! -d "$cache/modules/$ver" ]; then
		deb=$(ls "$cache/deb/linux-image-${ver}_"*.deb 2>/dev/null | head -n 1 || true)
		if [ -z "$deb" ]; then
			echo "fetch-kernel: no cached linux-image-${ver} package for the modules; remove $cache/vmlinuz to fetch again" >&2
			exit 1
		fi
		tmp=$(mktemp -d "$cache/extract.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		dpkg-deb -x "$deb" "$tmp"
		keep_modules "$tmp" "$ver"
		echo "fetch-kernel: modules in $cache/modules/$ver" >&2
	fi
	echo "$img"
	exit 0
fi
mkdir -p "$cache/deb"

resolve_pkg() {
	# The metapackage's dependency names the real image package.
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[^ ]*-cloud-amd64\).*/\1/p' | head -n 1
}

pkg=${LHYVE_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$(resolve_pkg)
	if [ -z "$pkg" ]; then
		echo "fetch-kernel: $meta unknown to apt; running apt-get update" >&2
		SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO apt-get update -qq >&2
		pkg=$(resolve_pkg)
	fi
fi
if [ -z "$pkg" ]; then
	echo "fetch-kernel: cannot resolve the image package behind $meta" >&2
	exit 1
fi

deb=$(ls "$cache/deb/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
	echo "fetch-kernel: downloading $pkg" >&2
	(cd "$cache/deb" && apt-get download -q "$pkg" >&2)
	deb=$(ls "$cache/deb/${pkg}_"*.deb | head -n 1)
fi

tmp=$(mktemp -d "$cache/extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
img=$(ls "$tmp"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -z "$img" ]; then
	echo "fetch-kernel: $deb has no boot/vmlinuz-*" >&2
	exit 1
fi
name=$(basename "$img")
cp "$img" "$cache/$name.tmp"
mv "$cache/$name.tmp" "$cache/$name"
# Keep the config next to it: handy to check what is built in.
cp "$tmp"/boot/config-* "$cache/" 2>/dev/null || true
keep_modules "$tmp" "${name#vmlinuz-}"
ln -sfn "$name" "$cache/vmlinuz"
echo "fetch-kernel: $cache/$name" >&2
readlink -f "$cache/vmlinuz"
