import { describe, expect, it } from "vitest";
import { EventBus } from "../../shared/events.js";
import { LogCapture } from "../fixtures/log-capture.js";

interface TestEvents {
  ping: { n: number };
  other: { s: string };
}

function bus(): { logs: LogCapture; events: EventBus<TestEvents> } {
  const logs = new LogCapture();
  return { logs, events: new EventBus<TestEvents>(logs.logger("bus")) };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("EventBus", () => {
  it("delivers a payload to every listener of the event, in the order they subscribed", () => {
    const { events } = bus();
    const seen: string[] = [];
    events.on("ping", "a", (p) => seen.push(`a${p.n}`));
    events.on("ping", "b", (p) => seen.push(`b${p.n}`));
    events.on("other", "c", () => seen.push("c"));
    events.emit("ping", { n: 1 });
    expect(seen).toEqual(["a1", "b1"]);
  });

  it("a throwing listener is logged with its name and event, and the others still run", () => {
    const { logs, events } = bus();
    const seen: string[] = [];
    events.on("ping", "first", () => seen.push("first"));
    events.on("ping", "broken", () => {
      throw new Error("listener exploded");
    });
    events.on("ping", "last", () => seen.push("last"));
    expect(() => events.emit("ping", { n: 1 })).not.toThrow();
    expect(seen).toEqual(["first", "last"]);
    const logged = logs.find("event listener failed");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", listener: "broken", event: "ping" });
    expect(JSON.stringify(logged[0]?.err)).toContain("listener exploded");
  });

  it("a rejecting listener is logged with its name and event, and the others still run", async () => {
    const { logs, events } = bus();
    const seen: string[] = [];
    events.on("ping", "async-broken", async () => {
      await Promise.resolve();
      throw new Error("async listener exploded");
    });
    events.on("ping", "after", () => seen.push("after"));
    events.emit("ping", { n: 1 });
    expect(seen).toEqual(["after"]);
    await flush();
    const logged = logs.find("event listener failed");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: "error", listener: "async-broken", event: "ping" });
    expect(JSON.stringify(logged[0]?.err)).toContain("async listener exploded");
  });

  it("a failing listener does not stop later emits reaching it or the others", () => {
    const { logs, events } = bus();
    let calls = 0;
    events.on("ping", "flaky", () => {
      calls += 1;
      throw new Error("again");
    });
    events.emit("ping", { n: 1 });
    events.emit("ping", { n: 2 });
    expect(calls).toBe(2);
    expect(logs.find("event listener failed")).toHaveLength(2);
  });

  it("the function returned by on() unsubscribes only that listener", () => {
    const { events } = bus();
    const seen: string[] = [];
    const off = events.on("ping", "a", () => seen.push("a"));
    events.on("ping", "b", () => seen.push("b"));
    off();
    events.emit("ping", { n: 1 });
    expect(seen).toEqual(["b"]);
  });

  it("emitting an event nobody listens to is fine", () => {
    const { logs, events } = bus();
    events.emit("other", { s: "x" });
    expect(logs.lines).toEqual([]);
  });
});
