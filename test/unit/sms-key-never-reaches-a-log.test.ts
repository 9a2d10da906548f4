import { expect, it } from "vitest";
import { createLogger } from "../../shared/log.js";
import { LogCapture } from "../fixtures/log-capture.js";

it("the kiosk's SMS key is redacted wherever a config or record is logged", () => {
  const logs = new LogCapture();
  const log = createLogger({ name: "redaction-test", level: "info", destination: logs });
  const key = "k".repeat(43);
  log.info({ smsKey: key, fallback: { smsKey: key, smsNumbers: ["+7701"] }, config: { fallback: { smsKey: key } } }, "config");
  expect(logs.raw.join("\n")).not.toContain(key);
  expect(logs.lines[0]?.fallback).toEqual({ smsKey: "[redacted]", smsNumbers: ["+7701"] });
});
