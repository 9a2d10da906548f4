import { describe, expect, it } from "vitest";
import { createLogger } from "../../shared/log.js";
import { LogCapture } from "../fixtures/log-capture.js";

const PASSWORD = "pw-7f3a9c1e5b";
const SECRET = "sec-2d8e6f0a4c";
const TOKEN = "tok-9b1d3f5a7c";
const SIGNATURE = "sha256=0123456789abcdef";
const AUTHORIZATION = "Bearer auth-4e6a8c0b2d";
const PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----pk-1a2b3c";
const SDP = "v=0 a=ice-pwd:sdp-5c7e9a1b3d";
const ALL = [PASSWORD, SECRET, TOKEN, SIGNATURE, AUTHORIZATION, PRIVATE_KEY, SDP];

function capture(): { logs: LogCapture; log: ReturnType<typeof createLogger> } {
  const logs = new LogCapture();
  return { logs, log: createLogger({ name: "redaction-test", level: "trace", destination: logs }) };
}

function expectNoSecret(logs: LogCapture): void {
  expect(logs.raw.length).toBeGreaterThan(0);
  for (const line of logs.raw) for (const value of ALL) expect(line).not.toContain(value);
}

describe("createLogger redaction", () => {
  it("never writes top-level password, secret, token, privateKey, signature or sdp values", () => {
    const { logs, log } = capture();
    log.info({ password: PASSWORD, secret: SECRET, token: TOKEN, privateKey: PRIVATE_KEY, signature: SIGNATURE, sdp: SDP }, "top level");
    expectNoSecret(logs);
    expect(logs.lines[0]).toMatchObject({ password: "[redacted]", secret: "[redacted]", token: "[redacted]", msg: "top level" });
  });

  it("never writes them nested under mqtt, and keeps the rest of the object", () => {
    const { logs, log } = capture();
    log.info({ mqtt: { url: "mqtt://gw:1883", username: "k1", password: PASSWORD, token: TOKEN } }, "mqtt");
    expectNoSecret(logs);
    expect(logs.lines[0]?.mqtt).toEqual({ url: "mqtt://gw:1883", username: "k1", password: "[redacted]", token: "[redacted]" });
  });

  it("never writes them nested under dispatch", () => {
    const { logs, log } = capture();
    log.warn({ dispatch: { url: "https://dispatch.example/incidents", secret: SECRET, token: TOKEN } }, "dispatch");
    expectNoSecret(logs);
    expect(logs.lines[0]?.dispatch).toEqual({ url: "https://dispatch.example/incidents", secret: "[redacted]", token: "[redacted]" });
  });

  it("never writes them nested under headers, including authorization and x-sos-signature", () => {
    const { logs, log } = capture();
    log.error({ headers: { authorization: AUTHORIZATION, "x-sos-signature": SIGNATURE, token: TOKEN, "content-type": "application/json" } }, "headers");
    expectNoSecret(logs);
    expect(logs.lines[0]?.headers).toEqual({ authorization: "[redacted]", "x-sos-signature": "[redacted]", token: "[redacted]", "content-type": "application/json" });
  });

  it("never writes them in a whole config object (config.mqtt.password, config.dispatch.secret)", () => {
    const { logs, log } = capture();
    log.info({ config: { kioskId: "k1", mqtt: { password: PASSWORD }, dispatch: { secret: SECRET } } }, "config");
    expectNoSecret(logs);
    expect(logs.lines[0]?.config).toEqual({ kioskId: "k1", mqtt: { password: "[redacted]" }, dispatch: { secret: "[redacted]" } });
  });

  it("never writes them from a child logger's bindings, or at debug and trace level", () => {
    const { logs, log } = capture();
    const child = log.child({ mqtt: { password: PASSWORD }, secret: SECRET });
    child.debug({ token: TOKEN }, "child debug");
    child.trace({ headers: { authorization: AUTHORIZATION } }, "child trace");
    expectNoSecret(logs);
    expect(logs.lines).toHaveLength(2);
  });

  it("leaves the object the caller logged untouched", () => {
    const { log } = capture();
    const entry = { mqtt: { password: PASSWORD } };
    log.info(entry, "x");
    expect(entry.mqtt.password).toBe(PASSWORD);
  });
});
