import { afterEach, describe, expect, it, vi } from "vitest";
import type { HeartbeatOverrides } from "../fixtures/heartbeat.js";
import { KIOSK, makeRig, type Rig, T0 } from "./supervision-rig.js";

const HOUR = 3_600_000;
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
const selfTest = (name: "camera" | "audio" | "button", result: "pass" | "fail") => ({ name, result, detail: "", at: new Date().toISOString(), durationMs: 100, measurements: {} });

describe("supervision: degraded and back", () => {
  const rigs: Rig[] = [];
  const rig = async (): Promise<Rig> => {
    const r = await makeRig();
    rigs.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of rigs.splice(0).reverse()) await r.close();
  });

  const cases: [string, () => HeartbeatOverrides, string[]][] = [
    ["a fault the kiosk reports", () => ({ faults: ["button-stuck"] }), ["button-stuck"]],
    ["a failing self-test", () => ({ selfTests: [selfTest("camera", "fail"), selfTest("audio", "pass")] }), ["selftest:camera"]],
    ["the tamper switch open", () => ({ kioskState: { tamper: "open", power: "mains" } }), ["tamper"]],
    ["running on battery (any level)", () => ({ kioskState: { tamper: "closed", power: "battery", batteryPercent: 95 } }), ["power"]],
    ["the kiosk's clock 31 s behind", () => ({ sentAt: ago(31_000) }), ["clock"]],
    ["the kiosk's clock 31 s ahead", () => ({ sentAt: new Date(Date.now() + 31_000).toISOString() }), ["clock"]],
  ];

  for (const [what, overrides, components] of cases) {
    it(`is degraded by ${what}, and online again once it clears`, async () => {
      const r = await rig();
      r.connect();
      r.beat();
      r.beat(overrides());
      expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components });
      r.beat();
      expect(r.states.map((s) => [s.from, s.to, s.reason, s.components])).toEqual([
        ["never-seen", "online", "connected", []],
        ["online", "degraded", "heartbeat", components],
        ["degraded", "online", "heartbeat", []],
      ]);
      await r.writer.drain();
      expect((await r.store.health.transitions(KIOSK, 10))[1]).toMatchObject({ to: "degraded", components });
    });
  }

  it("within the limits is online: clock 29 s off, test alarm 25 h ago, self-tests passing or not applicable", async () => {
    const r = await rig();
    r.beat({ sentAt: ago(29_000), lastTestAlarmAt: ago(25 * HOUR), selfTests: [selfTest("camera", "pass"), { ...selfTest("audio", "pass"), result: "not-applicable" }] });
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "online", components: [] });
  });

  it("a clock skew hovering at the limit does not flap: degraded above 30 s, still degraded at 20 s, online again under 15 s", async () => {
    const r = await rig();
    r.connect();
    r.beat({ sentAt: ago(31_000) });
    r.beat({ sentAt: ago(29_000) });
    r.beat({ sentAt: ago(31_000) });
    r.beat({ sentAt: ago(20_000) });
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["clock"] });
    r.beat({ sentAt: ago(14_000) });
    r.beat({ sentAt: ago(29_000) });
    expect(r.states.map((s) => [s.from, s.to, s.components])).toEqual([
      ["never-seen", "online", []],
      ["online", "degraded", ["clock"]],
      ["degraded", "online", []],
    ]);
  });

  it("lists every failing part at once, sorted, and records a change of parts while degraded as a transition", async () => {
    const r = await rig();
    r.beat({ faults: ["selftest:audio"], selfTests: [selfTest("audio", "fail")], kioskState: { tamper: "open", power: "battery", batteryPercent: 40 } });
    expect(r.supervisor.get(KIOSK)?.components).toEqual(["power", "selftest:audio", "tamper"]);
    r.beat({ kioskState: { tamper: "open", power: "mains" } });
    r.beat({ kioskState: { tamper: "open", power: "mains" } }); // the same again: no transition
    expect(r.states.map((s) => [s.from, s.to, s.components])).toEqual([
      ["never-seen", "degraded", ["power", "selftest:audio", "tamper"]],
      ["degraded", "degraded", ["tamper"]],
    ]);
    await r.writer.drain();
    // `since` is when it became degraded, not when its parts changed.
    expect(await r.store.health.getHealth(KIOSK)).toMatchObject({ state: "degraded", since: T0.toISOString(), components: ["tamper"] });
  });

  it("only a test alert the gateway stored counts: a kiosk that says it tested, while none arrived, is overdue; a stored one clears it", async () => {
    const r = await rig();
    const beat = (): void => r.beat({ lastTestAlarmAt: ago(HOUR), intervalS: 3_600 }); // "tested an hour ago", every hour
    r.connect();
    beat();
    for (let h = 0; h <= 26; h += 1) {
      await vi.advanceTimersByTimeAsync(HOUR);
      beat();
    }
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["test-alarm"] });
    r.supervisor.testAlert(KIOSK, Date.now());
    expect(r.states.at(-1)).toMatchObject({ from: "degraded", to: "online", reason: "test-alarm" });
  });

  it("a kiosk that never sent a test alarm is overdue testAlarmOverdueMs after it was first seen", async () => {
    const r = await rig();
    const beat = (): void => r.beat({ lastTestAlarmAt: null, intervalS: 3_600 }); // one an hour keeps it alive
    r.connect();
    beat();
    for (let h = 0; h < 26; h += 1) {
      await vi.advanceTimersByTimeAsync(HOUR);
      beat();
    }
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    await vi.advanceTimersByTimeAsync(1);
    beat();
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["test-alarm"] });
    expect(r.states.map((s) => s.to)).toEqual(["online", "degraded"]);
  });

  it("a heartbeat that does not match the schema keeps the kiosk reachable but degraded (heartbeat-invalid), logged once", async () => {
    const r = await rig();
    r.connect();
    r.supervisor.heartbeat(KIOSK, Buffer.from('{"v":1,"seq":"one"}'));
    r.supervisor.heartbeat(KIOSK, Buffer.from("not json"));
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["heartbeat-invalid"] });
    expect(r.logs.find("heartbeat does not match the schema: kiosk marked degraded (heartbeat-invalid)")).toHaveLength(1);
    r.beat();
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "online", components: [] });
  });

  it("an offline kiosk is offline, not degraded: its failing parts are not shown while it is unreachable", async () => {
    const r = await rig();
    r.connect();
    r.beat({ kioskState: { tamper: "open" } });
    r.drop();
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "offline", components: [] });
    r.connect(); // back: what its last heartbeat said still holds until the next one
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["tamper"] });
  });

  it("keeps the latest heartbeat of each kiosk and writes it in batches", async () => {
    const r = await rig();
    r.beat({ seq: 1 });
    r.beat({ seq: 2, faults: ["no-gateway"] });
    expect((await r.store.health.getHealth(KIOSK))?.lastHeartbeatAt).toBeNull();
    await vi.advanceTimersByTimeAsync(5_000);
    const [row] = (await r.store.health.listHealth({ reports: true })).filter((k) => k.kioskId === KIOSK);
    expect(row).toMatchObject({ lastHeartbeatAt: T0.toISOString(), intervalS: 10 });
    expect(JSON.parse(row?.report ?? "null")).toMatchObject({ seq: 2, faults: ["no-gateway"] });
  });
});
