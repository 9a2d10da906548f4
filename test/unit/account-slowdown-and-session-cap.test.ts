/** The per-account login slowdown and the per-operator session cap, with a fake clock. */
import { describe, expect, it } from "vitest";
import { AccountSlowdown } from "../../gateway/operators/limiter.js";
import { SessionStore } from "../../gateway/operators/sessions.js";
import { FakeClock } from "../fixtures/fake-clock.js";

describe("AccountSlowdown", () => {
  it("is free for the first failures, then doubles up to the cap; forgets failures past the window and after a success", () => {
    const clock = new FakeClock();
    const slow = new AccountSlowdown({ freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 5_000, windowMs: 60_000 }, clock);
    // One after another (each attempt's wait over before the next comes).
    const waits = [1, 2, 3, 4, 5, 6].map(() => {
      const verdict = slow.attempt("alice");
      if ("waitMs" in verdict) clock.ms += verdict.waitMs;
      return verdict;
    });
    expect(waits).toEqual([0, 0, 1_000, 2_000, 4_000, 5_000].map((waitMs) => ({ waitMs })));
    expect(slow.attempt("bob")).toEqual({ waitMs: 0 });
    clock.ms += 61_000;
    expect(slow.attempt("alice")).toEqual({ waitMs: 0 });
    slow.attempt("alice");
    expect(slow.attempt("alice")).toEqual({ waitMs: 1_000 });
    slow.succeeded("alice");
    expect(slow.attempt("alice")).toEqual({ waitMs: 0 });
  });

  it("checks slowed attempts one after another: one that comes while another waits waits for it too, and one past the cap is refused at once, uncounted", () => {
    const clock = new FakeClock();
    const slow = new AccountSlowdown({ freeFailures: 1, baseDelayMs: 1_000, maxDelayMs: 5_000, windowMs: 60_000 }, clock);
    // Five guesses sent at once.
    const verdicts = [1, 2, 3, 4, 5].map(() => slow.attempt("alice"));
    expect(verdicts).toEqual([{ waitMs: 0 }, { waitMs: 1_000 }, { waitMs: 3_000 }, { refusedForMs: 3_000 }, { refusedForMs: 3_000 }]);
    // Once the queue has drained the account takes attempts again, at the delay its counted failures give.
    clock.ms += 3_000;
    expect(slow.attempt("alice")).toEqual({ waitMs: 4_000 });
    expect(slow.attempt("bob")).toEqual({ waitMs: 0 });
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
