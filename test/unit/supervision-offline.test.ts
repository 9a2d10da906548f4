import { afterEach, describe, expect, it, vi } from "vitest";
import { KIOSK, makeRig, type Rig, T0 } from "./supervision-rig.js";

const pick = (rig: Rig): string[] => rig.states.map((s) => `${s.from}>${s.to}:${s.reason}`);

/** Heartbeats every 10 s for `ms`. */
async function keepBeating(r: Rig, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10_000) {
    r.beat();
    await vi.advanceTimersByTimeAsync(10_000);
  }
}

describe("supervision: online and offline", () => {
  const rigs: Rig[] = [];
  const rig = async (...args: Parameters<typeof makeRig>): Promise<Rig> => {
    const r = await makeRig(...args);
    rigs.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of rigs.splice(0).reverse()) await r.close();
  });

  it("starts never-seen and goes online at the first connection; the transition is stored with its reason", async () => {
    const r = await rig();
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "never-seen" });
    expect(r.supervisor.counts()).toMatchObject({ "never-seen": 2, online: 0 });
    r.connect();
    r.beat();
    expect(pick(r)).toEqual(["never-seen>online:connected"]);
    await r.writer.drain();
    expect(await r.store.health.transitions(KIOSK, 10)).toEqual([{ kioskId: KIOSK, from: "never-seen", to: "online", reason: "connected", components: [], at: T0.toISOString() }]);
    expect(await r.store.health.getHealth(KIOSK)).toMatchObject({ state: "online", since: T0.toISOString(), firstSeenAt: T0.toISOString() });
  });

  it("goes online on a heartbeat alone (never-seen → online, reason heartbeat)", async () => {
    const r = await rig();
    r.beat();
    expect(pick(r)).toEqual(["never-seen>online:heartbeat"]);
  });

  it("goes offline at once when the connection drops (the last will), and says so to operations", async () => {
    const r = await rig();
    r.connect();
    r.beat();
    await vi.advanceTimersByTimeAsync(3_000);
    r.drop();
    expect(pick(r)).toEqual(["never-seen>online:connected", "online>offline:connection-lost"]);
    expect(r.states[1]?.at).toBe(new Date(T0.getTime() + 3_000).toISOString());
    const events = await r.opsEvents();
    expect(events.map((e) => [e.type, e.previousState, e.state, e.reason, e.reminder])).toEqual([
      ["transition", "never-seen", "online", "connected", 0],
      ["transition", "online", "offline", "connection-lost", 0],
    ]);
    expect(events[1]).toMatchObject({ kioskId: KIOSK, kioskName: `Kiosk ${KIOSK}`, address: `km ${KIOSK}`, since: r.states[1]?.at });
  });

  it("names a deliberate stop: offline/shutdown status before the disconnect gives reason shutdown", async () => {
    const r = await rig();
    r.connect();
    r.supervisor.status(KIOSK, Buffer.from(JSON.stringify({ v: 1, state: "offline", reason: "shutdown", at: new Date().toISOString() })));
    r.drop();
    expect(pick(r).at(-1)).toBe("online>offline:shutdown");
    r.connect(); // the flag does not outlive the connection
    r.drop();
    expect(pick(r).at(-1)).toBe("online>offline:connection-lost");
  });

  it("ignores the disconnect of an old connection while the kiosk's new one is live", async () => {
    const r = await rig();
    r.connect();
    r.live.add(KIOSK); // the reconnection replaced the old socket first
    r.supervisor.disconnected(KIOSK);
    expect(pick(r)).toEqual(["never-seen>online:connected"]);
  });

  it("goes offline when missedBeats heartbeats are missing: exactly at missedBeats × intervalS + grace after the last one", async () => {
    const r = await rig();
    r.connect();
    r.beat({ intervalS: 10 });
    await vi.advanceTimersByTimeAsync(10_000);
    r.beat({ intervalS: 10 }); // re-arms the timer
    await vi.advanceTimersByTimeAsync(20_999);
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    await vi.advanceTimersByTimeAsync(1);
    expect(r.supervisor.get(KIOSK)?.state).toBe("offline");
    expect(r.states.at(-1)).toMatchObject({ from: "online", to: "offline", reason: "heartbeats-missed", at: new Date(T0.getTime() + 31_000).toISOString() });
  });

  it("follows the interval each heartbeat states, and missedBeats from the config", async () => {
    const r = await rig({ missedBeats: 3, graceMs: 500 });
    r.beat({ intervalS: 1 });
    await vi.advanceTimersByTimeAsync(3_499);
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    await vi.advanceTimersByTimeAsync(1);
    expect(r.supervisor.get(KIOSK)?.state).toBe("offline");
  });

  it("times out a connected kiosk that never sends a heartbeat, on the default interval", async () => {
    const r = await rig();
    r.connect();
    await vi.advanceTimersByTimeAsync(20_999);
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    await vi.advanceTimersByTimeAsync(1);
    expect(pick(r).at(-1)).toBe("online>offline:heartbeats-missed");
  });

  it("comes back online from offline on a heartbeat (socket kept) and on a reconnection", async () => {
    const r = await rig();
    r.connect();
    r.beat();
    await vi.advanceTimersByTimeAsync(30_000);
    r.beat();
    r.drop();
    r.connect();
    expect(pick(r)).toEqual([
      "never-seen>online:connected",
      "online>offline:heartbeats-missed",
      "offline>online:heartbeat",
      "online>offline:connection-lost",
      "offline>online:connected",
    ]);
  });

  it("reminds operations every offlineReminderMs while offline, and stops when the kiosk is back", async () => {
    const r = await rig();
    r.connect();
    r.drop();
    await vi.advanceTimersByTimeAsync(15 * 60_000 - 1);
    expect((await r.opsEvents()).filter((e) => e.type === "reminder")).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    const reminders = (await r.opsEvents()).filter((e) => e.type === "reminder");
    expect(reminders.map((e) => [e.state, e.reminder, e.reason, e.since, e.at])).toEqual([
      ["offline", 1, "connection-lost", T0.toISOString(), new Date(T0.getTime() + 15 * 60_000).toISOString()],
      ["offline", 2, "connection-lost", T0.toISOString(), new Date(T0.getTime() + 30 * 60_000).toISOString()],
    ]);
    expect(new Set(reminders.map((e) => e.eventId)).size).toBe(2);
    expect(r.logs.find("kiosk still offline")).toHaveLength(2);

    r.connect();
    await keepBeating(r, 2 * 60 * 60_000);
    const after = await r.opsEvents();
    expect(after.filter((e) => e.type === "reminder")).toHaveLength(2);
    expect(after.at(-1)).toMatchObject({ type: "transition", previousState: "offline", reason: "connected" });
    expect(r.supervisor.get(KIOSK)?.reminders).toBe(0);
  });

  it("a decommissioned kiosk is left alone: no state from its messages, no timeout, no reminders; back in service it is supervised again", async () => {
    const r = await rig();
    r.connect();
    r.beat();
    r.supervisor.setDecommissioned(KIOSK, true);
    expect(pick(r).at(-1)).toBe("online>decommissioned:decommissioned");
    r.beat({ faults: ["button-stuck"] });
    r.drop();
    r.connect();
    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);
    expect(pick(r)).toHaveLength(2);
    expect(r.supervisor.counts()).toMatchObject({ decommissioned: 1 });
    expect((await r.opsEvents()).filter((e) => e.type === "reminder")).toEqual([]);

    r.supervisor.setDecommissioned(KIOSK, false); // still connected
    expect(pick(r).at(-1)).toBe("decommissioned>online:recommissioned");
    await vi.advanceTimersByTimeAsync(21_000);
    expect(pick(r).at(-1)).toBe("online>offline:heartbeats-missed");
  });
});

describe("supervision: after a gateway restart", () => {
  const rigs: Rig[] = [];
  afterEach(async () => {
    for (const r of rigs.splice(0).reverse()) await r.close();
  });

  it("restores each stored state; a kiosk stored online that does not come back goes offline after restoreGraceMs", async () => {
    const first = await makeRig();
    rigs.push(first);
    first.connect();
    first.beat();
    const second = await first.restart();
    rigs.push(second);
    expect(second.supervisor.get(KIOSK)).toMatchObject({ state: "online" });
    expect(second.supervisor.get("kz-sup-0002")).toMatchObject({ state: "never-seen" });
    await vi.advanceTimersByTimeAsync(74_999);
    expect(second.supervisor.get(KIOSK)?.state).toBe("online");
    await vi.advanceTimersByTimeAsync(1);
    expect(pick(second)).toEqual(["online>offline:heartbeats-missed"]);
  });

  it("a kiosk that reconnects after the restart stays online with no transition", async () => {
    const first = await makeRig();
    rigs.push(first);
    first.connect();
    const second = await first.restart();
    rigs.push(second);
    await vi.advanceTimersByTimeAsync(30_000);
    second.connect();
    await keepBeating(second, 120_000);
    expect(pick(second)).toEqual([]);
  });

  it("a kiosk stored offline keeps its reminders on the same grid", async () => {
    const first = await makeRig();
    rigs.push(first);
    first.connect();
    first.drop();
    await vi.advanceTimersByTimeAsync(20 * 60_000); // reminder 1 at 15 min
    const second = await first.restart();
    rigs.push(second);
    await vi.advanceTimersByTimeAsync(10 * 60_000); // reminder 2 at 30 min
    const reminders = (await second.opsEvents()).filter((e) => e.type === "reminder");
    expect(reminders.map((e) => [e.reminder, e.at])).toEqual([
      [1, new Date(T0.getTime() + 15 * 60_000).toISOString()],
      [2, new Date(T0.getTime() + 30 * 60_000).toISOString()],
    ]);
  });

  it("a kiosk decommissioned while the gateway was down is decommissioned at start", async () => {
    const first = await makeRig();
    rigs.push(first);
    first.connect();
    await first.store.health.setDecommissioned(KIOSK, true, new Date());
    const second = await first.restart();
    rigs.push(second);
    expect(second.supervisor.get(KIOSK)?.state).toBe("decommissioned");
    expect(pick(second)).toEqual(["online>decommissioned:decommissioned"]);
  });
});
