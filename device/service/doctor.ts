/**
 * `sos kiosk doctor`: checks an installed kiosk on the spot, each failure with its fix. It looks at
 * the system through a small port (DoctorSystem): a file system root ("/" on the kiosk, a fake
 * sysfs/dev folder in tests), a CommandRunner for systemctl/timedatectl, and a TCP connect.
 */
import { readdirSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { gatewayUrls, type KioskConfig } from "../../shared/config/kiosk.js";
import type { CommandRunner } from "../health/checks/runner.js";
import { dataCheck } from "./doctor-data.js";
import { loginCheck } from "./doctor-login.js";
import { promptsCheck } from "./doctor-prompts.js";

export interface DoctorSystem {
  /** Where /dev, /sys and /proc are: "/" on the kiosk, a fake folder in tests. */
  readonly root: string;
  readonly runner: CommandRunner;
  /** null when a TCP connection opened, else why not. */
  connect(host: string, port: number, timeoutMs: number): Promise<string | null>;
  /** Who runs the doctor (0: root, whose writes prove nothing for the agent's user); default: this process's. */
  readonly euid?: number;
}

export type DoctorResult = "pass" | "fail" | "skip";

export interface DoctorFinding {
  readonly check: string;
  readonly result: DoctorResult;
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export const KIOSK_UNIT = "sos-kiosk.service";
const TIMEOUT_MS = 5_000;

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (why: string | null): void => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1_000} s`));
    socket.once("connect", () => done(null));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

async function output(sys: DoctorSystem, command: string, args: readonly string[]): Promise<{ text: string; failure: string | null }> {
  const r = await sys.runner.run(command, args, { timeoutMs: TIMEOUT_MS });
  const text = r.stdout.toString("utf8").trim();
  if (r.failure !== undefined) return { text, failure: `${command}: ${r.failure}` };
  return { text, failure: null };
}

function entries(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const exists = (path: string): boolean => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

async function unitChecks(sys: DoctorSystem): Promise<DoctorFinding[]> {
  const enabled = await output(sys, "systemctl", ["is-enabled", KIOSK_UNIT]);
  const active = await output(sys, "systemctl", ["is-active", KIOSK_UNIT]);
  return [
    enabled.text === "enabled"
      ? { check: "unit enabled", result: "pass", detail: `${KIOSK_UNIT} starts at boot` }
      : {
          check: "unit enabled",
          result: "fail",
          detail: enabled.failure ?? `${KIOSK_UNIT} is ${enabled.text || "not installed"}`,
          fix: `run deploy/install.sh from the release, then: sudo systemctl enable --now ${KIOSK_UNIT}`,
        },
    active.text === "active"
      ? { check: "agent running", result: "pass", detail: `${KIOSK_UNIT} is active` }
      : {
          check: "agent running",
          result: "fail",
          detail: active.failure ?? `${KIOSK_UNIT} is ${active.text || "unknown"}`,
          fix: `see why: journalctl -u ${KIOSK_UNIT} -n 50; then: sudo systemctl restart ${KIOSK_UNIT}`,
        },
  ];
}

async function watchdogCheck(sys: DoctorSystem): Promise<DoctorFinding> {
  const check = "watchdog armed";
  const device = ["dev/watchdog0", "dev/watchdog"].find((d) => exists(join(sys.root, d)));
  if (device === undefined) {
    return { check, result: "fail", detail: "no /dev/watchdog", fix: "enable the Pi's watchdog: dtparam=watchdog=on in /boot/firmware/config.txt, then reboot" };
  }
  const shown = await output(sys, "systemctl", ["show", "--property=RuntimeWatchdogUSec", "--value"]);
  const value = shown.text;
  if (shown.failure !== null || value === "" || value === "0" || value === "infinity") {
    return {
      check,
      result: "fail",
      detail: shown.failure ?? `systemd does not use /${device} (RuntimeWatchdogUSec=${value || "?"})`,
      fix: "install /etc/systemd/system.conf.d/50-sos-watchdog.conf (deploy/install.sh: RuntimeWatchdogSec=15s), then: sudo systemctl daemon-reexec",
    };
  }
  return { check, result: "pass", detail: `systemd feeds /${device} every ${value}` };
}

async function clockCheck(sys: DoctorSystem): Promise<DoctorFinding> {
  const shown = await output(sys, "timedatectl", ["show", "--property=NTPSynchronized", "--value"]);
  if (shown.text === "yes") return { check: "clock synchronised", result: "pass", detail: "NTP synchronised" };
  return {
    check: "clock synchronised",
    result: "fail",
    detail: shown.failure ?? `NTPSynchronized=${shown.text || "?"}`,
    fix: "sudo timedatectl set-ntp true; the link (cellular APN, firewall) must let NTP (UDP 123) through: alarm times and certificates need the right time",
  };
}

function gpioCheck(config: KioskConfig, sys: DoctorSystem): DoctorFinding {
  const check = "GPIO chip";
  const usesGpio = [config.button.driver, config.indicator.driver].some((d) => d === "gpio" || d === "gpiod");
  if (!usesGpio) return { check, result: "skip", detail: `the ${config.button.driver} button needs no GPIO` };
  const chips = [...entries(join(sys.root, "dev")).filter((f) => /^gpiochip\d+$/.test(f)), ...entries(join(sys.root, "sys/class/gpio")).filter((f) => f.startsWith("gpiochip"))];
  if (chips.length > 0) return { check, result: "pass", detail: [...new Set(chips)].sort().join(", ") };
  return { check, result: "fail", detail: "no /dev/gpiochip* nor /sys/class/gpio/gpiochip*", fix: "is this a Raspberry Pi with Raspberry Pi OS's kernel? ls /dev/gpiochip*; the gpio group needs the udev rule (deploy/udev)" };
}

function mediaChecks(config: KioskConfig, sys: DoctorSystem): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const media = config.media;
  if (media.driver === "wrtc" && media.capture === "device") {
    findings.push(
      exists(join(sys.root, media.videoDevice))
        ? { check: "camera", result: "pass", detail: media.videoDevice }
        : { check: "camera", result: "fail", detail: `${media.videoDevice} is missing`, fix: "plug the camera in (USB) or enable it (Pi camera: camera_auto_detect=1); v4l2-ctl --list-devices names it" },
    );
  } else {
    findings.push({ check: "camera", result: "skip", detail: media.driver === "none" ? "no media configured" : "test picture (capture: test)" });
  }
  const pcms = entries(join(sys.root, "dev/snd"));
  const wantsMic = media.driver === "wrtc" && media.capture === "device";
  findings.push(
    !wantsMic
      ? { check: "microphone", result: "skip", detail: "no call audio configured" }
      : pcms.some((f) => /^pcmC\d+D\d+c$/.test(f))
        ? { check: "microphone", result: "pass", detail: "an ALSA capture device is present" }
        : { check: "microphone", result: "fail", detail: "no ALSA capture device (/dev/snd/pcmC*D*c)", fix: "plug in the USB microphone or sound card; arecord -l lists capture devices" },
  );
  findings.push(
    config.audio.player === "none"
      ? { check: "speaker", result: "skip", detail: "prompts are not played (audio.player none)" }
      : pcms.some((f) => /^pcmC\d+D\d+p$/.test(f))
        ? { check: "speaker", result: "pass", detail: "an ALSA playback device is present" }
        : { check: "speaker", result: "fail", detail: "no ALSA playback device (/dev/snd/pcmC*D*p)", fix: "plug in the speaker's sound card (or enable the Pi's audio: dtparam=audio=on); aplay -l lists them" },
  );
  return findings;
}

/**
 * One finding per gateway node kiosk.json names (`mqtt.url`, or each of `mqtt.urls`); one failure
 * naming the bad fields when its mqtt section is invalid (the agent then runs with its link off).
 */
async function gatewayChecks(config: KioskConfig, sys: DoctorSystem, linkProblem: string | undefined): Promise<DoctorFinding[]> {
  if (linkProblem !== undefined) {
    return [
      {
        check: "gateway config",
        result: "fail",
        detail: linkProblem,
        fix: `correct the mqtt section of kiosk.json as the detail says (or provision the kiosk again), then: sudo systemctl restart ${KIOSK_UNIT}; until then presses are kept on disk but none reaches the gateway`,
      },
    ];
  }
  const urls = gatewayUrls(config.mqtt);
  const several = urls.length > 1;
  return Promise.all(
    urls.map(async (given) => {
      const url = new URL(given.replace(/^(tcp|ssl):/, (m) => (m === "tcp:" ? "mqtt:" : "mqtts:")));
      const port = Number(url.port || (url.protocol === "mqtts:" ? 8883 : 1883));
      const check = several ? `gateway reachable (${url.hostname}:${port})` : "gateway reachable";
      const why = await sys.connect(url.hostname, port, TIMEOUT_MS);
      if (why === null) return { check, result: "pass", detail: `${url.hostname}:${port} answers` } satisfies DoctorFinding;
      return {
        check,
        result: "fail",
        detail: `${url.hostname}:${port}: ${why}`,
        fix: `check the link (ip route; the modem's signal), the gateway address in kiosk.json (${several ? "mqtt.urls" : "mqtt.url"}), and that firewalls let TCP ${port} through`,
      } satisfies DoctorFinding;
    }),
  );
}

/**
 * Every check, in the order a technician fixes them. `linkProblem`: kiosk.json's mqtt section is
 * invalid (shared/config/kiosk-agent.ts): the gateway is not tried, the problem is a failure.
 */
export async function runDoctor(config: KioskConfig, sys: DoctorSystem, linkProblem?: string): Promise<DoctorFinding[]> {
  const unit = await unitChecks(sys);
  const running = unit.some((f) => f.check === "agent running" && f.result === "pass");
  return [
    ...unit,
    await watchdogCheck(sys),
    await dataCheck(config, sys.runner, sys.euid ?? process.geteuid?.() ?? -1),
    await clockCheck(sys),
    gpioCheck(config, sys),
    ...mediaChecks(config, sys),
    await promptsCheck(config),
    ...(await gatewayChecks(config, sys, linkProblem)),
    ...(linkProblem === undefined ? [loginCheck(config, running, KIOSK_UNIT)] : []),
  ];
}
