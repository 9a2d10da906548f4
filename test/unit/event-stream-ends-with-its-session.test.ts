/** The console's event stream ends with its session: at once when the session ends, by the next keepalive when it expires. */
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EventStream } from "../../gateway/alarms/stream.js";
import { SessionStore } from "../../gateway/operators/sessions.js";
import { FakeClock } from "../fixtures/fake-clock.js";

class FakeResponse extends EventEmitter {
  ended = false;
  writableLength = 0;
  writeHead(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

describe("EventStream and sessions", () => {
  afterEach(() => vi.useRealTimers());

  it("ends a stream when its session is deleted, and an expired session's stream at the next keepalive; other streams stay", () => {
    vi.useFakeTimers();
    const clock = new FakeClock();
    const sessions = new SessionStore(60_000, clock);
    const stream = new EventStream();
    stream.endWith(sessions);
    const a = sessions.create("alice", "operator:alice:1");
    const b = sessions.create("bob", "operator:bob:1");
    const resA = new FakeResponse();
    const resB = new FakeResponse();
    stream.add(resA as unknown as ServerResponse, a.session.key);
    stream.add(resB as unknown as ServerResponse, b.session.key);
    sessions.delete(a.id);
    expect(resA.ended).toBe(true);
    expect(resB.ended).toBe(false);
    expect(stream.size).toBe(1);
    clock.ms += 60_000; // bob's session expires; nothing asks the store about it
    vi.advanceTimersByTime(20_000);
    expect(resB.ended).toBe(true);
    expect(stream.size).toBe(0);
    stream.stop();
  });
});
