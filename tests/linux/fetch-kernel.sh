#!/usr/bin/env bash
# Fetch Debian's cloud kernel image (linux-image-cloud-amd64 -> the real
# linux-image-<version>-cloud-amd64 package) with `apt-get download`, unpack it
# with dpkg-deb -x under tests/linux/cache/ and leave cache/vmlinuz pointing at
# boot/vmlinuz-*. Nothing is installed into the host. Idempotent: once
# cache/vmlinuz exists the script does nothing (offline).
#   tests/linux/fetch-kernel.sh          print the cached vmlinuz path
#   LHYVE_KERNEL_PKG=linux-image-6.1.0-XX-cloud-amd64 to pick a version
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${LHYVE_LINUX_CACHE:-$here/cache}
meta=linux-image-cloud-amd64

if [ -e "$cache/vmlinuz" ] && [ -s "$cache/vmlinuz" ]; then
	readlink -f "$cache/vmlinuz"
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
ln -sfn "$name" "$cache/vmlinuz"
echo "fetch-kernel: $cache/$name" >&2
readlink -f "$cache/vmlinuz"
