/**
 * An alarm step the store could not write (a database blip, a full disk) is written again with
 * backoff, with its own time, and pushed to the pages once stored; after about ten minutes of
 * failures it is given up with an error. A real SQLite store, its recordStep failing on purpose for a
 * while (as a database outage would make it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StepWriter } from "../../gateway/alarms/step-writer.js";
import type { AlarmStep, AlarmStore } from "../../gateway/store/alarm-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { LogCapture } from "../fixtures/log-capture.js";

const ALERT = "00000000-0000-4000-8000-000000000001";

describe("alarm steps the store could not write", () => {
  let dir: string;
  let store: SqliteStore;
  let failing: number;
  let alarms: AlarmStore;
  const logs = new LogCapture();

  beforeEach(async () => {
    vi.useFakeTimers();
    dir = mkdtempSync(join(tmpdir(), "sos-steps-"));
    store = SqliteStore.open(dir);
    await store.putKiosk({ kioskId: "k-1", secretHash: "x", name: null, location: { lat: 1, lon: 2, address: "a" } }, { replace: false, now: new Date() });
    await store.recordAlert({ v: 1, alertId: ALERT, kioskId: "k-1", kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 1, lon: 2, address: "a" } }, new Date(), "{}");
    failing = 0;
    const real = store.alarms;
    alarms = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === "recordStep") {
          return (step: AlarmStep) => {
            if (failing > 0) {
              failing -= 1;
              return Promise.reject(new SosError(ErrorCode.StoreUnavailable, "the store is unreachable"));
            }
            return target.recordStep(step);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is written again once the store writes, with its own time, and pushed then", async () => {
    const pushed: string[] = [];
    const writer = new StepWriter(() => alarms, (s) => pushed.push(s.type), logs.logger("steps"));
    const at = "2026-12-05T03:00:00.000Z";
    failing = 3;
    await writer.write({ alertId: ALERT, type: "received", at, actor: "gateway", detail: {} });
    expect(await store.alarms.steps(ALERT)).toEqual([]);
    expect(writer.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000);
    expect((await store.alarms.steps(ALERT)).map((s) => [s.type, s.at])).toEqual([["received", at]]);
    expect(pushed).toEqual(["received"]);
    // A step written without `push` is stored and not pushed.
    await writer.write({ alertId: ALERT, type: "pressed", at, actor: "kiosk", detail: {} }, false);
    expect((await store.alarms.steps(ALERT)).map((s) => s.type).sort()).toEqual(["pressed", "received"]);
    expect(pushed).toEqual(["received"]);
    expect(writer.pending).toBe(0);
    expect(logs.find("could not store an alarm step: retrying")).toHaveLength(1);
    expect(logs.find("alarm step stored after a retry")).toEqual([expect.objectContaining({ attempt: 4 })]);
  });

  it("is given up with an error after about ten minutes of failures", async () => {
    const writer = new StepWriter(() => alarms, () => undefined, logs.logger("steps"));
    failing = 1_000;
    await writer.write({ alertId: ALERT, type: "acknowledged", at: new Date().toISOString(), actor: "op", detail: {} });
    await vi.advanceTimersByTimeAsync(7 * 60_000);
    expect(writer.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(writer.pending).toBe(0);
    expect(logs.find("alarm step not stored: given up (the alert itself is stored)")).toEqual([expect.objectContaining({ attempts: 25 })]);
  });
});
