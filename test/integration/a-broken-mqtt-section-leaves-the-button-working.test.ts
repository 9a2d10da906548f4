/**
 * The button works first, whatever the network side's config says: `sos kiosk` with a hand-edited
 * kiosk.json whose mqtt section is invalid arms the button, records each press in its outbox on disk,
 * blinks the fault, says once which field is wrong and that the link stays off until the file is
 * fixed and the agent restarted, and dials no gateway. Anything else invalid still fails at once
 * (one line, exit 1), and `sos kiosk doctor` reports the mqtt problem as one failing check among the
 * others. Runs the built CLI (dist/scripts/sos.js): `npm run build` first (npm test does).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DoctorFinding } from "../../device/service/doctor.js";
import { deferCleanups } from "./cleanups.js";
import { spawnSos, type SosProcess, tempDir, waitFor } from "./harness.js";

const KIOSK_ID = "kz-mqtt-0001";

const logLines = (p: SosProcess): Record<string, unknown>[] => p.logLines();

describe("a broken mqtt section leaves the button working", () => {
  const defer = deferCleanups();
  const dir = tempDir("sos-broken-mqtt-");
  // A gateway address that answers TCP: the agent must not even dial it while its mqtt section is invalid.
  let gateway: Server;
  let gatewayPort: number;
  let dials = 0;
  beforeAll(async () => {
    gateway = createServer((socket) => {
      dials += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", () => resolve()));
    gatewayPort = (gateway.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
    dir.remove();
  });

  /** A hand-edited kiosk.json in a folder of its own (its data folder beside it). */
  const writeKiosk = (name: string, change: Record<string, unknown>): string => {
    const folder = join(dir.path, name);
    mkdirSync(folder, { recursive: true });
    const path = join(folder, "kiosk.json");
    const config = {
      version: 1,
      kioskId: KIOSK_ID,
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      mqtt: { url: `mqtt://127.0.0.1:${gatewayPort}`, username: KIOSK_ID, password: "s3cret-password" },
      audio: { player: "none" },
      ...change,
    };
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    return path;
  };

  const spawn = (args: readonly string[]): SosProcess => {
    const p = spawnSos(args);
    defer(async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill("SIGKILL");
        await p.exited;
      }
    });
    return p;
  };

  const credentials = { username: KIOSK_ID, password: "s3cret-password" };
  const cases: [string, () => unknown, string][] = [
    ["urls given as one string", () => ({ ...credentials, urls: `mqtt://127.0.0.1:${gatewayPort}` }), 'mqtt.urls: must be a list of gateway addresses: ["mqtt://HOST:PORT", …]'],
    [
      "a port out of range in the list",
      () => ({ ...credentials, urls: [`mqtt://127.0.0.1:${gatewayPort}`, "mqtt://gw:99999"] }),
      "mqtt.urls.1: 'mqtt://gw:99999' is not a gateway address (the port '99999' is not a number from 1 to 65535): use mqtt://HOST:PORT or mqtts://HOST:PORT",
    ],
    ["null", () => null, `mqtt: must be an object: { "url": "mqtt(s)://HOST:PORT", "username": …, "password": … } (or "urls": [...] and "tls": {...}), as 'sos provision' or 'sos enroll' wrote it`],
  ];

  for (const [name, mqtt, field] of cases) {
    it(`${name}: the press is recorded on disk, the fault shown, one error line names ${field.split(":")[0]}, no gateway is dialled`, async () => {
      const configPath = writeKiosk(name.replace(/\W+/g, "-"), { mqtt: mqtt() });
      const agent = spawn(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "info"]);
      await agent.waitForLog("button armed");
      agent.child.stdin!.write("press\n");
      const recorded = await agent.waitForLog("alert recorded");
      expect(recorded).toMatchObject({ kioskId: KIOSK_ID, kind: "sos", durable: true });
      const onDisk = join(configPath, "..", "data", "outbox", `${String(recorded.alertId)}.alert.json`);
      expect(JSON.parse(readFileSync(onDisk, "utf8"))).toMatchObject({ alertId: recorded.alertId, kioskId: KIOSK_ID, kind: "sos" });

      const errors = logLines(agent).filter((l) => l.level === "error");
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: "CONFIG_INVALID", fault: "config:mqtt" });
      expect(errors[0]?.msg).toBe(`${configPath} is invalid: ${field}; the link to the gateway stays off until the file is fixed and the agent restarted (presses are kept on disk meanwhile)`);
      // The lights blink the fault until the press, then show the alarm (it outranks a fault).
      const lights = (): Record<string, unknown>[] => logLines(agent).filter((l) => l.msg === "indicator changed");
      expect(lights()).toContainEqual(expect.objectContaining({ yellow: "blink", faults: ["config:mqtt"] }));
      await waitFor(() => lights().at(-1)?.reason === "alarm raised", "the alarm on the lights");
      expect(lights().at(-1)).toMatchObject({ yellow: "on", faults: ["config:mqtt"] });

      expect(agent.child.exitCode).toBeNull();
      expect(dials).toBe(0);
      agent.child.kill("SIGTERM");
      expect(await agent.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(onDisk)).toBe(true);
      expect(agent.stderr).toEqual([]);
    });
  }

  it("an invalid section the button does not need (audio) runs on its defaults: the button arms, the press is recorded and sent, one error line names the field", async () => {
    const configPath = writeKiosk("bad-audio", { audio: { volume: 500 } });
    const agent = spawn(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "info"]);
    await agent.waitForLog("button armed");
    agent.child.stdin!.write("press\n");
    expect(await agent.waitForLog("alert recorded")).toMatchObject({ kioskId: KIOSK_ID, kind: "sos", durable: true });
    const errors = logLines(agent).filter((l) => l.level === "error");
    expect(errors).toEqual([expect.objectContaining({ code: "CONFIG_INVALID", sections: ["audio"] })]);
    expect(String(errors[0]?.msg)).toMatch(/ is invalid: audio\.volume: .*; those sections run on their defaults until the file is fixed and the agent restarted \(the button works\)$/);
    await waitFor(() => dials > 0, "the gateway dialled: the link is on");
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  });

  const fatal: [string, Record<string, unknown>, string[]][] = [
    ["a bad kiosk id beside a bad mqtt section", { kioskId: "k 1", mqtt: { ...credentials, urls: "mqtt://127.0.0.1:1" } }, ["kioskId: ", "mqtt.urls: "]],
    ["a gpio button without its line", { button: { driver: "gpio" } }, ["button.line: "]],
  ];
  for (const [name, change, fields] of fatal) {
    it(`anything else invalid still exits 1 with one line before arming the button: ${name}`, async () => {
      const configPath = writeKiosk(`fatal-${name.replace(/\W+/g, "-")}`, change);
      const agent = spawn(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "info"]);
      expect(await agent.exited).toEqual({ code: 1, signal: null });
      expect(agent.stderr).toHaveLength(1);
      expect(agent.stderr[0]?.startsWith(`sos: ${configPath} is invalid: `)).toBe(true);
      for (const field of fields) expect(agent.stderr[0]).toContain(field);
      expect(logLines(agent).map((l) => l.msg)).not.toContain("button armed");
      expect(existsSync(join(configPath, "..", "data"))).toBe(false);
    });
  }

  it("sos kiosk doctor reports the mqtt problem as a failing check with its fix, beside its other checks", async () => {
    const dialsBefore = dials;
    const configPath = writeKiosk("doctor", { mqtt: { ...credentials, urls: [`mqtt://127.0.0.1:${gatewayPort}`, "mqtt://gw:99999"] } });
    mkdirSync(join(configPath, "..", "data"));
    const root = join(dir.path, "doctor-root");
    mkdirSync(root, { recursive: true });
    const doctor = spawn(["kiosk", "doctor", "--config", configPath, "--json", "--root", root]);
    expect(await doctor.exited).toEqual({ code: 1, signal: null });
    expect(doctor.stderr).toEqual([]);
    const report = JSON.parse(doctor.stdout.join("\n")) as { kioskId: string; ok: boolean; findings: DoctorFinding[] };
    expect(report).toMatchObject({ kioskId: KIOSK_ID, ok: false });
    expect(report.findings.map((f) => f.check)).toEqual(["kiosk.json", "unit enabled", "agent running", "watchdog armed", "data writable", "clock synchronised", "GPIO chip", "camera", "microphone", "speaker", "voice prompts", "gateway config"]);
    expect(report.findings.find((f) => f.check === "data writable")?.result).toBe("pass");
    expect(report.findings.at(-1)).toEqual({
      check: "gateway config",
      result: "fail",
      detail: `${configPath} is invalid: mqtt.urls.1: 'mqtt://gw:99999' is not a gateway address (the port '99999' is not a number from 1 to 65535): use mqtt://HOST:PORT or mqtts://HOST:PORT`,
      fix: expect.stringContaining("sudo systemctl restart sos-kiosk.service") as unknown,
    });
    expect(dials).toBe(dialsBefore);
  });

  it("sos kiosk doctor fails its kiosk.json row for a section running on its defaults, and for a misspelt setting, each with its fix", async () => {
    const root = join(dir.path, "doctor-root-2");
    mkdirSync(root, { recursive: true });
    const run = async (name: string, change: Record<string, unknown>): Promise<DoctorFinding | undefined> => {
      const configPath = writeKiosk(name, { mqtt: { ...credentials, url: `mqtt://127.0.0.1:${gatewayPort}` }, ...change });
      mkdirSync(join(configPath, "..", "data"), { recursive: true });
      const doctor = spawn(["kiosk", "doctor", "--config", configPath, "--json", "--root", root]);
      await doctor.exited;
      return (JSON.parse(doctor.stdout.join("\n")) as { findings: DoctorFinding[] }).findings[0];
    };
    expect(await run("doctor-defaulted", { audio: { volume: 500 } })).toMatchObject({
      check: "kiosk.json",
      result: "fail",
      detail: expect.stringMatching(/audio\.volume: .* \(running on defaults: audio\)$/) as unknown,
      fix: expect.stringMatching(/^correct the named fields in \S+kiosk\.json, then: sudo systemctl restart sos-kiosk\.service$/) as unknown,
    });
    expect(await run("doctor-misspelt", { colour: "red" })).toMatchObject({ check: "kiosk.json", result: "fail", detail: "unknown settings, ignored: colour" });
    expect(await run("doctor-valid", {})).toMatchObject({ check: "kiosk.json", result: "pass" });
  });
});
