/**
 * A logged error says its cause once: an error whose message already quotes its cause (ours do:
 * "…unreachable: write CONNECTION_CLOSED …", { cause }) is not followed by the cause's text again,
 * while a cause the message does not mention is still appended, as pino does.
 */
import { describe, expect, it } from "vitest";
import { SosError, ErrorCode } from "../../shared/errors.js";
import { LogCapture } from "../fixtures/log-capture.js";

const errOf = (logs: LogCapture, msg: string): { message: string; stack: string } => logs.find(msg)[0]?.err as { message: string; stack: string };

describe("a logged error", () => {
  it("does not repeat a cause its own message quotes", () => {
    const logs = new LogCapture();
    const cause = new Error("write CONNECTION_CLOSED 10.0.0.5:5432");
    logs.logger("gw").error({ err: new SosError(ErrorCode.StoreUnavailable, `the PostgreSQL store 10.0.0.5:5432/sos is unreachable: ${cause.message}`, { cause }) }, "alert not stored");
    const err = errOf(logs, "alert not stored");
    expect(err.message).toBe("the PostgreSQL store 10.0.0.5:5432/sos is unreachable: write CONNECTION_CLOSED 10.0.0.5:5432");
    // The stack still shows where the cause came from.
    expect(err.stack).toContain("caused by:");
  });

  it("still names a cause its message does not mention, and the causes beyond a quoted one", () => {
    const logs = new LogCapture();
    const root = new Error("connect ECONNREFUSED 127.0.0.1:9");
    logs.logger("gw").warn({ err: new Error("fetch failed", { cause: root }) }, "dispatch attempt failed");
    expect(errOf(logs, "dispatch attempt failed").message).toBe("fetch failed: connect ECONNREFUSED 127.0.0.1:9");
    const middle = new Error("socket hang up", { cause: root });
    logs.logger("gw").warn({ err: new Error(`request failed: ${middle.message}`, { cause: middle }) }, "nested");
    expect(errOf(logs, "nested").message).toBe("request failed: socket hang up: connect ECONNREFUSED 127.0.0.1:9");
  });

  it("down the whole chain, and only a cause the message ends with (a word of it elsewhere is no quote)", () => {
    const logs = new LogCapture();
    const root = new Error("ECONNRESET");
    const middle = new Error(`write failed: ${root.message}`, { cause: root });
    logs.logger("gw").error({ err: new Error(`store unreachable: ${middle.message}`, { cause: middle }) }, "chain");
    expect(errOf(logs, "chain").message).toBe("store unreachable: write failed: ECONNRESET");
    logs.logger("gw").error({ err: new Error("request timed out after 5 s", { cause: new Error("5") }) }, "not a quote");
    expect(errOf(logs, "not a quote").message).toBe("request timed out after 5 s: 5");
    // A multi-line cause quoted as errorMessage quotes it (one line).
    const multi = new Error("line one\n  line two");
    logs.logger("gw").error({ err: new Error("failed: line one line two", { cause: multi }) }, "multi");
    expect(errOf(logs, "multi").message).toBe("failed: line one line two");
  });
});
