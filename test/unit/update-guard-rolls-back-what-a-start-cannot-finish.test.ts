/**
 * The update guard's decisions before each start (ExecStartPre) and on OnFailure, on a real folder:
 * a missed deadline, a missing release folder and the start-limit rollback end on the last good
 * release; a settled state with a stray `current` link is repaired; a try in time is counted.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentRelease, guardRollback, guardStart, readState, switchCurrent, type UpdateState, writeState } from "../../device/update/update-state.js";
import { tempDir } from "../integration/harness.js";

const NOW = new Date("2026-12-05T12:00:00Z");

describe("the update guard rolls back what a start cannot finish", () => {
  let dir: { path: string; remove(): void };
  let home: string;

  const trying = (over: Partial<UpdateState> = {}): UpdateState => ({
    v: 1,
    phase: "trying",
    current: "1.0.0",
    previous: null,
    target: "1.1.0",
    attempts: 1,
    bootId: "boot-a",
    deadlineAt: new Date(NOW.getTime() + 60_000).toISOString(),
    failed: null,
    reason: null,
    updatedAt: NOW.toISOString(),
    ...over,
  });

  beforeEach(() => {
    dir = tempDir();
    home = dir.path;
    for (const v of ["1.0.0", "1.1.0"]) mkdirSync(join(home, "releases", v), { recursive: true });
    mkdirSync(join(home, "update"));
    symlinkSync("releases/1.1.0", join(home, "current"));
  });
  afterEach(() => dir.remove());

  const start = (bootId = "boot-a", now = NOW): ReturnType<typeof guardStart> => guardStart(home, { bootId, maxStarts: 3, now });

  it("counts a start of the release being tried, in time, on the same boot", () => {
    writeState(home, trying());
    expect(start().action).toBe("counted");
    expect(readState(home)).toMatchObject({ phase: "trying", attempts: 2 });
    expect(currentRelease(home)).toBe("1.1.0");
  });

  it("rolls back past the deadline", () => {
    writeState(home, trying());
    const d = start("boot-a", new Date(NOW.getTime() + 61_000));
    expect(d).toMatchObject({ action: "rolled-back", reason: "the new release missed its health gate deadline" });
    expect(currentRelease(home)).toBe("1.0.0");
    expect(readState(home)).toMatchObject({ phase: "rolled-back", current: "1.0.0", failed: "1.1.0", target: null });
  });

  it("rolls back when the release folder is gone", () => {
    writeState(home, trying({ target: "1.2.0" }));
    expect(start().reason).toBe("the new release's folder is missing");
    expect(currentRelease(home)).toBe("1.0.0");
  });

  it("rolls back on OnFailure (the start limit), and does nothing when no update is tried", () => {
    writeState(home, trying());
    expect(guardRollback(home, "agent failed repeatedly", NOW).action).toBe("rolled-back");
    expect(currentRelease(home)).toBe("1.0.0");
    expect(guardRollback(home, "agent failed repeatedly", NOW).action).toBe("none");
    expect(readState(home)?.reason).toBe("agent failed repeatedly");
  });

  it("repairs a stray current link when no update is tried", () => {
    writeState(home, { ...trying(), phase: "confirmed", target: null, attempts: 0, bootId: null, deadlineAt: null });
    switchCurrent(home, "1.1.0");
    expect(start().action).toBe("repaired");
    expect(currentRelease(home)).toBe("1.0.0");
  });

  it("does nothing without a state file (a checkout)", () => {
    expect(start()).toEqual({ action: "none", state: null });
  });
});
