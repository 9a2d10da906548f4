import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SMS_SAFE } from "../../shared/modem/at-protocol.js";
import { decodeSmsAck, decodeSmsAlert, encodeSmsAck, encodeSmsAlert, parseSmsKey, type SmsAlert, type SmsKioskKey } from "../../shared/sms-alert.js";

const key = randomBytes(32);
const alert: SmsAlert = { kind: "sos", kioskId: "kiosk-0042", alertId: randomUUID(), pressedAt: "2026-12-05T17:00:59.000Z", counter: 17 };
const keys = new Map<string, SmsKioskKey>([["kiosk-0042", { key, lastCounter: 16 }]]);
const lookup = (id: string): SmsKioskKey | undefined => keys.get(id);

describe("SMS alert format", () => {
  it("round-trips an alert in one GSM-7 SMS, even with the longest kiosk id and counter", () => {
    const text = encodeSmsAlert(alert, key);
    expect(text).toMatch(/^SOS1 S kiosk-0042 [0-9a-f]{32} 20261205T170059Z 17 [0-9a-f]{16}$/);
    expect(decodeSmsAlert(text, lookup)).toEqual({ ok: true, value: alert });
    const longest = { ...alert, kioskId: "k".repeat(64), counter: 9_007_199_254_740_991 };
    const long = encodeSmsAlert(longest, key);
    expect(long.length).toBeLessThanOrEqual(160);
    expect(SMS_SAFE.test(long)).toBe(true);
    expect(decodeSmsAlert(long, () => ({ key, lastCounter: 0 }))).toEqual({ ok: true, value: longest });
  });

  it("a test alarm is marked T", () => {
    const text = encodeSmsAlert({ ...alert, kind: "test" }, key);
    expect(text.split(" ")[1]).toBe("T");
    expect(decodeSmsAlert(text, lookup)).toMatchObject({ ok: true, value: { kind: "test" } });
  });

  it("refuses a forged MAC, a changed field and another kiosk's key", () => {
    const text = encodeSmsAlert(alert, key);
    const forgedMac = text.replace(/[0-9a-f]{16}$/, "0000000000000000");
    expect(decodeSmsAlert(forgedMac, lookup)).toMatchObject({ ok: false, code: "SMS_FORGED" });
    const changedTime = text.replace("20261205T170059Z", "20261205T170058Z");
    expect(decodeSmsAlert(changedTime, lookup)).toMatchObject({ ok: false, code: "SMS_FORGED" });
    const otherKey = encodeSmsAlert(alert, randomBytes(32));
    expect(decodeSmsAlert(otherKey, lookup)).toMatchObject({ ok: false, code: "SMS_FORGED" });
  });

  it("refuses a replayed counter (equal to or below the last accepted)", () => {
    const replay = encodeSmsAlert({ ...alert, counter: 16 }, key);
    const result = decodeSmsAlert(replay, lookup);
    expect(result).toMatchObject({ ok: false, code: "SMS_REPLAYED" });
    expect(result.ok ? "" : result.reason).toContain("16");
  });

  it("refuses an unknown kiosk", () => {
    const text = encodeSmsAlert({ ...alert, kioskId: "kiosk-9999" }, key);
    expect(decodeSmsAlert(text, lookup)).toMatchObject({ ok: false, code: "SMS_UNKNOWN_KIOSK" });
  });

  it("refuses truncated and malformed texts with a reason", () => {
    const text = encodeSmsAlert(alert, key);
    for (const cut of [text.slice(0, -1), text.slice(0, -17), text.slice(0, 40), "SOS1", "hello", `${text} extra`, text.replace(" S ", " X ")]) {
      const result = decodeSmsAlert(cut, lookup);
      expect(result, cut).toMatchObject({ ok: false, code: "SMS_MALFORMED" });
      expect(result.ok ? "" : result.reason.length).toBeGreaterThan(0);
    }
  });

  it("the centre's acknowledgement is checked under the kiosk's key", () => {
    const ack = encodeSmsAck(alert.alertId, key);
    expect(ack.length).toBeLessThanOrEqual(160);
    expect(decodeSmsAck(ack, key)).toEqual({ ok: true, value: { alertId: alert.alertId } });
    expect(decodeSmsAck(ack, randomBytes(32))).toMatchObject({ ok: false, code: "SMS_FORGED" });
    expect(decodeSmsAck(ack.slice(0, -3), key)).toMatchObject({ ok: false, code: "SMS_MALFORMED" });
  });

  it("keys are 32 bytes of base64url", () => {
    expect(parseSmsKey(key.toString("base64url")).equals(key)).toBe(true);
    expect(() => parseSmsKey("short")).toThrow(/32 bytes/);
  });
});
