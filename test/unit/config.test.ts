import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { gatewayUrls, type KioskConfigInput, loadKioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { ErrorCode } from "../../shared/errors.js";
import { sosErrorOf } from "../fixtures/sos-error.js";

const validKiosk: KioskConfigInput = {
  version: 1,
  kioskId: "kz-hwy-0001",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  mqtt: { url: "mqtt://gateway.example:1883", username: "kz-hwy-0001", password: "s3cret-password" },
};


function expectOneLine(message: string): void {
  expect(message).not.toContain("\n");
  expect(message.trim()).toBe(message);
  expect(message.length).toBeGreaterThan(0);
}

describe("parseKioskConfig", () => {
  it("reports every problem at once as `path: message` on one line, code CONFIG_INVALID", () => {
    const err = sosErrorOf(() =>
      parseKioskConfig(
        {
          version: 2,
          kioskId: "bad id",
          location: { lat: 100, lon: 0 },
          mqtt: { url: "http://gateway", username: "", password: "" },
          alerts: { ackTimeoutMs: 5 },
        },
        "kiosk.json",
      ),
    );
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expectOneLine(err.message);
    expect(err.message.startsWith("kiosk.json is invalid: ")).toBe(true);
    for (const path of ["version", "kioskId", "location.lat", "location.address", "mqtt.url", "mqtt.username", "mqtt.password", "alerts.ackTimeoutMs"]) {
      expect(err.message).toMatch(new RegExp(`(: |; )${path.replace(".", "\\.")}: \\S`));
    }
    expect(err.message.split("; ")).toHaveLength(8);
  });

  it("names the root when the input is not an object", () => {
    const err = sosErrorOf(() => parseKioskConfig(null));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain("(root): ");
    expectOneLine(err.message);
  });

  it("queues at most 50 kiosk renewals per check by default, and at least one", () => {
    expect(parseGatewayConfig({ dataDir: "/d" }).security.renewMaxPerCheck).toBe(50);
    expect(sosErrorOf(() => parseGatewayConfig({ dataDir: "/d", security: { renewMaxPerCheck: 0 } })).message).toContain("security.renewMaxPerCheck: ");
  });

  it("fills every default", () => {
    const config = parseKioskConfig(validKiosk);
    expect(config.mqtt.keepaliveSeconds).toBe(12);
    expect(config.mqtt.connectTimeoutMs).toBe(10_000);
    expect(config.mqtt.tcpConnectTimeoutMs).toBe(5_000);
    expect(config.dataDir).toBe("data");
    expect(config.button).toEqual({ driver: "stdin", enterIsPress: false });
    expect(config.alerts).toEqual({ ackTimeoutMs: 10_000, resend: { minMs: 10_000, maxMs: 30_000, factor: 2, jitter: 0.2 } });
    expect(config.reconnect).toEqual({ minMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2, urgentMaxMs: 3_000 });
    expect(config.log).toEqual({ level: "info" });
  });

  it("returns a deep-frozen result", () => {
    const config = parseKioskConfig(validKiosk);
    for (const obj of [config, config.mqtt, config.location, config.alerts, config.alerts.resend, config.reconnect, config.button, config.log]) {
      expect(Object.isFrozen(obj)).toBe(true);
    }
    expect(() => {
      (config.mqtt as { password: string }).password = "changed";
    }).toThrow(TypeError);
    expect(() => {
      (config.alerts.resend as { minMs: number }).minMs = 1;
    }).toThrow(TypeError);
  });

  it("does not freeze the caller's input", () => {
    const input = structuredClone(validKiosk);
    parseKioskConfig(input);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(input.mqtt)).toBe(false);
  });
});

describe("parseKioskConfig: several gateway nodes", () => {
  const { url: _url, ...mqttWithoutUrl } = validKiosk.mqtt;

  it("takes mqtt.urls instead of mqtt.url, in the order given", () => {
    const urls = ["mqtt://gw-a.example:1883", "mqtt://gw-b.example:1883", "mqtt://gw-c.example:1883"];
    expect(gatewayUrls(parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls } }).mqtt)).toEqual(urls);
    expect(gatewayUrls(parseKioskConfig(validKiosk).mqtt)).toEqual(["mqtt://gateway.example:1883"]);
  });

  it("refuses neither, both, a malformed node URL and a plain mqtt:// node with tls, each on one line naming the field", () => {
    const neither = sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: mqttWithoutUrl }));
    expectOneLine(neither.message);
    expect(neither.message).toContain("mqtt.url: is required: the gateway's mqtt(s)://HOST:PORT (or urls: [...] for several gateway nodes)");
    const both = sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: { ...validKiosk.mqtt, urls: ["mqtt://gw-b.example:1883"] } }));
    expect(both.message).toContain("mqtt.urls: give url (one gateway) or urls (several), not both");
    const malformed = sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls: ["mqtt://gw-a.example:1883", "http://gw-b"] } }));
    expect(malformed.message).toContain("mqtt.urls.1: 'http://gw-b' is not a gateway address (the scheme must be mqtt:// or mqtts://): use mqtt://HOST:PORT or mqtts://HOST:PORT");
    const tls = { ca: "ca.pem", cert: "kiosk.pem", key: "kiosk.key" };
    const plain = sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: { urls: ["mqtts://gw-a.example:8883", "mqtt://gw-b.example:1883"], tls } }));
    expect(plain.message).toContain("mqtt.urls.1: must be mqtts://HOST:PORT with tls");
  });
});

describe("parseKioskConfig: gateway addresses mqtt.js would misread", () => {
  const mqttWithoutUrl = { username: validKiosk.mqtt.username, password: validKiosk.mqtt.password };
  it.each([
    ["mqtt://gw.example:99999", "the port '99999' is not a number from 1 to 65535"],
    ["mqtt://gw.example:abc", "the port 'abc' is not a number from 1 to 65535"],
    ["mqtt://gw.example:0", "the port '0' is not a number from 1 to 65535"],
    ["mqtt://:1883", "the host is missing"],
    ["mqtt://user:pw@gw.example:1883", "it must not carry a user or password"],
    ["mqtt://gw.example:1883?x=1", "it must not have a query or a fragment"],
    ["mqtt://gw.example:1883#f", "it must not have a query or a fragment"],
    ["mqtt://gw.example:1883/", "it must not have a path"],
  ])("refuses %s on one line: %s", (url, problem) => {
    const err = sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls: ["mqtt://gw-a.example:1883", url] } }));
    expectOneLine(err.message);
    expect(err.message).toContain(`mqtt.urls.1: '${url}' is not a gateway address (${problem}`);
  });

  it("takes a host without a port (1883 / 8883) and an IPv6 literal", () => {
    const urls = ["mqtt://gw.example", "mqtt://[::1]:1883"];
    expect(parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls } }).mqtt.urls).toEqual(urls);
  });

  it("says what urls must be when it is not a list, none, or more than 8, on one line each", () => {
    const message = (urls: unknown): string => sosErrorOf(() => parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls } })).message;
    expect(message("mqtt://gw.example:1883")).toMatch(/mqtt\.urls: must be a list of gateway addresses: \["mqtt:\/\/HOST:PORT", …\]$/);
    expect(message([])).toContain("mqtt.urls: lists no gateway: give at least one mqtt(s)://HOST:PORT");
    expect(message(Array.from({ length: 9 }, (_, i) => `mqtt://gw-${i}.example:1883`))).toContain("mqtt.urls: lists more than 8 gateway nodes: give at most 8");
  });

  it("a node listed twice (a hand-edited file) is tried once", () => {
    const config = parseKioskConfig({ ...validKiosk, mqtt: { ...mqttWithoutUrl, urls: ["mqtt://gw-a.example:1883", "mqtt://gw-b.example:1883", "mqtt://gw-a.example:1883"] } });
    expect(gatewayUrls(config.mqtt)).toEqual(["mqtt://gw-a.example:1883", "mqtt://gw-b.example:1883"]);
  });
});

describe("parseKioskConfig: health", () => {
  it("defaults: heartbeat every 10 s, self-test at 03:30 local (a dark camera checked again at 12:30), a test alarm every 24 h + up to 2 h", () => {
    const { health } = parseKioskConfig(validKiosk);
    expect(health).toMatchObject({ heartbeatIntervalS: 10, testAlarmEveryH: 24, testAlarmJitterH: 2 });
    expect(health.selfTest).toMatchObject({ enabled: true, at: "03:30", daylightAt: "12:30", retryAfterMin: 10 });
    expect(health.selfTest.camera).toEqual({ blackLumaMax: 24, frozenDiffMax: 0.1, settleFrames: 5, timeoutMs: 15_000 });
    expect(health.selfTest.audio).toEqual({ volumes: [30, 60, 100], minSnrDb: 10, minLevelDbfs: -50, toneMs: 1_500, recorder: "ffmpeg", timeoutMs: 10_000 });
  });

  it("keeps the test alarm within EN 81-28's 72 h and the time of day well formed, all reported at once", () => {
    const err = sosErrorOf(() => parseKioskConfig({ ...validKiosk, health: { testAlarmEveryH: 71, testAlarmJitterH: 2, selfTest: { at: "3:30" } } }));
    expect(err.message).toContain("health.selfTest.at: must be HH:MM (24 h)");
    expect(sosErrorOf(() => parseKioskConfig({ ...validKiosk, health: { testAlarmEveryH: 71, testAlarmJitterH: 2 } })).message).toContain("health.testAlarmJitterH: testAlarmEveryH + testAlarmJitterH must not exceed 72 (EN 81-28)");
    expect(sosErrorOf(() => parseKioskConfig({ ...validKiosk, health: { testAlarmEveryH: 73 } })).message).toContain("health.testAlarmEveryH");
    expect(parseKioskConfig({ ...validKiosk, health: { testAlarmEveryH: 70, testAlarmJitterH: 2, selfTest: { at: "23:59" } } }).health.selfTest.at).toBe("23:59");
  });

  it("the daylight camera re-check time is HH:MM (24 h) like the self-test's", () => {
    expect(sosErrorOf(() => parseKioskConfig({ ...validKiosk, health: { selfTest: { daylightAt: "12h30" } } })).message).toContain("health.selfTest.daylightAt: must be HH:MM (24 h)");
    expect(sosErrorOf(() => parseKioskConfig({ ...validKiosk, health: { selfTest: { daylightAt: "24:00" } } })).message).toContain("health.selfTest.daylightAt");
    expect(parseKioskConfig({ ...validKiosk, health: { selfTest: { daylightAt: "14:05" } } }).health.selfTest.daylightAt).toBe("14:05");
  });
});

describe("parseGatewayConfig", () => {
  it("reports every problem at once as `path: message` on one line, code CONFIG_INVALID", () => {
    const err = sosErrorOf(() =>
      parseGatewayConfig({ dataDir: "", mqtt: { port: 70_000 }, http: { port: -1 }, dispatch: { concurrency: 0 }, log: { level: "loud" } }, "gateway configuration"),
    );
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expectOneLine(err.message);
    expect(err.message.startsWith("gateway configuration is invalid: ")).toBe(true);
    for (const path of ["dataDir", "mqtt.port", "http.port", "dispatch.concurrency", "log.level"]) {
      expect(err.message).toMatch(new RegExp(`(: |; )${path.replace(".", "\\.")}: \\S`));
    }
    expect(err.message.split("; ")).toHaveLength(5);
  });

  it("a dispatch url without a secret is an error naming dispatch.secret", () => {
    const err = sosErrorOf(() => parseGatewayConfig({ dataDir: "/var/lib/sos", dispatch: { url: "https://dispatch.example/incidents" } }));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expectOneLine(err.message);
    expect(err.message).toContain("dispatch.secret: ");
  });

  it("reports the missing secret together with other problems", () => {
    const err = sosErrorOf(() => parseGatewayConfig({ dataDir: "", dispatch: { url: "https://dispatch.example/incidents" } }));
    expect(err.message).toContain("dataDir: ");
    expect(err.message).toContain("dispatch.secret: ");
  });

  it("accepts a dispatch url with a long enough secret", () => {
    const config = parseGatewayConfig({ dataDir: "/d", dispatch: { url: "https://dispatch.example/incidents", secret: "0123456789abcdef" } });
    expect(config.dispatch.url).toBe("https://dispatch.example/incidents");
  });

  it("refuses a retry maxMs below minMs", () => {
    const err = sosErrorOf(() => parseGatewayConfig({ dataDir: "/d", dispatch: { retry: { minMs: 1_000, maxMs: 500 } } }));
    expect(err.message).toContain("dispatch.retry.maxMs: ");
  });

  it("renews the server certificate 60 days before it expires by default, and refuses a window of its whole 825-day lifetime", () => {
    expect(parseGatewayConfig({ dataDir: "/d" }).security.serverRenewBeforeDays).toBe(60);
    expect(parseGatewayConfig({ dataDir: "/d", security: { serverRenewBeforeDays: 824 } }).security.serverRenewBeforeDays).toBe(824);
    expect(sosErrorOf(() => parseGatewayConfig({ dataDir: "/d", security: { serverRenewBeforeDays: 825 } })).message).toContain("security.serverRenewBeforeDays: ");
  });

  it("fills every default", () => {
    const config = parseGatewayConfig({ dataDir: "/var/lib/sos" });
    expect(config).toMatchObject({
      version: 1,
      dataDir: "/var/lib/sos",
      mqtt: { host: "0.0.0.0", port: 1883 },
      http: { host: "127.0.0.1", port: 8080 },
      broker: { id: "sos-gateway", drainTimeoutMs: 20_000, maxTopicLevels: 8 },
      alerts: { maxPayloadBytes: 16_384 },
      dispatch: { agency: "sos.gateway", format: "flat", timeoutMs: 5_000, concurrency: 8, retry: { minMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 } },
      shutdown: { graceMs: 5_000 },
      log: { level: "info" },
    });
  });

  it("fills nested defaults inside a partly given section", () => {
    const config = parseGatewayConfig({ dataDir: "/d", mqtt: { port: 0 }, dispatch: { retry: { minMs: 50 } } });
    expect(config.mqtt).toEqual({ host: "0.0.0.0", port: 0 });
    expect(config.dispatch.retry).toEqual({ minMs: 50, maxMs: 300_000, factor: 2, jitter: 0.2 });
  });

  it("returns a deep-frozen result", () => {
    const config = parseGatewayConfig({ dataDir: "/d" });
    for (const obj of [config, config.mqtt, config.http, config.broker, config.dispatch, config.dispatch.retry, config.shutdown, config.log]) {
      expect(Object.isFrozen(obj)).toBe(true);
    }
    expect(() => {
      (config.dispatch.retry as { maxMs: number }).maxMs = 1;
    }).toThrow(TypeError);
  });
});

describe("loadKioskConfig", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-config-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("a missing file is a one-line CONFIG_MISSING error naming the path", () => {
    const path = join(dir, "missing.json");
    const err = sosErrorOf(() => loadKioskConfig(path));
    expect(err.code).toBe(ErrorCode.ConfigMissing);
    expectOneLine(err.message);
    expect(err.message).toContain(path);
  });

  it("a file that is not JSON is a one-line CONFIG_INVALID error naming the path", () => {
    const path = join(dir, "kiosk.json");
    writeFileSync(path, '{ "version": 1,\n  "kioskId": \n}\n');
    const err = sosErrorOf(() => loadKioskConfig(path));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expectOneLine(err.message);
    expect(err.message).toContain(path);
    expect(err.message).toContain("not valid JSON");
  });

  it("a JSON file that breaks the schema is a one-line CONFIG_INVALID error naming the path and the fields", () => {
    const path = join(dir, "kiosk.json");
    writeFileSync(path, JSON.stringify({ ...validKiosk, kioskId: "", mqtt: { ...validKiosk.mqtt, password: "" } }));
    const err = sosErrorOf(() => loadKioskConfig(path));
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expectOneLine(err.message);
    expect(err.message).toContain(path);
    expect(err.message).toContain("kioskId: ");
    expect(err.message).toContain("mqtt.password: ");
  });

  it("resolves a relative dataDir against the file's folder, unless overridden", () => {
    const path = join(dir, "kiosk.json");
    writeFileSync(path, JSON.stringify({ ...validKiosk, dataDir: "state" }));
    expect(loadKioskConfig(path).dataDir).toBe(join(dir, "state"));
    expect(loadKioskConfig(path, { dataDir: "/elsewhere" }).dataDir).toBe("/elsewhere");
    expect(Object.isFrozen(loadKioskConfig(path).mqtt)).toBe(true);
  });
});
