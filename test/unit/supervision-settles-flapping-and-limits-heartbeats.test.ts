import { afterEach, describe, expect, it, vi } from "vitest";
import { KIOSK, makeRig, type Rig } from "./supervision-rig.js";

describe("supervision: a flapping kiosk settles, offline does not wait, heartbeats are rate-limited", () => {
  const rigs: Rig[] = [];
  afterEach(async () => {
    for (const r of rigs.splice(0).reverse()) await r.close();
  });
  const rig = async (options: Parameters<typeof makeRig>[0]): Promise<Rig> => {
    const r = await makeRig(options);
    rigs.push(r);
    return r;
  };

  it("a fault list flapping at every 1 s heartbeat for 60 s makes at most one change per 30 s, and the state at each window's end is what is recorded", async () => {
    const r = await rig({ settleMs: 30_000 });
    r.connect();
    for (let i = 0; i < 60; i += 1) {
      r.beat({ intervalS: 1, faults: i % 2 === 0 ? ["button-stuck"] : [] });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    r.beat({ intervalS: 1, faults: ["button-stuck"] });
    const alive = r.states.filter((s) => s.from !== "never-seen");
    expect(alive.length).toBeLessThanOrEqual(3);
    expect(r.states[1]).toMatchObject({ from: "online", to: "degraded", components: ["button-stuck"] }); // the first change is at once
    const times = alive.map((s) => Date.parse(s.at));
    for (let i = 1; i < times.length; i += 1) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(30_000);
    expect((await r.opsEvents()).length).toBeLessThanOrEqual(4);
  });

  it("a real fault after a change is reported by the window's end; offline is never held", async () => {
    const r = await rig({ settleMs: 30_000 });
    r.connect();
    r.beat({ faults: ["button-stuck"] });
    r.beat({ faults: [] });
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded" }); // held
    await vi.advanceTimersByTimeAsync(15_000);
    r.beat({ faults: ["camera"] });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "degraded", components: ["camera"] });
    r.beat({ faults: [] });
    r.drop();
    expect(r.supervisor.get(KIOSK)).toMatchObject({ state: "offline", reason: "connection-lost" });
  });

  it("heartbeats past maxHeartbeatsPerMinute are dropped unread, counted, and logged once a minute", async () => {
    const r = await rig({ maxHeartbeatsPerMinute: 60 });
    const seen: boolean[] = [];
    r.bus.on("kiosk.heartbeat", "test", (e) => seen.push(e.dropped === true));
    r.connect();
    for (let i = 0; i < 500; i += 1) r.beat({ faults: i % 2 === 0 ? ["x"] : [] });
    expect(seen.filter((d) => !d)).toHaveLength(10); // the burst
    expect(seen.filter((d) => d)).toHaveLength(490);
    expect(r.logs.lines.filter((l) => l.msg.startsWith("kiosk sends heartbeats too fast"))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    r.beat();
    expect(seen.at(-1)).toBe(false);
  });
});
