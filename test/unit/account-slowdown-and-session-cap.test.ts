/** The per-account login slowdown and the per-operator session cap, with a fake clock. */
import { describe, expect, it } from "vitest";
import { AccountSlowdown } from "../../gateway/operators/limiter.js";
import { SessionStore } from "../../gateway/operators/sessions.js";
import { FakeClock } from "../fixtures/fake-clock.js";

describe("AccountSlowdown", () => {
  it("is free for the first failures, then doubles up to the cap; forgets failures past the window and after a success", () => {
    const clock = new FakeClock();
    const slow = new AccountSlowdown({ freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 5_000, windowMs: 60_000 }, clock);
    expect([1, 2, 3, 4, 5, 6].map(() => slow.attempt("alice"))).toEqual([0, 0, 1_000, 2_000, 4_000, 5_000]);
    expect(slow.attempt("bob")).toBe(0);
    clock.ms += 61_000;
    expect(slow.attempt("alice")).toBe(0);
    slow.attempt("alice");
    expect(slow.attempt("alice")).toBe(1_000);
    slow.succeeded("alice");
    expect(slow.attempt("alice")).toBe(0);
  });
});

describe("SessionStore per-operator cap", () => {
  it("ends the operator's own oldest session past the cap, never another's, and tells its listeners why", () => {
    const clock = new FakeClock();
    const sessions = new SessionStore(60_000, clock, { maxPerOperator: 2 });
    const ended: [string, string][] = [];
    sessions.onEnded((records, why) => ended.push(...records.map((r): [string, string] => [r.clientId, why])));
    const alice = sessions.create("alice", "operator:alice:1");
    const bob = [1, 2, 3, 4].map((i) => sessions.create("bob", `operator:bob:${i}`));
    expect(sessions.get(alice.id)).toBeDefined();
    expect(bob.map((b) => sessions.get(b.id) !== undefined)).toEqual([false, false, true, true]);
    expect(ended).toEqual([["operator:bob:1", "evicted"], ["operator:bob:2", "evicted"]]);
    expect(sessions.isLive(alice.session.key)).toBe(true);
    sessions.delete(alice.id);
    expect(ended.at(-1)).toEqual(["operator:alice:1", "logout"]);
    expect(sessions.isLive(alice.session.key)).toBe(false);
    clock.ms += 60_000;
    expect(sessions.isLive(bob[3]?.session.key ?? "")).toBe(false);
  });
});
