/**
 * The latest heartbeats go to the store every flush (supervision/writer.ts), but a kiosk's report,
 * whose readings (temperature, load, signal, uptimes, seq) change at every beat, is written again only
 * when what it says changes (faults, self-tests, versions, the open alarm…) or once REPORT_EVERY_MS
 * has passed; the row's time is written at every flush. A real SQLite store file, the real writer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { REPORT_EVERY_MS, SupervisionWriter } from "../../gateway/supervision/writer.js";
import { registered } from "../contracts/gateway-store-fixtures.js";
import { makeHeartbeat, type HeartbeatOverrides } from "../fixtures/heartbeat.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("a heartbeat's report is written when it says something new, or once a minute", () => {
  let dir: string;
  let store: SqliteStore;
  let writer: SupervisionWriter;
  const T0 = Date.parse("2026-12-06T10:00:00.000Z");

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: T0 });
    dir = mkdtempSync(join(tmpdir(), "sos-beat-reports-"));
    store = SqliteStore.open(dir);
    await registered(store, "k-1");
    writer = new SupervisionWriter(store, { flushMs: 60_000, ops: false, opsQueued: () => undefined }, new LogCapture().logger("writer"));
  });
  afterEach(async () => {
    await writer.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    vi.useRealTimers();
  });

  /** A beat at T0 + ms handed to the writer, not flushed. */
  const send = (ms: number, seq: number, overrides: HeartbeatOverrides = {}): void => {
    vi.setSystemTime(T0 + ms);
    const hb = makeHeartbeat({ seq, uptimeS: ms / 1_000, lastTestAlarmAt: new Date(T0).toISOString(), system: { cpuTempC: 40 + seq, load1: seq / 10 }, ...overrides }, new Date(T0 + ms));
    writer.heartbeat({ kioskId: "k-1", receivedAt: new Date(T0 + ms).toISOString(), intervalS: hb.intervalS, lastTestAlarmAt: hb.lastTestAlarmAt, report: JSON.stringify(hb) }, hb);
  };
  const storedSeq = async (): Promise<number | undefined> => {
    const row = await store.health.getHealth("k-1", { reports: true });
    return row?.report === null || row?.report === undefined ? undefined : (JSON.parse(row.report) as { seq: number }).seq;
  };
  /** A beat at T0 + ms: flushed, then the stored row read back. */
  const beat = async (ms: number, seq: number, overrides: HeartbeatOverrides = {}): Promise<{ at: string | null; seq: number | undefined }> => {
    send(ms, seq, overrides);
    await writer.drain();
    const row = await store.health.getHealth("k-1", { reports: true });
    return { at: row?.lastHeartbeatAt ?? null, seq: await storedSeq() };
  };

  it("readings alone: the time moves at every flush, the report only once REPORT_EVERY_MS has passed", async () => {
    expect(await beat(0, 1)).toEqual({ at: new Date(T0).toISOString(), seq: 1 });
    expect(await beat(10_000, 2)).toEqual({ at: new Date(T0 + 10_000).toISOString(), seq: 1 });
    expect(await beat(REPORT_EVERY_MS - 1, 3)).toEqual({ at: new Date(T0 + REPORT_EVERY_MS - 1).toISOString(), seq: 1 });
    expect(await beat(REPORT_EVERY_MS, 4)).toEqual({ at: new Date(T0 + REPORT_EVERY_MS).toISOString(), seq: 4 });
    expect(await beat(REPORT_EVERY_MS + 10_000, 5)).toMatchObject({ seq: 4 });
  });

  it("a new fault, a self-test, a version or an open alarm is written at the next flush", async () => {
    await beat(0, 1);
    expect(await beat(10_000, 2, { faults: ["power"] })).toMatchObject({ seq: 2 });
    expect(await beat(20_000, 3, { faults: ["power"] })).toMatchObject({ seq: 2 });
    expect(await beat(30_000, 4, { faults: ["power"], agentVersion: "0.2.0" })).toMatchObject({ seq: 4 });
    expect(await beat(40_000, 5, { faults: ["power"], agentVersion: "0.2.0", openAlarm: { alertId: "a-1", openedAt: new Date(T0).toISOString(), received: false } })).toMatchObject({ seq: 5 });
    expect(await beat(50_000, 6, { faults: [], agentVersion: "0.2.0", openAlarm: { alertId: "a-1", openedAt: new Date(T0).toISOString(), received: true } })).toMatchObject({ seq: 6 });
  });

  /** Holds the store's heartbeat writes until `release()`; `fail` makes the held one throw. */
  const holdWrites = (): { release: (fail?: boolean) => void; held: Promise<void> } => {
    const save = store.health.saveHeartbeats.bind(store.health);
    let release!: (fail?: boolean) => void;
    let heldNow!: () => void;
    const held = new Promise<void>((r) => (heldNow = r));
    store.health.saveHeartbeats = async (rows) => {
      store.health.saveHeartbeats = save;
      heldNow();
      const fail = await new Promise<boolean | undefined>((r) => (release = r));
      if (fail === true) throw new Error("database unreachable");
      return save(rows);
    };
    return { release: (fail) => release(fail), held };
  };
  /** Flushes, and runs `during` while the flush's write is held (`fail`: that write throws). */
  const beatDuringFlush = async (during: () => void, fail = false): Promise<void> => {
    const hold = holdWrites();
    const flushing = writer.drain();
    await hold.held;
    during();
    hold.release(fail);
    await flushing;
  };

  it("a new fault said by a beat is written even when a later beat of the same flush only repeats it", async () => {
    await beat(0, 1);
    send(10_000, 2, { faults: ["power"] });
    send(15_000, 3, { faults: ["power"] });
    await writer.drain();
    expect(await storedSeq()).toBe(3);
    expect(await beat(25_000, 4, { faults: ["power"] })).toMatchObject({ seq: 3 });
  });

  it("a beat during the flush that writes its kiosk's new report is not written again when it says the same, and is when it says the old thing again", async () => {
    await beat(0, 1);
    send(10_000, 2, { faults: ["power"] });
    await beatDuringFlush(() => send(11_000, 3, { faults: ["power"] }));
    await writer.drain();
    expect(await storedSeq()).toBe(2);

    send(20_000, 4, { faults: [] });
    await beatDuringFlush(() => send(21_000, 5, { faults: ["power"] }));
    await writer.drain();
    expect(await storedSeq()).toBe(5);
  });

  it("a new report whose write failed is written with the next flush, though a newer beat that repeats it came meanwhile", async () => {
    await beat(0, 1);
    send(10_000, 2, { faults: ["power"] });
    await beatDuringFlush(() => send(11_000, 3, { faults: ["power"] }), true);
    expect(await storedSeq()).toBe(1);
    await writer.drain();
    const row = await store.health.getHealth("k-1", { reports: true });
    expect((JSON.parse(row!.report!) as { faults: string[] }).faults).toEqual(["power"]);
    expect(row?.lastHeartbeatAt).toBe(new Date(T0 + 11_000).toISOString());
  });

  it("a gateway that has not written a kiosk's report yet (it just started, or the kiosk just moved to it) writes it whole", async () => {
    await beat(0, 1);
    await writer.stop();
    writer = new SupervisionWriter(store, { flushMs: 60_000, ops: false, opsQueued: () => undefined }, new LogCapture().logger("writer"));
    expect(await beat(10_000, 2)).toMatchObject({ seq: 2 });
  });
});
