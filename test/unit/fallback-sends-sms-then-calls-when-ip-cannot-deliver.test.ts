import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KioskEvents } from "../../device/events.js";
import { FaultMonitor } from "../../device/health/faults.js";
import { Outbox } from "../../device/link/outbox.js";
import { BACKUP_PATH_FAULT, type FallbackHandle, SMS_TEST_FAULT, startFallback } from "../../device/fallback/start-fallback.js";
import { systemClock } from "../../shared/clock.js";
import { type KioskConfig, type KioskConfigInput, parseKioskConfig } from "../../shared/config/kiosk.js";
import type { Alert } from "../../shared/contract.js";
import { EventBus } from "../../shared/events.js";
import { ModemError, ModemErrorCode } from "../../shared/modem/modem.js";
import { decodeSmsAlert, encodeSmsAck } from "../../shared/sms-alert.js";
import { FakeModem } from "../fixtures/fake-modem.js";
import { RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture } from "../fixtures/log-capture.js";

const KEY = randomBytes(32);
const CENTRE = ["+77010000100", "+77010000200"];
const VOICE = "+77172000112";

describe("the kiosk's second path (SMS, then a voice call)", () => {
  let dataDir: string;
  let logs: LogCapture;
  let bus: EventBus<KioskEvents>;
  let outbox: Outbox;
  let modem: FakeModem;
  let player: RecordingPlayer;
  let faults: FaultMonitor;
  let handle: FallbackHandle | undefined;
  let acked: string[];

  const config = (fallback: KioskConfigInput["fallback"] = {}): KioskConfig =>
    parseKioskConfig({
      version: 1,
      kioskId: "kz-hwy-0001",
      location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
      mqtt: { url: "mqtt://gateway.example:1883", username: "kz-hwy-0001", password: "s3cret-password" },
      dataDir,
      modem: { driver: "at", path: "/dev/ttyUSB2" },
      fallback: { smsNumbers: CENTRE, voiceNumber: VOICE, smsKey: KEY.toString("base64url"), smsRetry: { minMs: 100, maxMs: 100, factor: 1, jitter: 0 }, ...fallback },
    });

  const start = async (fallback: KioskConfigInput["fallback"] = {}, pending: Alert[] = []): Promise<FallbackHandle> => {
    const h = await startFallback(config(fallback), { modem, outbox, bus, clock: systemClock, log: logs.logger("kiosk"), player, faults, pending, busy: () => null, random: () => 0.5 });
    if (h === undefined) throw new Error("fallback not started");
    handle = h;
    return h;
  };

  const raise = (kind: Alert["kind"] = "sos"): Alert => {
    const alert: Alert = { v: 1, alertId: randomUUID(), kioskId: "kz-hwy-0001", kind, pressedAt: new Date().toISOString(), location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" } };
    outbox.append(alert);
    bus.emit("alert.recorded", { alert, durable: true, recordMs: 1 });
    return alert;
  };

  const decode = (text: string) => decodeSmsAlert(text, () => ({ key: KEY, lastCounter: 0 }));

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-12-05T17:00:00Z") });
    dataDir = mkdtempSync(join(tmpdir(), "sos-fallback-"));
    logs = new LogCapture();
    bus = new EventBus<KioskEvents>(logs.logger("bus"));
    outbox = new Outbox(dataDir, logs.logger("outbox"));
    outbox.open();
    modem = new FakeModem();
    player = new RecordingPlayer();
    faults = new FaultMonitor(bus, 120_000);
    acked = [];
    bus.on("fallback.acked", "test", (e) => acked.push(e.alertId));
  });

  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    faults.stop();
    vi.useRealTimers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("an SOS alert unacknowledged for 15 s with the link down goes by SMS to the first number, then the centre is rung", async () => {
    await start();
    const alert = raise();
    await vi.advanceTimersByTimeAsync(14_999);
    expect(modem.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(modem.sent.map((s) => s.to)).toEqual([CENTRE[0]]);
    const decoded = decode(modem.sent[0]?.text ?? "");
    expect(decoded).toMatchObject({ ok: true, value: { kind: "sos", kioskId: "kz-hwy-0001", alertId: alert.alertId, counter: 1 } });
    expect(player.played).toContain("alarm-sent");
    expect(modem.dialled).toEqual([VOICE]);
  });

  it("the IP path is left alone while the link is up, and an IP ack settles the alarm", async () => {
    await start();
    bus.emit("link.up", {});
    const first = raise();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(modem.sent).toEqual([]);
    outbox.remove(first.alertId);
    bus.emit("alert.acked", { alertId: first.alertId, receivedAt: new Date().toISOString(), duplicate: false, latencyMs: 1 });
    bus.emit("link.down", { reason: "cut" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(modem.sent).toEqual([]);
    expect(handle?.policy.watching).toEqual([]);
  });

  it("a link found dead late (at its keepalive) sends an alert already past its wait at once", async () => {
    await start();
    bus.emit("link.up", {});
    raise();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(modem.sent).toEqual([]);
    bus.emit("link.down", { reason: "keepalive timeout" });
    await vi.advanceTimersByTimeAsync(0);
    expect(modem.sent.map((s) => s.to)).toEqual([CENTRE[0]]);
  });

  it("test alarms never go by SMS", async () => {
    await start();
    raise("test");
    await vi.advanceTimersByTimeAsync(120_000);
    expect(modem.sent).toEqual([]);
  });

  it("a number that keeps failing is given up after its tries and the next one is used, with a new counter", async () => {
    await start({ smsAttempts: 2 });
    modem.failures.push(new ModemError(ModemErrorCode.Cms, "+CMS ERROR 500", 500), new ModemError(ModemErrorCode.NotRegistered, "searching"));
    raise();
    await vi.advanceTimersByTimeAsync(15_000 + 1_000);
    expect(modem.sent.map((s) => s.to)).toEqual([CENTRE[1]]);
    expect(decode(modem.sent[0]?.text ?? "")).toMatchObject({ ok: true, value: { counter: 2 } });
  });

  it("an SMS ack settles the alarm: no further SMS, and a forged ack is ignored", async () => {
    await start({ smsAckTimeoutMs: 30_000 });
    const alert = raise();
    await vi.advanceTimersByTimeAsync(15_000);
    modem.deliver(CENTRE[0] ?? "", encodeSmsAck(alert.alertId, randomBytes(32)));
    expect(acked).toEqual([]);
    modem.deliver(CENTRE[0] ?? "", encodeSmsAck(alert.alertId, KEY));
    expect(acked).toEqual([alert.alertId]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(modem.sent).toHaveLength(1);
    expect(logs.find("SMS acknowledgement refused")).toHaveLength(1);
  });

  it("without an SMS ack the next number is sent to, within the hourly budget", async () => {
    await start({ smsAckTimeoutMs: 10_000, smsPerHour: 3 });
    raise();
    await vi.advanceTimersByTimeAsync(15_000 + 10_000 * 5);
    expect(modem.sent.map((s) => s.to)).toEqual([CENTRE[0], CENTRE[1], CENTRE[0]]);
    expect(logs.find("SMS budget for this hour spent: the alarm waits for the IP link or the next hour").length).toBeGreaterThan(0);
    expect(handle?.report()).toMatchObject({ smsLastHour: 3, smsPerHour: 3 });
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(modem.sent.length).toBeGreaterThan(3);
  });

  it("an alert left in the outbox by a previous run is watched too, and the counter survives a restart", async () => {
    const left = raise();
    await start({}, [left]);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(modem.sent).toHaveLength(1);
    await handle?.stop();
    await start({}, [raise()]);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(decode(modem.sent[1]?.text ?? "")).toMatchObject({ ok: true, value: { counter: 2 } });
  });

  it("the weekly SMS path test passes on the centre's SMS ack and fails without it, reported as the sms-test fault", async () => {
    modem.onSent = (_to, text) => {
      const d = decode(text);
      if (d.ok && d.value.kind === "test" && modem.sent.length === 1) queueMicrotask(() => modem.deliver(CENTRE[0] ?? "", encodeSmsAck(d.value.alertId, KEY)));
    };
    const h = await start({ smsTest: { everyH: 168, jitterH: 12, ackTimeoutMs: 60_000 } });
    expect(faults.all).not.toContain(SMS_TEST_FAULT);
    await vi.advanceTimersByTimeAsync((168 + 6) * 3_600_000);
    expect(modem.sent).toHaveLength(1);
    expect(decode(modem.sent[0]?.text ?? "")).toMatchObject({ ok: true, value: { kind: "test" } });
    expect(h.report()).toMatchObject({ lastTestOk: true });
    expect(faults.all).not.toContain(SMS_TEST_FAULT);
    await vi.advanceTimersByTimeAsync((168 + 6) * 3_600_000 + 60_000);
    expect(modem.sent).toHaveLength(2);
    expect(h.report()).toMatchObject({ lastTestOk: false });
    expect(faults.all).toContain(SMS_TEST_FAULT);
  });

  it("a missing modem, no SIM or no registration is a broken backup path, reported in the heartbeat's terms", async () => {
    const h = await start();
    expect(h.report()).toMatchObject({ present: true, registration: "home", sim: "ready", signalDbm: -73 });
    expect(faults.all).not.toContain(BACKUP_PATH_FAULT);
    modem.present = false;
    await h.refresh();
    expect(h.report()).toMatchObject({ present: false });
    expect(faults.all).toContain(BACKUP_PATH_FAULT);
    modem.present = true;
    modem.health = { ...modem.health, sim: "absent" };
    await h.refresh();
    expect(faults.all).toContain(BACKUP_PATH_FAULT);
    modem.health = { ...modem.health, sim: "ready", registration: "denied" };
    await h.refresh();
    expect(faults.all).toContain(BACKUP_PATH_FAULT);
    modem.health = { ...modem.health, registration: "roaming" };
    await h.refresh();
    expect(faults.all).not.toContain(BACKUP_PATH_FAULT);
  });
});
