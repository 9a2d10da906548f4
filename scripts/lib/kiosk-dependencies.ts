/**
 * The kiosk agent's production dependencies: the one list the release build installs for the Pi
 * (versions from the root package.json), and nothing of the gateway's (aedes, better-sqlite3,
 * postgres, ioredis…). test/unit/kiosk-release-lists-every-package-the-kiosk-imports.test.ts fails
 * when device/, shared/ or a kiosk command imports a package missing here, or when one here is no
 * longer imported.
 */
export const KIOSK_DEPENDENCIES: readonly string[] = [
  "@peculiar/x509", // enrolment: the kiosk's certificate request (shared/pki)
  "@roamhq/wrtc", // the call's WebRTC media process (device/media/wrtc)
  "@serialport/parser-readline", // the serial panel and the cellular modem's AT lines
  "@serialport/stream",
  "commander", // the `sos` command
  "firmata-io", // the Firmata button board (device/inputs/firmata)
  "johnny-five",
  "mqtt", // the link to the gateway
  "onoff", // the sysfs `gpio` button and indicator drivers
  "pino",
  "reflect-metadata", // needed by @peculiar/x509
  "serialport",
  "zod",
];

/**
 * Native packages the kiosk's install may hold without a binary for the Pi's CPU (none is published
 * on npm), and why. The release build fails on any other native package without an arm64 binary.
 */
export const NATIVE_WITHOUT_PREBUILT_BINARY: Readonly<Record<string, string>> = {
  epoll:
    "onoff's interrupt addon, loaded only by the sysfs `gpio` button/indicator drivers; no prebuilt binary exists on npm, so deploy/install.sh compiles it on the Pi (build-essential, python3); a kiosk without a compiler uses the `gpiod` drivers, which need no addon",
  "@serialport/bindings":
    "serialport 8's binding, pulled in by johnny-five's firmata; never loaded: the Firmata child hands johnny-five a serialport 13 port (device/inputs/firmata/child.ts)",
};

/** The commands of `sos` a kiosk runs (scripts/commands/NAME): enrol, run, self-test, doctor, update. */
export const KIOSK_COMMANDS: readonly string[] = ["enroll", "kiosk", "kiosk-selftest", "kiosk-doctor", "kiosk-update"];
