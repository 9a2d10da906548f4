import { expect, it } from "vitest";
import { parseKioskConfig } from "../../shared/config/kiosk.js";

const base = {
  version: 1,
  kioskId: "kz-hwy-0001",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  mqtt: { url: "mqtt://gateway.example:1883", username: "kz-hwy-0001", password: "s3cret-password" },
};

it("a kiosk without a modem needs no fallback settings, and the defaults are the documented ones", () => {
  const config = parseKioskConfig(base);
  expect(config.modem).toEqual({ driver: "none" });
  expect(config.fallback).toMatchObject({ afterMs: 15_000, smsPerHour: 10, smsNumbers: [], smsTest: { enabled: true, everyH: 168, jitterH: 12 } });
});

it("a modem needs centre numbers and the kiosk's SMS key, all problems reported at once", () => {
  expect(() => parseKioskConfig({ ...base, modem: { driver: "at", path: "/dev/ttyUSB2" } })).toThrow(/fallback\.smsNumbers[\s\S]*fallback\.smsKey|fallback\.smsKey[\s\S]*fallback\.smsNumbers/);
  expect(() => parseKioskConfig({ ...base, fallback: { smsNumbers: ["112 call"] } })).toThrow(/phone number/);
  const ok = parseKioskConfig({ ...base, modem: { driver: "at", path: "/dev/ttyUSB2" }, fallback: { smsNumbers: ["+77010000100"], smsKey: "A".repeat(43) } });
  expect(ok.modem).toMatchObject({ driver: "at", baudRate: 115_200 });
});
