/**
 * kiosk.json as the agent loads it (shared/config/kiosk-agent.ts): problems only under `mqtt` (the
 * network side) leave a config the button can run on, with the link off and the reason being the
 * very line loadKioskConfig would have failed with; any other problem still fails at once, on one
 * line naming every bad field.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAgentKioskConfig } from "../../shared/config/kiosk-agent.js";
import { type KioskConfigInput, loadKioskConfig } from "../../shared/config/kiosk.js";
import { ErrorCode } from "../../shared/errors.js";
import { sosErrorOf } from "../fixtures/sos-error.js";
import { tempDir } from "../integration/harness.js";

const valid = {
  version: 1,
  kioskId: "kz-mqtt-0001",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  mqtt: { url: "mqtt://gateway.example:1883", username: "kz-mqtt-0001", password: "s3cret-password" },
  dataDir: "state",
  button: { driver: "gpiod", line: 17 },
} satisfies KioskConfigInput;
const credentials = { username: valid.mqtt.username, password: valid.mqtt.password };


describe("a kiosk.json broken only under mqtt loads with the link off", () => {
  let dir: { path: string; remove(): void };
  let path: string;
  const write = (config: Record<string, unknown>): string => {
    writeFileSync(path, JSON.stringify(config));
    return path;
  };
  beforeEach(() => {
    dir = tempDir("sos-kiosk-agent-config-");
    path = join(dir.path, "kiosk.json");
  });
  afterEach(() => dir.remove());

  const broken: [string, unknown, string][] = [
    ["urls given as a string", { ...credentials, urls: "mqtt://127.0.0.1:1" }, 'mqtt.urls: must be a list of gateway addresses: ["mqtt://HOST:PORT", …]'],
    ["an empty urls list", { ...credentials, urls: [] }, "mqtt.urls: lists no gateway"],
    ["50 urls", { ...credentials, urls: Array.from({ length: 50 }, (_, i) => `mqtt://gw-${i}.example:1883`) }, "mqtt.urls: lists more than 8 gateway nodes"],
    ["a port out of range", { ...credentials, urls: ["mqtt://gw-a.example:1883", "mqtt://gw:99999"] }, "mqtt.urls.1: 'mqtt://gw:99999' is not a gateway address (the port '99999' is not a number from 1 to 65535)"],
    ["url and urls both", { ...valid.mqtt, urls: ["mqtt://gw-b.example:1883"] }, "mqtt.urls: give url (one gateway) or urls (several), not both"],
    ["no credentials", { url: "mqtt://gateway.example:1883" }, "mqtt: needs username and password, or tls"],
    ["an empty object", {}, "mqtt.url: is required"],
    ["null", null, "mqtt: must be an object"],
    ["a list", [], "mqtt: must be an object"],
    ["a string", "mqtt://gateway.example:1883", "mqtt: must be an object"],
  ];
  for (const [name, mqtt, field] of broken) {
    it(`${name}: the rest of the config, and the line loadKioskConfig fails with as the reason`, () => {
      write({ ...valid, mqtt });
      const { config, linkProblem } = loadAgentKioskConfig(path);
      const refused = sosErrorOf(() => loadKioskConfig(path));
      expect(refused.code).toBe(ErrorCode.ConfigInvalid);
      expect(linkProblem).toBe(refused.message);
      expect(linkProblem?.startsWith(`${path} is invalid: mqtt`)).toBe(true);
      expect(linkProblem).toContain(field);
      expect(linkProblem).not.toContain("\n");
      expect(config).toMatchObject({ kioskId: valid.kioskId, location: valid.location, dataDir: join(dir.path, "state"), button: { driver: "gpiod", line: 17 } });
      expect(Object.isFrozen(config)).toBe(true);
    });
  }

  it("a mqtt section missing altogether is broken only under mqtt too", () => {
    const { mqtt: _mqtt, ...withoutMqtt } = valid;
    expect(loadAgentKioskConfig(write(withoutMqtt)).linkProblem).toContain(`${path} is invalid: mqtt: must be an object`);
  });

  it("a valid file loads as loadKioskConfig loads it, with no link problem, the data dir override too", () => {
    write(valid);
    expect(loadAgentKioskConfig(path)).toEqual({ config: loadKioskConfig(path), unknownKeys: [] });
    expect(loadAgentKioskConfig(path, { dataDir: "/elsewhere" }).config.dataDir).toBe("/elsewhere");
  });

  it("names the settings it does not know (a misspelt key is otherwise ignored without a word), the link-off case too", () => {
    const misspelt = { ...valid, button: { driver: "stdin", enterIsPres: true }, colour: "red" };
    expect(loadAgentKioskConfig(write(misspelt)).unknownKeys).toEqual(["button.enterIsPres", "colour"]);
    expect(loadAgentKioskConfig(write({ ...misspelt, mqtt: { url: "not a url" } })).unknownKeys).toEqual(["button.enterIsPres", "colour"]);
  });

  it("an unreachable but valid gateway list is no problem", () => {
    expect(loadAgentKioskConfig(write({ ...valid, mqtt: { ...credentials, urls: ["mqtt://127.0.0.1:1"] } })).linkProblem).toBeUndefined();
  });

  it("a section the button does not need (audio, self-tests, lights…) that is invalid runs on its defaults and is named, instead of leaving the kiosk without a button", () => {
    const loaded = loadAgentKioskConfig(write({ ...valid, audio: { volume: 500 }, health: { selfTest: { at: "25:00" } } }));
    expect(loaded.linkProblem).toBeUndefined();
    expect(loaded.defaulted?.sections).toEqual(["audio", "health"]);
    expect(loaded.defaulted?.problem).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is invalid: audio\\.volume: .*; health\\.selfTest\\.at: `));
    expect(loaded.config.audio.volume).toBe(80);
    // With a bad mqtt section too: the link is off and the two problems are said apart.
    const both = loadAgentKioskConfig(write({ ...valid, audio: { volume: 500 }, mqtt: { ...credentials, urls: "mqtt://127.0.0.1:1" } }));
    expect(both.linkProblem).toContain("mqtt.urls: ");
    expect(both.linkProblem).not.toContain("audio");
    expect(both.defaulted?.problem).not.toContain("mqtt");
  });

  it("a modem added without the SMS fallback's centre numbers and key runs without both, named, instead of leaving the kiosk without a button", () => {
    const modem = { driver: "at", path: "/dev/ttyUSB2" };
    const loaded = loadAgentKioskConfig(write({ ...valid, modem }));
    expect(loaded.defaulted?.sections).toEqual(["fallback", "modem"]);
    expect(loaded.defaulted?.problem).toMatch(/fallback\.smsNumbers: a modem needs at least one centre SMS number; fallback\.smsKey: /);
    expect(loaded.config.modem.driver).toBe("none");
    expect(loaded.config.button).toEqual(loadAgentKioskConfig(write(valid)).config.button);
    // Each problem is said once.
    expect(loaded.defaulted?.problem.split("a modem needs at least one centre SMS number")).toHaveLength(2);
    // The whole-config rules run once every field parses: checked with the mqtt problems all the same.
    const both = loadAgentKioskConfig(write({ ...valid, modem, mqtt: { ...credentials, urls: [] } }));
    expect(both.linkProblem).toContain("mqtt.urls: lists no gateway");
    expect(both.defaulted?.sections).toEqual(["fallback", "modem"]);
  });

  const fatal: [string, Record<string, unknown>, string[]][] = [
    ["a bad kiosk id", { kioskId: "k 1" }, ["kioskId: "]],
    ["a bad kiosk id beside a bad mqtt section", { kioskId: "k 1", mqtt: { ...credentials, urls: "mqtt://127.0.0.1:1" } }, ["kioskId: ", "mqtt.urls: "]],
    ["a location out of range", { location: { ...valid.location, lat: 123 } }, ["location.lat: "]],
    ["an empty data dir", { dataDir: "" }, ["dataDir: "]],
    ["a gpio button without its line", { button: { driver: "gpio" } }, ["button.line: "]],
    ["the version missing", { version: undefined }, ["version: "]],
  ];
  for (const [name, change, fields] of fatal) {
    it(`${name}: fails at once, on one line naming each bad field`, () => {
      const err = sosErrorOf(() => loadAgentKioskConfig(write({ ...valid, ...change })));
      expect(err.code).toBe(ErrorCode.ConfigInvalid);
      expect(err.message.startsWith(`${path} is invalid: `)).toBe(true);
      expect(err.message).not.toContain("\n");
      for (const field of fields) expect(err.message).toContain(field);
    });
  }

  it("a file that is not an object fails at once", () => {
    writeFileSync(path, "[]");
    expect(sosErrorOf(() => loadAgentKioskConfig(path)).code).toBe(ErrorCode.ConfigInvalid);
  });
});
