/**
 * The `sos` CLI as operators meet it: every failure is exactly one line on stderr, naming what is
 * wrong and the flag or file that fixes it, with no stack trace; every command has --help.
 * Runs the built CLI (dist/scripts/sos.js): `npm run build` first (npm test does).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { AlertRow } from "../../gateway/store/store.js";
import type { Alert } from "../../shared/contract.js";
import { REPO_ROOT, SOS_BIN, tempDir } from "./harness.js";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stderrLines: string[];
}

/** Runs `node dist/scripts/sos.js ...args` to completion (stdout and stderr fully read). */
function sos(args: readonly string[], timeoutMs = 30_000): Promise<Run> {
  if (!existsSync(SOS_BIN)) throw new Error(`${SOS_BIN} is missing: run 'npm run build' first (npm test does)`);
  const env = { ...process.env };
  delete env.SOS_DEBUG;
  delete env.SOS_DISPATCH_SECRET;
  delete env.SOS_STORE_URL;
  const child = spawn(process.execPath, [SOS_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sos ${args.join(" ")} did not exit within ${timeoutMs} ms (stderr: ${stderr})`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, stderrLines: stderr.split("\n").filter((l) => l.trim() !== "") });
    });
  });
}

/** Exactly one stderr line, prefixed `sos: `, without a stack trace; returns it. */
function oneLineError(run: Run): string {
  expect(run.code, `exit code (stderr: ${run.stderr})`).not.toBe(0);
  expect(run.code).not.toBeNull();
  expect(run.stderr).not.toContain("    at ");
  expect(run.stderrLines, run.stderr).toHaveLength(1);
  const line = run.stderrLines[0] ?? "";
  expect(line.startsWith("sos: ")).toBe(true);
  return line;
}

const GATEWAY_URL = "mqtt://gateway.example:1883";
const location = ["--lat", "43.25", "--lon", "76.95", "--address", "Highway A2, km 12"];

describe("sos CLI: one-line errors", () => {
  const dir = tempDir("sos-cli-");
  afterAll(() => dir.remove());

  describe("sos gateway", () => {
    let holder: Server;
    let port: number;
    beforeAll(async () => {
      holder = createServer();
      await new Promise<void>((resolve, reject) => {
        holder.once("error", reject);
        holder.listen(0, "127.0.0.1", () => resolve());
      });
      port = (holder.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    });

    it("on an MQTT port already in use exits non-zero with one stderr line naming the port and --mqtt-port", async () => {
      const run = await sos(["gateway", "--data-dir", join(dir.path, "gw-port"), "--mqtt-host", "127.0.0.1", "--mqtt-port", String(port), "--http-port", "0", "--log-level", "silent"]);
      const line = oneLineError(run);
      expect(line).toContain(String(port));
      expect(line).toContain("--mqtt-port");
      expect(line).toContain("in use");
    });

    it("also with its logs on: stderr still carries only the one error line", async () => {
      const run = await sos(["gateway", "--data-dir", join(dir.path, "gw-port-2"), "--mqtt-host", "127.0.0.1", "--mqtt-port", String(port), "--http-port", "0"]);
      expect(oneLineError(run)).toContain("--mqtt-port");
    });

    it("with a dispatch url but no secret exits with one line naming dispatch.secret", async () => {
      const run = await sos(["gateway", "--data-dir", join(dir.path, "gw-secret"), "--mqtt-port", "0", "--http-port", "0", "--dispatch-url", "https://dispatch.example/incidents"]);
      expect(oneLineError(run)).toContain("dispatch.secret");
    });

    it("--cluster on a SQLite store is refused with one line naming --store, before anything listens or is created", async () => {
      const data = join(dir.path, "gw-cluster-sqlite");
      const run = await sos(["gateway", "--data-dir", data, "--mqtt-port", "0", "--http-port", "0", "--cluster", "redis://127.0.0.1:6379", "--node-id", "gw-a"]);
      expect(oneLineError(run)).toBe("sos: --cluster needs the store every node shares: add --store postgres://… (or SOS_STORE_URL); a SQLite store in --data-dir is this node's alone (docs/cluster.md)");
      expect(existsSync(data)).toBe(false);
    });

    it("a listen address that is not this machine's: one line naming the flag", async () => {
      const http = oneLineError(await sos(["gateway", "--data-dir", join(dir.path, "gw-host-http"), "--mqtt-port", "0", "--http-port", "0", "--http-host", "192.0.2.1"]));
      expect(http).toContain("cannot listen on 192.0.2.1 (EADDRNOTAVAIL): give --http-host an address or name of this machine");
      const mqtt = oneLineError(await sos(["gateway", "--data-dir", join(dir.path, "gw-host-mqtt"), "--mqtt-port", "0", "--http-port", "0", "--mqtt-host", "nosuchhost.invalid"]));
      expect(mqtt).toMatch(/cannot listen on nosuchhost\.invalid \((ENOTFOUND|EAI_AGAIN)\): give --mqtt-host an address or name of this machine/);
    });

    it("the cluster timings and the listen backlog are flags, checked like the rest: one line naming the setting", async () => {
      const timings = await sos(["gateway", "--data-dir", join(dir.path, "gw-timings"), "--mqtt-port", "0", "--http-port", "0", "--cluster-beat-ms", "5000", "--cluster-dead-after-ms", "6000"]);
      expect(oneLineError(timings)).toContain("--cluster-dead-after-ms [cluster.deadAfterMs]: must be at least twice beatMs (10000 ms)");
      const backlog = await sos(["gateway", "--data-dir", join(dir.path, "gw-backlog"), "--mqtt-port", "0", "--http-port", "0", "--listen-backlog", "5", "--move-grace-ms", "-1"]);
      const line = oneLineError(backlog);
      expect(line).toContain("--listen-backlog [broker.listenBacklog]: ");
      expect(line).toContain("--move-grace-ms [cluster.moveGraceMs]: ");
      // A flag in other units than its setting says so.
      const escalation = oneLineError(await sos(["gateway", "--data-dir", join(dir.path, "gw-escalate"), "--mqtt-port", "0", "--http-port", "0", "--escalate-after-s", "-10"]));
      expect(escalation).toContain("--escalate-after-s [alarms.escalateAfterMs] (given in seconds, checked in ms): ");
    });

    it("renewing certificates as early as their whole lifetime is refused with one line naming both settings", async () => {
      const run = await sos(["gateway", "--data-dir", join(dir.path, "gw-renew"), "--mqtt-port", "0", "--http-port", "0", "--renew-before-days", "825"]);
      const line = oneLineError(run);
      expect(line).toContain("--renew-before-days [security.renewBeforeDays]: must be below security.kioskCertDays (825)");
    });
  });

  describe("sos kiosk", () => {
    it("with a missing config file: one line naming the file", async () => {
      const missing = join(dir.path, "missing.json");
      const line = oneLineError(await sos(["kiosk", "--config", missing]));
      expect(line).toContain(missing);
      expect(line).toContain("does not exist");
    });

    it("with a malformed kiosk.json: one line naming the file", async () => {
      const bad = join(dir.path, "malformed", "kiosk.json");
      mkdirSync(join(dir.path, "malformed"), { recursive: true });
      writeFileSync(bad, '{\n  "version": 1,\n  "kioskId": \n}\n');
      const line = oneLineError(await sos(["kiosk", "--config", bad]));
      expect(line).toContain(bad);
      expect(line).toContain("not valid JSON");
    });

    it("with a kiosk.json that breaks the schema: one line naming the file and each bad field", async () => {
      const bad = join(dir.path, "invalid-kiosk.json");
      writeFileSync(bad, JSON.stringify({ version: 1, kioskId: "k 1", location: { lat: 123, lon: 0, address: "x" } }));
      const line = oneLineError(await sos(["kiosk", "--config", bad]));
      expect(line).toContain(bad);
      expect(line).toContain("kioskId: ");
      expect(line).toContain("location.lat: ");
      expect(line).toContain("mqtt: ");
    });
  });

  describe("sos provision", () => {
    it("with a bad kiosk id: one line, nothing written", async () => {
      const out = join(dir.path, "bad-id-out");
      const line = oneLineError(await sos(["provision", "bad id!", "--data-dir", join(dir.path, "gw-prov-bad"), "--gateway", GATEWAY_URL, "--out", out, ...location]));
      expect(line).toContain("bad id!");
      expect(existsSync(out)).toBe(false);
    });

    it("without --lat/--lon/--address: one line naming the three flags", async () => {
      const line = oneLineError(await sos(["provision", "kz-1", "--data-dir", join(dir.path, "gw-prov-loc"), "--gateway", GATEWAY_URL, "--out", join(dir.path, "loc-out")]));
      for (const flag of ["--lat", "--lon", "--address"]) expect(line).toContain(flag);
    });

    it("with a latitude that is not a number: one line naming --lat", async () => {
      const run = await sos(["provision", "kz-1", "--data-dir", join(dir.path, "gw-prov-nan"), "--gateway", GATEWAY_URL, "--out", join(dir.path, "nan-out"), "--lat", "north", "--lon", "1", "--address", "x"]);
      expect(oneLineError(run)).toContain("--lat");
    });

    it("an --out it cannot write: one line naming --out, and nothing is registered (the same id then provisions into a good folder)", async () => {
      const gw = join(dir.path, "gw-prov-out");
      const blocker = join(dir.path, "a-file");
      writeFileSync(blocker, "not a folder");
      const line = oneLineError(await sos(["provision", "kz-out-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", join(blocker, "sub"), ...location]));
      expect(line).toContain("--out");
      const good = await sos(["provision", "kz-out-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", join(dir.path, "out-good"), ...location]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toContain("provisioned kiosk kz-out-0001");
    });

    it("an empty --address (or --name): one line, since dispatch sends a patrol to that address", async () => {
      const gw = join(dir.path, "gw-prov-empty");
      const [lat, latValue, lon, lonValue] = location;
      const blank = oneLineError(await sos(["provision", "kz-empty-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", join(dir.path, "empty-out"), String(lat), String(latValue), String(lon), String(lonValue), "--address", "   "]));
      expect(blank).toContain("--address is empty");
      expect(oneLineError(await sos(["provision", "kz-empty-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", join(dir.path, "empty-out"), ...location, "--name", ""]))).toContain("--name is empty");
    });

    it("a second time for the same id fails without --force (one line mentioning --force) and succeeds with it", async () => {
      const gw = join(dir.path, "gw-prov");
      const out = join(dir.path, "prov-out");
      const first = await sos(["provision", "kz-hwy-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", out, ...location]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toBe("");
      const config = JSON.parse(readFileSync(join(out, "kiosk.json"), "utf8")) as { kioskId: string; mqtt: { password: string } };
      expect(config.kioskId).toBe("kz-hwy-0001");

      // same id, same --out: the existing kiosk.json is protected
      expect(oneLineError(await sos(["provision", "kz-hwy-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", out, ...location]))).toContain("--force");
      // same id, another --out: the registration is protected
      const other = join(dir.path, "prov-out-2");
      const again = oneLineError(await sos(["provision", "kz-hwy-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", other, ...location]));
      expect(again).toContain("--force");
      expect(again).toContain("kz-hwy-0001");
      expect(existsSync(join(other, "kiosk.json"))).toBe(false);
      expect(JSON.parse(readFileSync(join(out, "kiosk.json"), "utf8"))).toEqual(config);

      const forced = await sos(["provision", "kz-hwy-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", out, ...location, "--force"]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toBe("");
      expect(forced.stdout).toContain("re-provisioned kiosk kz-hwy-0001");
      const replaced = JSON.parse(readFileSync(join(out, "kiosk.json"), "utf8")) as { mqtt: { password: string } };
      expect(replaced.mqtt.password).not.toBe(config.mqtt.password);
    });
  });

  describe("a damaged store", () => {
    it("a gateway.db that is not a database: one line saying so and what to do, for a reading command and a writing one", async () => {
      const gw = join(dir.path, "gw-damaged");
      mkdirSync(gw, { recursive: true });
      writeFileSync(join(gw, "gateway.db"), "not a database at all, just text that is long enough to fill a header of a hundred bytes or so.");
      for (const args of [["alerts", "--data-dir", gw], ["provision", "kz-dmg-0001", "--data-dir", gw, "--gateway", GATEWAY_URL, "--out", join(dir.path, "dmg-out"), ...location]]) {
        expect(oneLineError(await sos(args))).toContain("the file is not a SQLite database, or is damaged: check --data-dir, or restore gateway.db from a backup (docs/store.md)");
      }
    });
  });

  describe("sos release sign", () => {
    it("a key that is not a PEM private key: one line saying so and how to make one", async () => {
      const key = join(dir.path, "not-a-key.pem");
      writeFileSync(key, "this is not a key");
      const archive = join(dir.path, "sos-kiosk-1.0.0-linux-arm64.tar.gz");
      writeFileSync(archive, "archive bytes");
      const line = oneLineError(await sos(["release", "sign", archive, "--key", key, "--version", "1.0.0"]));
      expect(line).toBe(`sos: the release key ${key} is not a private key in PEM (make one with 'sos release keygen')`);
    });
  });

  describe("sos enroll", () => {
    it("a gateway that does not answer: one line saying it cannot be reached and naming --gateway", async () => {
      const fingerprint = "ab".repeat(32);
      const line = oneLineError(await sos(["enroll", "--gateway", "https://127.0.0.1:1", "--token", "tok", "--id", "kz-enr-0001", ...location, "--out", join(dir.path, "enr-out"), "--ca-fingerprint", fingerprint]));
      expect(line).toContain("cannot reach the gateway at 127.0.0.1:1");
      expect(line).toContain("--gateway");
    });
  });

  describe("sos kiosk selftest", () => {
    it("refuses while the kiosk has an alarm open (one line naming the alarm and --force), and touches nothing", async () => {
      const out = join(dir.path, "selftest-out");
      const provisioned = await sos(["provision", "kz-st-0001", "--data-dir", join(dir.path, "gw-selftest"), "--gateway", GATEWAY_URL, "--out", out, ...location]);
      expect(provisioned.code, provisioned.stderr).toBe(0);
      const state = join(out, "data", "state");
      mkdirSync(state, { recursive: true });
      const openAlarm = { v: 1, alertId: "5b0c3c52-3f3e-4f7e-9a51-2f1d5f0b1a77", openedAt: new Date().toISOString() };
      writeFileSync(join(state, "open-alarm.json"), JSON.stringify(openAlarm));
      const line = oneLineError(await sos(["kiosk", "selftest", "--config", join(out, "kiosk.json")]));
      expect(line).toContain(openAlarm.alertId);
      expect(line).toContain("--force");
      expect(readFileSync(join(state, "open-alarm.json"), "utf8")).toBe(JSON.stringify(openAlarm));
    });

    it("tests the hardware of a kiosk whose kiosk.json is broken only under mqtt, and says in one note what is wrong there", async () => {
      const out = join(dir.path, "selftest-broken-mqtt");
      const provisioned = await sos(["provision", "kz-st-0002", "--data-dir", join(dir.path, "gw-selftest-2"), "--gateway", GATEWAY_URL, "--out", out, ...location]);
      expect(provisioned.code, provisioned.stderr).toBe(0);
      const path = join(out, "kiosk.json");
      const config = JSON.parse(readFileSync(path, "utf8")) as { mqtt: Record<string, unknown> };
      writeFileSync(path, JSON.stringify({ ...config, mqtt: { ...config.mqtt, url: "mqtt://:1883" } }));
      const run = await sos(["kiosk", "selftest", "--config", path, "--json"]);
      expect(run.stderr).not.toContain("    at ");
      expect(run.stderrLines).toHaveLength(1);
      expect(run.stderrLines[0]).toMatch(/^note: .*kiosk\.json is invalid: mqtt\.url.*the self-test does not use the link/);
      expect((JSON.parse(run.stdout) as { kioskId: string; results: unknown[] }).kioskId).toBe("kz-st-0002");
    });
  });

  describe("sos alerts", () => {
    const alert: Alert = {
      v: 1,
      alertId: "3f0c8a52-9b1e-4c7a-8d2f-5e6a7b8c9d0e",
      kioskId: "kz-hwy-0001",
      kind: "sos",
      pressedAt: "2025-01-02T03:04:05.000Z",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
    };
    const delivered: Alert = { ...alert, alertId: "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", kind: "test" };
    let dataDir: string;

    beforeAll(async () => {
      dataDir = join(dir.path, "gw-alerts");
      const store = SqliteStore.open(dataDir);
      try {
        await store.recordAlert(alert, new Date("2025-01-02T03:04:06.000Z"), "{}");
        await store.recordAttempt(
          { alertId: alert.alertId, attempt: 1, startedAt: "2025-01-02T03:04:06.000Z", durationMs: 12, ok: false, httpStatus: 503, error: "HTTP 503" },
          new Date("2025-01-02T03:04:07.000Z"),
        );
        await store.recordAlert(delivered, new Date("2025-01-02T03:05:00.000Z"), "{}");
        await store.recordAttempt(
          { alertId: delivered.alertId, attempt: 1, startedAt: "2025-01-02T03:05:00.000Z", durationMs: 30, ok: true, httpStatus: 200, error: null },
          null,
        );
      } finally {
        await store.close();
      }
    });

    it("--limit must be a whole number of at least 1: one line naming --limit", async () => {
      for (const bad of ["0", "-1", "1.5", "many"]) expect(oneLineError(await sos(["alerts", "--data-dir", dataDir, "--limit", bad]))).toContain("--limit");
    });

    it("--json lists each stored alert with its delivery state", async () => {
      const run = await sos(["alerts", "--data-dir", dataDir, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe("");
      const rows = JSON.parse(run.stdout) as AlertRow[];
      expect(rows.map((r) => r.alertId)).toEqual([delivered.alertId, alert.alertId]); // newest first
      expect(rows[1]).toEqual({
        alertId: alert.alertId,
        kioskId: "kz-hwy-0001",
        kind: "sos",
        pressedAt: alert.pressedAt,
        receivedAt: "2025-01-02T03:04:06.000Z",
        delivery: "pending",
        attempts: 1,
        deliveredAt: null,
        nextAttemptAt: "2025-01-02T03:04:07.000Z",
        lastError: "HTTP 503",
        pressCount: 1,
        closedAt: null,
        outcome: null,
        closedBy: null,
      });
      expect(rows[0]).toMatchObject({ kind: "test", delivery: "delivered", attempts: 1, deliveredAt: "2025-01-02T03:05:00.030Z", nextAttemptAt: null });
    });

    it("without --json prints a table with the delivery state", async () => {
      const run = await sos(["alerts", "--data-dir", dataDir]);
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^ALERT\s+KIOSK\s+KIND\s+PRESSED\s+RECEIVED\s+DELIVERY\s+ATTEMPTS\s+PRESSES\s+CLOSED\s+LAST ERROR$/);
      expect(lines.find((l) => l.startsWith(alert.alertId))).toContain("pending, next 2025-01-02 03:04:07Z");
      expect(lines.find((l) => l.startsWith(delivered.alertId))).toContain("delivered 2025-01-02 03:05:00Z");
    });

    it("--attempts ID --json lists every attempt of one alert", async () => {
      const run = await sos(["alerts", "--data-dir", dataDir, "--attempts", alert.alertId, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      const parsed = JSON.parse(run.stdout) as { alert: AlertRow; attempts: { attempt: number; ok: boolean; httpStatus: number | null }[] };
      expect(parsed.alert.alertId).toBe(alert.alertId);
      expect(parsed.attempts).toMatchObject([{ attempt: 1, ok: false, httpStatus: 503 }]);
    });

    it("--attempts with an unknown alert id: one line", async () => {
      expect(oneLineError(await sos(["alerts", "--data-dir", dataDir, "--attempts", "no-such-alert"]))).toContain("no-such-alert");
    });

    it("--data-dir /nonexistent: one line naming the folder and --data-dir, and creates nothing", async () => {
      const line = oneLineError(await sos(["alerts", "--data-dir", "/nonexistent"]));
      expect(line).toContain("/nonexistent");
      expect(line).toContain("--data-dir");
      expect(existsSync("/nonexistent")).toBe(false);
    });

    it("--data-dir of a folder without a gateway store: one line", async () => {
      const empty = join(dir.path, "empty");
      mkdirSync(empty, { recursive: true });
      expect(oneLineError(await sos(["alerts", "--data-dir", empty, "--json"]))).toContain("--data-dir");
      expect(existsSync(join(empty, "gateway.db"))).toBe(false);
    });
  });

  describe("--store and sos store", () => {
    it("a --store URL that is not PostgreSQL, or names no database: one line saying how to write it, before anything opens", async () => {
      const dir = tempDir();
      try {
        const mysql = oneLineError(await sos(["operator", "list", "--store", "mysql://sos:hunter2@db1/sos"]));
        expect(mysql).toMatch(/^sos: the store URL mysql:\/\/sos:\*\*\*@db1\/sos has the scheme 'mysql:', and only postgres:\/\/ or postgresql:\/\/ are stores: give postgres:\/\/USER/);
        const gateway = oneLineError(await sos(["gateway", "--data-dir", dir.path, "--store", "postgres://sos@db1", "--mqtt-port", "0", "--http-port", "0"]));
        expect(gateway).toContain("store.url: names no database: add it after the host");
        expect(existsSync(join(dir.path, "gateway.db"))).toBe(false);
      } finally {
        dir.remove();
      }
    });

    it("a store command with neither --data-dir nor --store, and sos store without its folder or URL: one line each", async () => {
      expect(oneLineError(await sos(["kiosks"]))).toBe("sos: required option '--data-dir <dir>' or '--store <url>' not specified (see 'sos kiosks --help')");
      expect(oneLineError(await sos(["store", "migrate"]))).toMatch(/^sos: required option '--store <url>' not specified: give the PostgreSQL store/);
      expect(oneLineError(await sos(["store", "copy", "--from", "/nonexistent/sos", "--to", "postgres://sos@127.0.0.1/sos"]))).toBe(
        "sos: /nonexistent/sos holds no gateway store (gateway.db): check --from, the data folder the gateway ran with",
      );
    });
  });

  describe("--help", () => {
    for (const command of [[], ["gateway"], ["kiosk"], ["provision"], ["alerts"], ["store"]]) {
      it(`sos ${[...command, "--help"].join(" ")} prints usage and exits 0`, async () => {
        const run = await sos([...command, "--help"]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toBe("");
        expect(run.stdout).toContain(`Usage: sos${command.length > 0 ? ` ${command[0]}` : ""}`);
        expect(run.stdout).toContain("--help");
      });
    }
  });

  it("an unknown command, an unknown option or a missing required option: one line", async () => {
    expect(oneLineError(await sos(["launch"]))).toBe("sos: unknown command 'launch' (see 'sos --help')");
    expect(oneLineError(await sos(["alerts", "--data-dir", "x", "--bogus"]))).toBe("sos: unknown option '--bogus' (see 'sos alerts --help')");
    expect(oneLineError(await sos(["alerts"]))).toContain("--data-dir");
    // The usage named is the command's own, subcommands included.
    expect(oneLineError(await sos(["provision", "kz-x-0001", "--gateway", GATEWAY_URL, "--out", "x", ...location]))).toBe("sos: required option '--data-dir <dir>' or '--store <url>' not specified (see 'sos provision --help')");
    expect(oneLineError(await sos(["cluster", "status", "--bogus"]))).toBe("sos: unknown option '--bogus' (see 'sos cluster status --help')");
  });
});
