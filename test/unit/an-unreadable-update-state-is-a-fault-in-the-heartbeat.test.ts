/**
 * An update state the agent cannot read (root's after a 'sudo sos kiosk update', or damaged) leaves a
 * new release with no health gate and no rollback: the gate reports it as the degraded part
 * `update:state-unreadable` (in the heartbeat's faults, which are FaultMonitor.all), and its one
 * error line names the file.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FaultMonitor, UPDATE_STATE_UNREADABLE } from "../../device/health/faults.js";
import type { KioskEvents } from "../../device/events.js";
import { UpdateGate } from "../../device/update/gate.js";
import { EventBus } from "../../shared/events.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { FakeClock } from "../fixtures/fake-clock.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { tempDir } from "../integration/harness.js";

describe("an unreadable update state", () => {
  const dir = tempDir();
  afterEach(() => dir.remove());

  it("is the fault update:state-unreadable in the heartbeat, and one line naming the file", () => {
    const home = dir.path;
    mkdirSync(join(home, "update"));
    writeFileSync(join(home, "update/state.json"), "{ half a state");
    const logs = new LogCapture();
    const log = logs.logger("kiosk");
    const bus = new EventBus<KioskEvents>(log);
    const faults = new FaultMonitor(bus, 60_000);
    const gate = new UpdateGate({ home, bus, button: new FakeButton(), clock: new FakeClock(), log, restart: () => undefined });
    gate.start();
    expect(faults.all).toContain(UPDATE_STATE_UNREADABLE);
    // Degraded, not blocking: the button raises alarms as ever.
    expect(faults.current).not.toContain(UPDATE_STATE_UNREADABLE);
    const line = logs.lines.find((l) => l.fault === UPDATE_STATE_UNREADABLE);
    expect(line?.msg).toContain(join(home, "update/state.json"));
    expect(line?.msg).toContain("no rollback");
    gate.stop();
    faults.stop();
  });
});
