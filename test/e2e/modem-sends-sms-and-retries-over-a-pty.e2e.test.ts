import { afterEach, describe, expect, it } from "vitest";
import { isModemError, ModemErrorCode } from "../../shared/modem/modem.js";
import { sendSmsWithRetry } from "../../shared/modem/send-retry.js";
import { waitFor } from "../integration/harness.js";
import { type ModemRig, startModemRig } from "./modem-rig.js";

const FAST = { minMs: 20, maxMs: 100, factor: 2, jitter: 0 };

describe("AT modem over a real pty: SMS out", () => {
  let rig: ModemRig;
  afterEach(async () => rig.stop());

  it("initialises the modem (echo off, numeric errors, text mode, +CMTI, ASCII texts) and reports its status", async () => {
    rig = await startModemRig();
    expect(rig.modem.isPresent).toBe(true);
    expect(rig.sim.commands.slice(0, 6)).toEqual(["AT", "ATE0", "AT+CMEE=1", "AT+CMGF=1", "AT+CNMI=2,1,0,0,0", 'AT+CSCS="IRA"']);
    expect(await rig.modem.status()).toEqual({ present: true, registration: "home", csq: 20, signalDbm: -73, sim: "ready" });
    rig.sim.simReady = false;
    rig.sim.registration = 0;
    rig.sim.csq = 99;
    expect(await rig.modem.status()).toEqual({ present: true, registration: "not-registered", csq: null, signalDbm: null, sim: "absent" });
  });

  it("sends the exact text to the number after the > prompt and returns the message reference", async () => {
    rig = await startModemRig();
    const text = "SOS1 S kiosk-7 0123abcd 20261205T170059Z 42 a1b2c3d4e5f60718";
    const sent = await rig.modem.sendSms("+77010000999", text);
    expect(sent.reference).toBe(1);
    expect(rig.sim.sent).toEqual([{ to: "+77010000999", text }]);
    expect(rig.sim.commands).toContain('AT+CMGS="+77010000999"');
  });

  it("refuses a text that is not one GSM-7 SMS without touching the modem", async () => {
    rig = await startModemRig();
    const before = rig.sim.commands.length;
    await expect(rig.modem.sendSms("+77010000999", "x".repeat(161))).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.TextInvalid));
    await expect(rig.modem.sendSms("+77010000999", "Привет")).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.TextInvalid));
    expect(rig.sim.commands.length).toBe(before);
  });

  it("a +CMS ERROR is reported with its code, and retried until the network takes the message", async () => {
    rig = await startModemRig();
    rig.sim.cmsErrors.push(500);
    await expect(rig.modem.sendSms("+77010000999", "one")).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.Cms) && e.detail === 500);
    rig.sim.cmsErrors.push(500, 332);
    const sent = await sendSmsWithRetry(rig.modem, "+77010000999", "two", { attempts: 5, backoff: FAST }, rig.logs.logger("retry"));
    expect(sent.reference).toBe(1);
    expect(rig.sim.sent).toEqual([{ to: "+77010000999", text: "two" }]);
    expect(rig.logs.find("SMS not sent: retrying").map((l) => l.code)).toEqual(["MODEM_CMS_ERROR", "MODEM_CMS_ERROR"]);
  });

  it("no registration: not sent, retried, and sent once the modem registers", async () => {
    rig = await startModemRig();
    rig.sim.registration = 2; // searching
    await expect(rig.modem.sendSms("+77010000999", "x")).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.NotRegistered));
    const sending = sendSmsWithRetry(rig.modem, "+77010000999", "after registration", { attempts: 50, backoff: FAST }, rig.logs.logger("retry"));
    await waitFor(() => rig.logs.find("SMS not sent: retrying").length >= 2, "two refused tries");
    rig.sim.registration = 5; // roaming is registered too
    await sending;
    expect(rig.sim.sent).toEqual([{ to: "+77010000999", text: "after registration" }]);
    expect(rig.logs.find("SMS not sent: retrying").every((l) => l.code === "MODEM_NOT_REGISTERED")).toBe(true);
  });

  it("a text the network refuses for good (+CMS ERROR 304) is not retried", async () => {
    rig = await startModemRig();
    rig.sim.cmsErrors.push(304);
    await expect(sendSmsWithRetry(rig.modem, "+77010000999", "bad", { attempts: 5, backoff: FAST }, rig.logs.logger("retry"))).rejects.toSatisfy(
      (e) => isModemError(e, ModemErrorCode.Cms) && e.detail === 304,
    );
    expect(rig.sim.commands.filter((c) => c.startsWith("AT+CMGS")).length).toBe(1);
  });

  it("a modem that stops answering times the command out and is dropped and reopened", async () => {
    rig = await startModemRig();
    rig.sim.silent = true;
    await expect(rig.modem.status()).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.Timeout));
    await waitFor(() => !rig.modem.isPresent, "the silent modem dropped");
    rig.sim.silent = false;
    await waitFor(() => rig.modem.isPresent, "the modem back after it answers again");
    expect((await rig.modem.status()).present).toBe(true);
  });
});
