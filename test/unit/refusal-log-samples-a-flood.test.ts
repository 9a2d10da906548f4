/**
 * Refused connections are logged sampled: a flood of guesses must not write a line per attempt and
 * push the lines that matter out of a rate-limited journal, but nothing goes uncounted.
 */
import { describe, expect, it } from "vitest";
import { CLIENT_ERROR, RefusalLog, SUBSCRIBE_REFUSED, TLS_HANDSHAKE_FAILED } from "../../gateway/broker/refusal-log.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("refusal log", () => {
  it("logs the first refusals per reason and address one by one, then counts the rest into one line when the window ends", () => {
    const logs = new LogCapture();
    const refusals = new RefusalLog(logs.logger("broker"), { perKey: 3, total: 100, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) refusals.refused("bad-credentials", { address: "203.0.113.7", reason: "wrong password", clientId: `kz-${i}` });
    refusals.refused("bad-credentials", { address: "198.51.100.1", reason: "wrong password" });
    refusals.refused("rate-limited", { address: "203.0.113.7", reason: "too many connections from this address" });
    expect(logs.find("connection refused").map((l) => [l.address, l.reason])).toEqual([
      ["203.0.113.7", "wrong password"],
      ["203.0.113.7", "wrong password"],
      ["203.0.113.7", "wrong password"],
      ["198.51.100.1", "wrong password"],
      ["203.0.113.7", "too many connections from this address"],
    ]);
    expect(logs.find("connection refusals not logged one by one")).toEqual([]);
    refusals.flush();
    expect(logs.find("connection refusals not logged one by one")).toMatchObject([{ level: "warn", label: "bad-credentials", address: "203.0.113.7", suppressed: 7, windowS: 60 }]);
    // A new window logs again.
    refusals.refused("bad-credentials", { address: "203.0.113.7", reason: "wrong password" });
    expect(logs.find("connection refused")).toHaveLength(6);
  });

  it("caps the lines of a window over all addresses: a flood from 10 000 addresses writes the capped lines and one summary for the rest", () => {
    const logs = new LogCapture();
    const refusals = new RefusalLog(logs.logger("broker"), { perKey: 3, total: 5, windowMs: 60_000 });
    for (let a = 0; a < 10_000; a += 1) refusals.refused("bad-credentials", { address: `2001:db8::${a.toString(16)}`, reason: "unknown kiosk" });
    expect(logs.find("connection refused")).toHaveLength(5);
    refusals.stop();
    expect(logs.find("connection refusals not logged one by one")).toMatchObject([{ label: "bad-credentials", address: "*", suppressed: 9_995 }]);
  });

  it("keeps the given message (a failed TLS handshake) and the line's fields", () => {
    const logs = new LogCapture();
    const refusals = new RefusalLog(logs.logger("broker"));
    refusals.refused("tls-handshake", { address: "192.0.2.9", listener: "mqtts", reason: "no shared cipher", code: "ERR_SSL" }, TLS_HANDSHAKE_FAILED);
    expect(logs.find("TLS handshake failed")).toMatchObject([{ address: "192.0.2.9", listener: "mqtts", reason: "no shared cipher", code: "ERR_SSL" }]);
  });

  it("samples each kind of line on its own, with its own summary, under one total per window", () => {
    const logs = new LogCapture();
    const refusals = new RefusalLog(logs.logger("broker"), { perKey: 2, total: 5, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) {
      refusals.refused("not-allowed", { address: "192.0.2.1", topic: "#" }, SUBSCRIBE_REFUSED);
      refusals.refused("client-error", { address: "192.0.2.1", err: { message: "Invalid qos" } }, CLIENT_ERROR);
    }
    expect(logs.find("subscription refused: client disconnected")).toHaveLength(2);
    expect(logs.find("client error")).toHaveLength(2);
    refusals.flush();
    expect(logs.find("subscription refusals not logged one by one")).toMatchObject([{ label: "not-allowed", address: "192.0.2.1", suppressed: 8 }]);
    expect(logs.find("client errors not logged one by one")).toMatchObject([{ label: "client-error", address: "192.0.2.1", suppressed: 8 }]);
  });

  it("clips every string a peer controls (client id, username, topic, error message) to 256 characters and says how long it was", () => {
    const logs = new LogCapture();
    const refusals = new RefusalLog(logs.logger("broker"));
    const huge = "k".repeat(65_000);
    refusals.refused("bad-credentials", { address: "192.0.2.3", clientId: huge, username: huge, reason: "unknown kiosk", port: 1883, err: { message: huge, code: 5 } });
    const [line] = logs.find("connection refused");
    const clipped = `${"k".repeat(256)}… (65000 characters)`;
    expect(line).toMatchObject({ address: "192.0.2.3", clientId: clipped, username: clipped, reason: "unknown kiosk", port: 1883, err: { message: clipped, code: 5 } });
    expect(JSON.stringify(line).length).toBeLessThan(2_000);
  });
});
