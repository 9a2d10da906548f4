/**
 * When the gateway's own event loop stalls longer than the silence timeout, the kiosks whose
 * heartbeats sat unread are not declared offline: the stall is reported (log line, bus event for the
 * metric) and each silence timer gets one more timeout; a kiosk that is truly silent goes offline then.
 * The stall is made with fake timers: the system time jumps 25 s while no timer runs, as a starved
 * process sees it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { StallDetector } from "../../gateway/supervision/stall.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { KIOSK, makeRig, type Rig } from "./supervision-rig.js";

const OTHER = "kz-sup-0002";

describe("supervision: the gateway's own stall", () => {
  let rig: Rig | undefined;
  let detector: StallDetector | undefined;
  afterEach(async () => {
    detector?.stop();
    await rig?.close();
  });

  it("a 25 s stall (silence timeout 21 s) sends no kiosk offline and is reported; the silent kiosk goes offline one timeout later", async () => {
    const stalled: GatewayEvents["gateway.stalled"][] = [];
    rig = await makeRig({ stallThresholdMs: 1_000 }, undefined, {
      stalls: (bus, logs) => {
        detector = new StallDetector({ tickMs: 500, thresholdMs: 1_000 }, { now: () => Date.now(), log: logs.logger("stall"), bus });
        bus.on("gateway.stalled", "test", (e) => stalled.push(e));
        detector.start();
        return detector;
      },
    });
    const r = rig;
    r.connect(KIOSK);
    r.connect(OTHER);
    r.beat({}, KIOSK);
    r.beat({}, OTHER);
    await vi.advanceTimersByTimeAsync(5_000);
    vi.setSystemTime(Date.now() + 25_000); // the stall: time passes, no timer runs, no heartbeat is read
    await vi.advanceTimersByTimeAsync(16_000); // the silence timers (due 21 s after the beats) run late
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    expect(r.supervisor.get(OTHER)?.state).toBe("online");
    expect(stalled.length).toBeGreaterThanOrEqual(1);
    expect(stalled[0]?.ms).toBeGreaterThan(20_000);
    expect(r.logs.lines.some((l) => l.msg.startsWith("gateway event loop stalled"))).toBe(true);

    // After the stall: KIOSK's heartbeats are read and keep coming; OTHER is truly silent.
    for (let i = 0; i < 3; i += 1) {
      r.beat({}, KIOSK);
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(r.supervisor.get(KIOSK)?.state).toBe("online");
    expect(r.supervisor.get(OTHER)).toMatchObject({ state: "offline", reason: "heartbeats-missed" });
    expect(r.states.filter((s) => s.to === "offline").map((s) => s.kioskId)).toEqual([OTHER]);
  });

  it("a socket drop during a stall is still offline at once", async () => {
    rig = await makeRig({ stallThresholdMs: 1_000 });
    rig.connect(KIOSK);
    rig.beat({}, KIOSK);
    vi.setSystemTime(Date.now() + 25_000);
    rig.drop(KIOSK);
    expect(rig.supervisor.get(KIOSK)).toMatchObject({ state: "offline", reason: "connection-lost" });
  });
});
