#!/bin/sh
# Installs the SOS kiosk agent from an unpacked release on a Raspberry Pi (64-bit Raspberry Pi OS).
#
#   sudo ./deploy/install.sh [--data-device /dev/mmcblk0p3] [--root DIR]
#
# Sets up: the sos-kiosk user; the release under /var/lib/sos-kiosk/releases/VERSION with the
# `current` symlink; the data folder; the update guard in /opt/sos-kiosk/guard; the systemd units;
# udev rules for the serial and modem ports; the hardware watchdog; journald limits. Then run
# `sos enroll … --out /var/lib/sos-kiosk` and `sudo systemctl start sos-kiosk`.
#
# --root DIR installs into DIR instead of / (an image being prepared, or a test): the files are
# written there, and what would change the running system (useradd, systemctl, udevadm, mount) is
# printed as "would run: …" instead. Running it again is safe: it replaces what it installed.
set -eu

ROOT=/
DATA_DEVICE=
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --data-device) DATA_DEVICE=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
RELEASE=$(cd "$HERE/.." && pwd)
R=${ROOT%/}
HOME_DIR=/var/lib/sos-kiosk
USER_NAME=sos-kiosk

fail() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }
# Commands that change the running system: run for real only on the live root.
system() {
  if [ -z "$R" ]; then "$@"; else echo "would run: $*"; fi
}

[ -f "$RELEASE/dist/scripts/sos.js" ] || fail "no dist/scripts/sos.js next to this script: run it from an unpacked release archive"
[ -f "$RELEASE/dist/device/update/guard.js" ] || fail "the release has no update guard (dist/device/update/guard.js): it is incomplete"
if [ -z "$R" ] && [ "$(id -u)" != 0 ]; then fail "run it as root (sudo ./deploy/install.sh)"; fi
VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$RELEASE/release.json" 2>/dev/null | head -n1)
[ -n "$VERSION" ] || VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$RELEASE/package.json" | head -n1)
[ -n "$VERSION" ] || fail "cannot read the release's version (release.json or package.json)"
case "$VERSION" in *[!A-Za-z0-9._+-]*) fail "odd release version '$VERSION'" ;; esac

# The user the agent runs as, with the groups of the devices it uses.
if [ -z "$R" ] && id "$USER_NAME" >/dev/null 2>&1; then
  say "user $USER_NAME exists"
else
  system useradd --system --home-dir "$HOME_DIR" --no-create-home --shell /usr/sbin/nologin --user-group "$USER_NAME"
fi
for group in gpio dialout audio video; do
  if [ -z "$R" ] && ! getent group "$group" >/dev/null; then system groupadd --system "$group"; fi
  system usermod -a -G "$group" "$USER_NAME"
done

# The data partition: mounted at /var/lib/sos-kiosk, writable even when the root is read-only.
mkdir -p "$R/etc"
if [ -n "$DATA_DEVICE" ]; then
  touch "$R/etc/fstab"
  if ! grep -q "[[:space:]]$HOME_DIR[[:space:]]" "$R/etc/fstab"; then
    # noatime and a long commit interval spare the card; the outbox fsyncs what must be durable.
    printf '%s\t%s\text4\tdefaults,noatime,commit=30,errors=remount-ro\t0\t2\n' "$DATA_DEVICE" "$HOME_DIR" >>"$R/etc/fstab"
    say "data partition $DATA_DEVICE added to /etc/fstab"
  fi
  mkdir -p "$R$HOME_DIR"
  system mount "$HOME_DIR"
fi

# Folders: the release, the data (outbox, alarm state), the update state.
install -d -m 0755 "$R$HOME_DIR"
install -d -m 0755 "$R$HOME_DIR/releases"
install -d -m 0700 "$R$HOME_DIR/data" "$R$HOME_DIR/update"
TARGET="$R$HOME_DIR/releases/$VERSION"
if [ "$RELEASE" != "$TARGET" ]; then
  rm -rf "$TARGET.installing"
  mkdir -p "$TARGET.installing"
  cp -a "$RELEASE/." "$TARGET.installing/"
  rm -rf "$TARGET"
  mv "$TARGET.installing" "$TARGET"
fi
# onoff's epoll addon (only the sysfs "gpio" drivers load it) has no prebuilt binary: the release
# ships its source (sos release build) and it is compiled here when a compiler is present. Without
# one, the "gpiod" drivers work (no addon); "gpio" fails at start saying it cannot load onoff.
EPOLL="$TARGET/node_modules/epoll"
if [ -d "$EPOLL" ] && [ ! -f "$EPOLL/build/Release/epoll.node" ]; then
  if command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    # node-gyp uses the installed Node's headers when they are there (the official tarball has them).
    NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
    [ -f "$NODE_PREFIX/include/node/node.h" ] && export npm_config_nodedir="$NODE_PREFIX"
    system sh -c "cd '$TARGET' && npm rebuild epoll --foreground-scripts"
  else
    say "warning: no compiler here: onoff's epoll addon is not built, so the \"gpio\" button/indicator drivers cannot load; use the \"gpiod\" drivers, or: sudo apt-get install -y build-essential python3 npm and run install.sh again"
  fi
fi
# The switch is a rename of a new symlink over the old one: atomic.
ln -sfn "releases/$VERSION" "$R$HOME_DIR/current.installing"
mv -T "$R$HOME_DIR/current.installing" "$R$HOME_DIR/current"
printf '{"v":1,"phase":"confirmed","current":"%s","previous":null,"target":null,"attempts":0,"bootId":null,"deadlineAt":null,"failed":null,"reason":null,"updatedAt":"%s"}\n' \
  "$VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$R$HOME_DIR/update/state.json"
# The release key this kiosk trusts from now on (updates never replace it).
if [ -f "$HERE/release-signing.pub" ]; then
  install -m 0644 "$HERE/release-signing.pub" "$R$HOME_DIR/release-signing.pub"
else
  say "warning: the release has no deploy/release-signing.pub: this kiosk will refuse every update until one is put in $HOME_DIR"
fi
system chown -R "$USER_NAME:$USER_NAME" "$HOME_DIR"
say "agent $VERSION in $HOME_DIR/releases/$VERSION (current)"

# The update guard lives outside the releases: a broken release cannot break its own rollback.
install -d -m 0755 "$R/opt/sos-kiosk/guard"
install -m 0644 "$RELEASE/dist/device/update/guard.js" "$RELEASE/dist/device/update/update-state.js" "$R/opt/sos-kiosk/guard/"
printf '{"type":"module"}\n' >"$R/opt/sos-kiosk/guard/package.json"

# The `sos` command (enroll, kiosk doctor, kiosk selftest) from the current release.
install -d -m 0755 "$R/usr/local/bin"
printf '#!/bin/sh\nexec /usr/bin/node %s/current/dist/scripts/sos.js "$@"\n' "$HOME_DIR" >"$R/usr/local/bin/sos"
chmod 0755 "$R/usr/local/bin/sos"

# systemd units, hardware watchdog, journald limits, udev rules.
install -d -m 0755 "$R/etc/systemd/system" "$R/etc/systemd/system.conf.d" "$R/etc/systemd/journald.conf.d" "$R/etc/udev/rules.d"
install -m 0644 "$HERE/systemd/sos-kiosk.service" "$HERE/systemd/sos-kiosk-rollback.service" "$R/etc/systemd/system/"
install -m 0644 "$HERE/system/50-sos-watchdog.conf" "$R/etc/systemd/system.conf.d/50-sos-watchdog.conf"
install -m 0644 "$HERE/system/50-sos-journald.conf" "$R/etc/systemd/journald.conf.d/50-sos.conf"
install -m 0644 "$HERE/udev/90-sos-kiosk.rules" "$R/etc/udev/rules.d/90-sos-kiosk.rules"

system udevadm control --reload-rules
system udevadm trigger --subsystem-match=tty --subsystem-match=gpio
system systemctl daemon-reload
system systemctl restart systemd-journald.service
system systemctl enable sos-kiosk.service
say "installed. Next: sos enroll … --out $HOME_DIR, then: sudo systemctl start sos-kiosk && sos kiosk doctor --config $HOME_DIR/kiosk.json"
say "the hardware watchdog (RuntimeWatchdogSec=15s) is armed at the next boot (or: sudo systemctl daemon-reexec)"
