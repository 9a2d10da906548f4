import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Outbox } from "../../device/link/outbox.js";
import type { Alert } from "../../shared/contract.js";
import { LogCapture } from "../fixtures/log-capture.js";

let seq = 0;
function alertAt(pressedAt: string): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId: "kz-hwy-0001",
    kind: "sos",
    pressedAt,
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  };
}

describe("Outbox", () => {
  let dataDir: string;
  let outboxDir: string;
  let logs: LogCapture;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "sos-outbox-"));
    outboxDir = join(dataDir, "outbox");
    logs = new LogCapture();
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const open = (): Outbox => {
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    return outbox;
  };

  it("is durable: an appended alert is loaded by a fresh Outbox on the same dir", () => {
    const alert = alertAt("2025-01-02T03:04:05.000Z");
    const first = open();
    expect(first.append(alert)).toBe(true);
    expect(first.depth).toBe(1);
    expect(existsSync(join(outboxDir, `${alert.alertId}.alert.json`))).toBe(true);
    expect(JSON.parse(readFileSync(join(outboxDir, `${alert.alertId}.alert.json`), "utf8"))).toEqual(alert);

    const second = new Outbox(dataDir, logs.logger("outbox"));
    expect(second.open()).toEqual([alert]);
    expect(second.get(alert.alertId)).toEqual({ alert, publishes: 0 });
    expect(second.depth).toBe(1);
  });

  it("leaves no temp file behind after a successful append", () => {
    const outbox = open();
    outbox.append(alertAt("2025-01-02T03:04:05.000Z"));
    expect(readdirSync(outboxDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("remove deletes the file, so a fresh Outbox no longer loads it", () => {
    const keep = alertAt("2025-01-02T03:04:05.000Z");
    const gone = alertAt("2025-01-02T03:04:06.000Z");
    const outbox = open();
    outbox.append(keep);
    outbox.append(gone);
    expect(outbox.remove(gone.alertId)).toBe(true);
    expect(existsSync(join(outboxDir, `${gone.alertId}.alert.json`))).toBe(false);
    expect(outbox.get(gone.alertId)).toBeUndefined();
    expect(outbox.depth).toBe(1);
    expect(new Outbox(dataDir, logs.logger("outbox")).open()).toEqual([keep]);
  });

  it("remove returns false for an alert that is not in the outbox", () => {
    const outbox = open();
    const alert = alertAt("2025-01-02T03:04:05.000Z");
    outbox.append(alert);
    expect(outbox.remove(alert.alertId)).toBe(true);
    expect(outbox.remove(alert.alertId)).toBe(false);
    expect(outbox.remove("never-there")).toBe(false);
  });

  it("pending() lists alerts oldest press first, whatever the order they were appended in", () => {
    const b = alertAt("2025-01-02T03:00:02.000Z");
    const c = alertAt("2025-01-02T03:00:03.000Z");
    const a = alertAt("2025-01-02T03:00:01.000Z");
    const outbox = open();
    for (const alert of [b, c, a]) outbox.append(alert);
    expect(outbox.pending().map((x) => x.alertId)).toEqual([a, b, c].map((x) => x.alertId));
    expect(new Outbox(dataDir, logs.logger("outbox")).open().map((x) => x.alertId)).toEqual([a, b, c].map((x) => x.alertId));
  });

  it("pending() orders by the instant pressed, also for timestamps with offsets or without fractions", () => {
    const first = alertAt("2025-01-02T09:00:00+06:00"); // 03:00:00Z
    const second = alertAt("2025-01-02T03:00:05Z");
    const third = alertAt("2025-01-02T03:00:05.500Z");
    const fourth = alertAt("2025-01-02T04:00:00.000Z");
    const outbox = open();
    for (const alert of [fourth, third, second, first]) outbox.append(alert);
    expect(outbox.pending().map((x) => x.pressedAt)).toEqual([first, second, third, fourth].map((x) => x.pressedAt));
  });

  it("ignores and removes a leftover *.tmp file from an interrupted write", () => {
    mkdirSync(outboxDir, { recursive: true });
    const interrupted = alertAt("2025-01-02T03:04:05.000Z");
    const tmp = join(outboxDir, `${interrupted.alertId}.alert.json.tmp`);
    writeFileSync(tmp, JSON.stringify(interrupted).slice(0, 20));
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    expect(outbox.open()).toEqual([]);
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(join(outboxDir, "corrupt"))).toBe(false);
    expect(logs.lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("moves a file that is not JSON to outbox/corrupt and logs it", () => {
    mkdirSync(outboxDir, { recursive: true });
    const good = alertAt("2025-01-02T03:04:05.000Z");
    writeFileSync(join(outboxDir, `${good.alertId}.alert.json`), JSON.stringify(good));
    const bad = "11111111-1111-4111-8111-111111111111.alert.json";
    writeFileSync(join(outboxDir, bad), "{ this is not json");

    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    expect(outbox.open()).toEqual([good]);
    expect(existsSync(join(outboxDir, bad))).toBe(false);
    expect(readFileSync(join(outboxDir, "corrupt", bad), "utf8")).toBe("{ this is not json");
    const logged = logs.find("outbox entry unreadable: moved to outbox/corrupt for inspection");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", file: bad, code: "OUTBOX_CORRUPT" });
    expect(String(logged[0]?.reason)).not.toBe("");
  });

  it("moves a JSON file that breaks the alert schema to outbox/corrupt and logs why", () => {
    mkdirSync(outboxDir, { recursive: true });
    const bad = "22222222-2222-4222-8222-222222222222.alert.json";
    writeFileSync(join(outboxDir, bad), JSON.stringify({ ...alertAt("2025-01-02T03:04:05.000Z"), kind: "fire" }));
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    expect(outbox.open()).toEqual([]);
    expect(existsSync(join(outboxDir, "corrupt", bad))).toBe(true);
    const logged = logs.find("outbox entry unreadable: moved to outbox/corrupt for inspection");
    expect(logged).toHaveLength(1);
    expect(String(logged[0]?.reason)).toContain("kind");
    // the quarantined file is not loaded again on the next start
    expect(new Outbox(dataDir, logs.logger("outbox")).open()).toEqual([]);
    expect(existsSync(join(outboxDir, "corrupt", bad))).toBe(true);
  });

  it("append on a dir it cannot write returns false, logs it, and keeps the alert in memory", () => {
    const outbox = open();
    // Stand in for a read-only SD card: the outbox folder is gone and a plain file sits in its place
    // (permission bits would not stop a test running as root).
    rmSync(outboxDir, { recursive: true });
    writeFileSync(outboxDir, "");
    const alert = alertAt("2025-01-02T03:04:05.000Z");
    expect(outbox.append(alert)).toBe(false);
    expect(outbox.get(alert.alertId)?.alert).toEqual(alert);
    expect(outbox.pending()).toEqual([alert]);
    expect(outbox.depth).toBe(1);
    const logged = logs.find("cannot write alert to the outbox: kept in memory only, check the disk");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", alertId: alert.alertId });
  });

  it("an alert held in memory only is written to the disk by the next append that reaches it; inMemoryOnly counts it until then", () => {
    const outbox = open();
    rmSync(outboxDir, { recursive: true });
    writeFileSync(outboxDir, "");
    const held = alertAt("2025-01-02T03:04:05.000Z");
    expect(outbox.append(held)).toBe(false);
    expect(outbox.inMemoryOnly).toBe(1);
    rmSync(outboxDir);
    mkdirSync(outboxDir);
    const next = alertAt("2025-01-02T03:04:06.000Z");
    expect(outbox.append(next)).toBe(true);
    expect(outbox.inMemoryOnly).toBe(0);
    expect(readdirSync(outboxDir).sort()).toEqual([`${held.alertId}.alert.json`, `${next.alertId}.alert.json`].sort());
    expect(new Outbox(dataDir, logs.logger("outbox")).open()).toEqual([held, next]);
    expect(logs.find("alert held in memory only is now on disk")).toEqual([expect.objectContaining({ alertId: held.alertId })]);
  });

  it("opens without throwing when the outbox folder cannot be made (a file in its place): one line says what to check, and presses are held in memory", () => {
    writeFileSync(outboxDir, "not a folder");
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    expect(outbox.open()).toEqual([]);
    expect(logs.lines.filter((l) => String(l.msg).startsWith("cannot open the outbox folder: presses are held in memory only"))).toHaveLength(1);
    expect(outbox.writeProblem()).toBe("outbox: not a folder");
    const alert = alertAt("2025-01-02T03:04:05.000Z");
    expect(outbox.append(alert)).toBe(false);
    expect(outbox.pending()).toEqual([alert]);
    expect(outbox.inMemoryOnly).toBe(1);
  });

  it("a damaged entry that cannot be moved aside is left in place, logged and listed in damaged; the good entries still load", () => {
    mkdirSync(outboxDir, { recursive: true });
    writeFileSync(join(outboxDir, "corrupt"), "a file where outbox/corrupt would go");
    const good = alertAt("2025-01-02T03:04:05.000Z");
    writeFileSync(join(outboxDir, `${good.alertId}.alert.json`), JSON.stringify(good));
    const bad = "33333333-3333-4333-8333-333333333333.alert.json";
    writeFileSync(join(outboxDir, bad), "");
    const outbox = new Outbox(dataDir, logs.logger("outbox"));
    expect(outbox.open()).toEqual([good]);
    expect(outbox.damaged).toEqual([bad]);
    expect(existsSync(join(outboxDir, bad))).toBe(true);
    expect(logs.lines.filter((l) => String(l.msg).startsWith("outbox entry unreadable, and it could not be moved aside"))).toEqual([expect.objectContaining({ file: bad, code: "OUTBOX_CORRUPT" })]);
  });
});
