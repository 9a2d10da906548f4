/**
 * A client reconnecting in a loop cannot flood the log with its connect and disconnect lines; every
 * other client's lines are still logged.
 */
import { describe, expect, it } from "vitest";
import { SessionLog } from "../../gateway/broker/session-log.js";
import { LogCapture } from "../fixtures/log-capture.js";

describe("session log", () => {
  it("logs a client's first lines of each kind in a window, counts the rest per client, and starts again next window", () => {
    const logs = new LogCapture();
    const sessions = new SessionLog(logs.logger("broker"), { perKey: 2, windowMs: 60_000 });
    for (let i = 0; i < 10; i += 1) {
      sessions.info("kz-loop", { kioskId: "kz-loop" }, "kiosk connected");
      sessions.info("kz-loop", { kioskId: "kz-loop" }, "kiosk disconnected");
    }
    for (let k = 0; k < 100; k += 1) sessions.info(`kz-${k}`, { kioskId: `kz-${k}` }, "kiosk connected");
    expect(logs.find("kiosk connected", (l) => l.kioskId === "kz-loop")).toHaveLength(2);
    expect(logs.find("kiosk disconnected")).toHaveLength(2);
    expect(logs.find("kiosk connected")).toHaveLength(102);
    sessions.stop();
    expect(logs.find("session lines not logged one by one")).toMatchObject([
      { level: "warn", client: "kz-loop", line: "kiosk connected", suppressed: 8, windowS: 60 },
      { level: "warn", client: "kz-loop", line: "kiosk disconnected", suppressed: 8, windowS: 60 },
    ]);
    sessions.info("kz-loop", { kioskId: "kz-loop" }, "kiosk connected");
    expect(logs.find("kiosk connected", (l) => l.kioskId === "kz-loop")).toHaveLength(3);
  });
});
