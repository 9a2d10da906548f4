/**
 * `sos kiosk doctor` against a fake system: a fake root (dev/, sys/ folders), fake systemctl and
 * timedatectl answers (FakeRunner), a real data folder and a real TCP listener for the gateway.
 * A healthy kiosk passes every check; each failure it names is caught, with a fix.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultPromptsDir } from "../../device/audio/aplay.js";
import { type DoctorFinding, type DoctorSystem, runDoctor, tcpConnect } from "../../device/service/doctor.js";
import { type KioskConfig, type KioskConfigInput, parseKioskConfig } from "../../shared/config/kiosk.js";
import { FakeRunner, type RunCall } from "../fixtures/fake-runner.js";
import { tempDir } from "../integration/harness.js";

type Answers = Record<string, string | { failure: string }>;

const HEALTHY: Answers = {
  "systemctl is-enabled sos-kiosk.service": "enabled",
  "systemctl is-active sos-kiosk.service": "active",
  "systemctl show --property=RuntimeWatchdogUSec --value": "15s",
  "timedatectl show --property=NTPSynchronized --value": "yes",
};

/** Every check before the gateway's, passing, in the order the doctor runs them. */
const LOCAL_CHECKS_PASS = [
  ["unit enabled", "pass"],
  ["agent running", "pass"],
  ["watchdog armed", "pass"],
  ["data writable", "pass"],
  ["clock synchronised", "pass"],
  ["GPIO chip", "pass"],
  ["camera", "pass"],
  ["microphone", "pass"],
  ["speaker", "pass"],
  ["voice prompts", "pass"],
];

describe("sos kiosk doctor names a fix for each failure", () => {
  let dir: { path: string; remove(): void };
  let root: string;
  let server: Server;
  let port: number;
  let answers: Answers;

  beforeEach(async () => {
    dir = tempDir();
    root = join(dir.path, "root");
    for (const d of ["dev/snd", "sys/class/gpio/gpiochip512", "data"]) mkdirSync(join(root, d), { recursive: true });
    for (const f of ["dev/watchdog0", "dev/gpiochip0", "dev/video0", "dev/snd/pcmC0D0p", "dev/snd/pcmC1D0c"]) writeFileSync(join(root, f), "");
    linkStatus({ state: "connected", url: "mqtt://gw-a:1883", since: "2026-12-07T03:00:00.000Z", acceptedAt: "2026-12-07T03:00:00.000Z" });
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as { port: number }).port;
    answers = { ...HEALTHY };
  });

  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    dir.remove();
  });

  /** What the agent last found of the gateway's answer (device/link/link-status.ts). */
  const linkStatus = (status: Record<string, string> | null): void => {
    const path = join(root, "data", "state", "link.json");
    if (status === null) return rmSync(path, { force: true });
    mkdirSync(join(root, "data", "state"), { recursive: true });
    writeFileSync(path, JSON.stringify({ v: 1, ...status }));
  };

  const config = (over: Partial<KioskConfigInput> = {}): KioskConfig =>
    parseKioskConfig({
      version: 1,
      kioskId: "kz-doc-0001",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, username: "kz-doc-0001", password: "s3cret-password" },
      dataDir: join(root, "data"),
      button: { driver: "gpiod", line: 17 },
      media: { driver: "wrtc", capture: "device", videoDevice: join("/dev", "video0") },
      ...over,
    });

  const system = (): DoctorSystem => ({
    root,
    runner: new FakeRunner((call: RunCall) => {
      const answer = answers[[call.command, ...call.args].join(" ")];
      if (answer === undefined) return { failure: "spawn: ENOENT", code: null };
      if (typeof answer === "object") return { failure: answer.failure, code: null };
      return { stdout: Buffer.from(`${answer}\n`), code: /^(enabled|active|yes|[\d ]+)$/.test(answer) ? 0 : 1 };
    }),
    connect: tcpConnect,
  });

  // The camera path is checked under the fake root.
  const doctor = async (over: Partial<KioskConfigInput> = {}): Promise<DoctorFinding[]> => runDoctor(config(over), system());
  const failing = (findings: readonly DoctorFinding[]): DoctorFinding[] => findings.filter((f) => f.result === "fail");

  it("passes every check on a healthy kiosk", async () => {
    const findings = await doctor();
    expect(findings.map((f) => [f.check, f.result])).toEqual([...LOCAL_CHECKS_PASS, ["gateway reachable", "pass"], ["gateway login", "pass"]]);
  });

  const cases: { name: string; check: string; fix: RegExp; breakIt: () => void }[] = [
    { name: "unit not enabled", check: "unit enabled", fix: /systemctl enable --now sos-kiosk.service/, breakIt: () => (answers["systemctl is-enabled sos-kiosk.service"] = "disabled") },
    { name: "agent not running", check: "agent running", fix: /journalctl -u sos-kiosk.service/, breakIt: () => (answers["systemctl is-active sos-kiosk.service"] = "failed") },
    { name: "no watchdog device", check: "watchdog armed", fix: /dtparam=watchdog=on/, breakIt: () => rmSync(join(root, "dev/watchdog0")) },
    { name: "watchdog not used by systemd", check: "watchdog armed", fix: /RuntimeWatchdogSec=15s/, breakIt: () => (answers["systemctl show --property=RuntimeWatchdogUSec --value"] = "0") },
    {
      name: "data partition not writable",
      check: "data writable",
      // The kiosk's own data folder, wherever kiosk.json puts it.
      fix: /findmnt -T \S+\/data; .* df -h \S+\/data$/,
      breakIt: () => {
        renameSync(join(root, "data"), join(root, "data.away"));
        writeFileSync(join(root, "data"), "not a folder");
      },
    },
    { name: "clock not synchronised", check: "clock synchronised", fix: /timedatectl set-ntp true/, breakIt: () => (answers["timedatectl show --property=NTPSynchronized --value"] = "no") },
    {
      name: "no GPIO chip",
      check: "GPIO chip",
      fix: /ls \/dev\/gpiochip/,
      breakIt: () => {
        rmSync(join(root, "dev/gpiochip0"));
        rmSync(join(root, "sys/class/gpio"), { recursive: true });
      },
    },
    { name: "no camera", check: "camera", fix: /v4l2-ctl --list-devices/, breakIt: () => rmSync(join(root, "dev/video0")) },
    { name: "no microphone", check: "microphone", fix: /arecord -l/, breakIt: () => rmSync(join(root, "dev/snd/pcmC1D0c")) },
    { name: "no speaker", check: "speaker", fix: /aplay -l/, breakIt: () => rmSync(join(root, "dev/snd/pcmC0D0p")) },
    { name: "gateway unreachable", check: "gateway reachable", fix: /mqtt\.url/, breakIt: () => server.close() },
    {
      name: "credentials refused",
      check: "gateway login",
      fix: /sos provision kz-doc-0001 --force.*sudo systemctl restart sos-kiosk\.service/,
      breakIt: () => linkStatus({ state: "refused", url: "mqtt://gw-a:1883", since: "2026-12-07T03:00:00.000Z", reason: "Connection refused: Bad username or password" }),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: only "${c.check}" fails, with its fix`, async () => {
      c.breakIt();
      const failed = failing(await doctor());
      expect(failed.map((f) => f.check)).toEqual([c.check]);
      expect(failed[0]?.fix).toMatch(c.fix);
    });
  }

  it("an empty prompts folder fails \"voice prompts\", naming each missing file and the prompts the release ships", async () => {
    mkdirSync(join(dir.path, "prompts"));
    const failed = failing(await doctor({ audio: { language: "kk", promptsDir: join(dir.path, "prompts") } }));
    expect(failed.map((f) => f.check)).toEqual(["voice prompts"]);
    expect(failed[0]?.detail).toBe(`${join(dir.path, "prompts", "kk")}: alarm-sent.wav: ENOENT; alarm-received.wav: ENOENT; connecting.wav: ENOENT; out-of-order.wav: ENOENT`);
    expect(failed[0]?.fix).toContain(`remove audio.promptsDir from kiosk.json to use them, or copy ${join(defaultPromptsDir(), "kk")}/*.wav into ${join(dir.path, "prompts", "kk")}`);
    expect(failed[0]?.fix).not.toContain("generate-prompts");
  });

  it("a prompt that is not a 16-bit PCM WAV fails \"voice prompts\" saying why", async () => {
    mkdirSync(join(dir.path, "prompts", "en"), { recursive: true });
    for (const f of readdirSync(join(defaultPromptsDir(), "en"))) copyFileSync(join(defaultPromptsDir(), "en", f), join(dir.path, "prompts", "en", f));
    writeFileSync(join(dir.path, "prompts", "en", "connecting.wav"), "ID3 an mp3 renamed");
    const row = (await doctor({ audio: { language: "en", promptsDir: join(dir.path, "prompts") } })).find((f) => f.check === "voice prompts");
    expect(row).toMatchObject({ result: "fail", detail: `${join(dir.path, "prompts", "en")}: connecting.wav: not a RIFF/WAVE file` });
  });

  // Owners and modes are set as root (chown); a test run as another user skips these.
  describe.skipIf(process.geteuid?.() !== 0)("run with sudo, the data folder is checked against the agent's user", () => {
    const asRoot = (): DoctorSystem => ({ ...system(), euid: 0 });
    beforeEach(() => {
      answers["id -u sos-kiosk"] = "995";
      answers["id -G sos-kiosk"] = "995 997 20";
    });

    it("root's 0700 data folder fails, though root's own write passed, with the chown", async () => {
      chmodSync(join(root, "data"), 0o700);
      const row = (await runDoctor(config(), asRoot())).find((f) => f.check === "data writable");
      expect(row).toMatchObject({ result: "fail" });
      expect(row?.detail).toContain(`sos-kiosk (the agent's user, uid 995) cannot write ${join(root, "data")} (owner 0:0, mode 0700)`);
      expect(row?.fix).toBe(`give the data back to the agent's user: sudo chown -R sos-kiosk: ${join(root, "data")}; then: sudo systemctl restart sos-kiosk.service`);
    });

    it("a folder inside it left root's fails too; the agent's own, or its group's, pass", async () => {
      for (const d of ["data", "data/state"]) chownSync(join(root, d), 995, 995);
      mkdirSync(join(root, "data", "outbox"), { mode: 0o700 });
      const failed = (await runDoctor(config(), asRoot())).find((f) => f.check === "data writable");
      expect(failed?.detail).toContain(`cannot write ${join(root, "data", "outbox")} (owner 0:0, mode 0700)`);
      chownSync(join(root, "data", "outbox"), 0, 997);
      chmodSync(join(root, "data", "outbox"), 0o770);
      expect((await runDoctor(config(), asRoot())).find((f) => f.check === "data writable")).toMatchObject({ result: "pass", detail: expect.stringContaining("sos-kiosk (the agent's user) may write it") as unknown });
    });

    it("not as root, only the write is tried: no user is looked up", async () => {
      chmodSync(join(root, "data"), 0o700);
      const runner = new FakeRunner(() => ({ failure: "spawn: ENOENT", code: null }));
      const row = (await runDoctor(config(), { ...system(), runner, euid: 1000 })).find((f) => f.check === "data writable");
      expect(row).toMatchObject({ result: "pass" });
      expect(runner.of("id")).toEqual([]);
    });
  });

  it("without systemctl or timedatectl, their checks fail saying the program is missing", async () => {
    answers = {};
    const failed = failing(await doctor());
    expect(failed.map((f) => f.check)).toEqual(["unit enabled", "agent running", "watchdog armed", "clock synchronised"]);
    expect(failed[0]?.detail).toBe("systemctl: spawn: ENOENT");
  });

  it("an invalid mqtt section fails as one \"gateway config\" row with its fix, tries no gateway, and every other check still runs", async () => {
    const problem = "/etc/sos/kiosk.json is invalid: mqtt.urls.1: 'mqtt://gw:99999' is not a gateway address (the port '99999' is not a number from 1 to 65535): use mqtt://HOST:PORT or mqtts://HOST:PORT";
    server.close(); // a try at the gateway would now fail as "gateway reachable"
    const findings = await runDoctor(config(), system(), problem);
    expect(findings.map((f) => [f.check, f.result])).toEqual([...LOCAL_CHECKS_PASS, ["gateway config", "fail"]]);
    expect(failing(findings)[0]).toMatchObject({ detail: problem, fix: expect.stringMatching(/mqtt section of kiosk\.json.*sudo systemctl restart sos-kiosk\.service/) as unknown });
  });

  it("the credentials' refusal is told with the gateway, since when and its reason, and marked old when the agent is not running", async () => {
    linkStatus({ state: "refused", url: "mqtt://gw-a:1883", since: "2026-12-07T03:00:00.000Z", reason: "Connection refused: Bad username or password" });
    answers["systemctl is-active sos-kiosk.service"] = "inactive";
    const row = (await doctor()).find((f) => f.check === "gateway login");
    expect(row).toMatchObject({ result: "fail" });
    expect(row?.detail).toBe("mqtt://gw-a:1883 refuses this kiosk's credentials since 2026-12-07T03:00:00.000Z: Connection refused: Bad username or password (the agent is not running: this is what it found last)");
  });

  it("the login is a skip, not a pass, until a gateway has answered the agent", async () => {
    linkStatus(null);
    expect((await doctor()).find((f) => f.check === "gateway login")).toMatchObject({ result: "skip", detail: expect.stringMatching(/^not known yet/) as unknown });
    linkStatus({ state: "connecting", url: "mqtt://gw-a:1883", since: "2026-12-07T03:00:00.000Z" });
    expect((await doctor()).find((f) => f.check === "gateway login")).toMatchObject({ result: "skip" });
    linkStatus({ state: "disconnected", url: "mqtt://gw-a:1883", since: "2026-12-07T03:05:00.000Z", reason: "keepalive timeout", acceptedAt: "2026-12-07T03:00:00.000Z" });
    expect((await doctor()).find((f) => f.check === "gateway login")).toMatchObject({ result: "pass", detail: expect.stringMatching(/^taken at 2026-12-07T03:00:00.000Z; disconnected/) as unknown });
  });

  it("skips what the config does not use (stdin button, no media, no player)", async () => {
    const findings = await doctor({ button: { driver: "stdin" }, media: { driver: "none" }, audio: { player: "none" } });
    expect(findings.filter((f) => f.result === "skip").map((f) => f.check)).toEqual(["GPIO chip", "camera", "microphone", "speaker", "voice prompts"]);
  });
});
