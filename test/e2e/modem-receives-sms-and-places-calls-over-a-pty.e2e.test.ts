import { afterEach, describe, expect, it } from "vitest";
import type { IncomingSms } from "../../shared/modem/modem.js";
import { isModemError, ModemErrorCode } from "../../shared/modem/modem.js";
import { SimModem } from "../fixtures/sim-modem.js";
import { waitFor } from "../integration/harness.js";
import { type ModemRig, startModemRig } from "./modem-rig.js";

describe("AT modem over a real pty: SMS in, voice calls", () => {
  let rig: ModemRig;
  afterEach(async () => rig.stop());

  it("an incoming SMS announced by +CMTI is read with +CMGR, parsed, and deleted from the modem", async () => {
    rig = await startModemRig();
    const received: IncomingSms[] = [];
    rig.modem.on("sms", (sms) => received.push(sms));
    rig.sim.receive("+77010000555", "SOSACK1 0123 deadbeef");
    await waitFor(() => received.length === 1, "the SMS");
    expect(received[0]).toEqual({ from: "+77010000555", text: "SOSACK1 0123 deadbeef", sentAt: "26/12/05,17:00:00+24" });
    await waitFor(() => rig.sim.storedCount === 0, "the message deleted");
    expect(rig.sim.commands).toEqual(expect.arrayContaining(["AT+CMGR=1", "AT+CMGD=1"]));
  });

  it("messages that arrived while the modem was away are listed when it is back (+CMGL), handed on once and deleted", async () => {
    rig = await startModemRig();
    const received: IncomingSms[] = [];
    rig.modem.on("sms", (sms) => received.push(sms));
    await rig.sim.close();
    await rig.pty.stop();
    await waitFor(() => !rig.modem.isPresent, "the modem gone");
    await rig.pty.start();
    const sim = new SimModem(rig.pty.modemPath, "+77010000001");
    await sim.open();
    Object.assign(rig, { sim });
    sim.storeUnannounced("+77010000557", "first while away");
    sim.storeUnannounced("+77010000558", "second while away");
    await waitFor(() => received.length === 2, "both stored messages");
    expect(received.map((m) => [m.from, m.text])).toEqual([
      ["+77010000557", "first while away"],
      ["+77010000558", "second while away"],
    ]);
    await waitFor(() => sim.storedCount === 0, "both deleted");
    expect(sim.commands).toContain('AT+CMGL="ALL"');
  });

  it("an incoming SMS pushed whole by +CMT is parsed too, even while a command runs", async () => {
    rig = await startModemRig();
    rig.sim.incoming = "cmt";
    const received: IncomingSms[] = [];
    rig.modem.on("sms", (sms) => received.push(sms));
    const status = rig.modem.status();
    rig.sim.receive("+77010000556", "hello, centre");
    expect((await status).registration).toBe("home");
    await waitFor(() => received.length === 1, "the SMS");
    expect(received[0]).toMatchObject({ from: "+77010000556", text: "hello, centre" });
  });

  it("a voice call is placed with ATD…; and hung up; the far end hanging up is reported", async () => {
    rig = await startModemRig();
    const ended: string[] = [];
    rig.modem.on("call-ended", (e) => ended.push(e.reason));
    await rig.modem.dial("+77172000112");
    expect(rig.sim.dialled).toEqual(["+77172000112"]);
    expect(rig.sim.inCall).toBe(true);
    await rig.modem.hangUp();
    expect(rig.sim.inCall).toBe(false);
    expect(rig.sim.hangUps).toBe(1);

    await rig.modem.dial("+77172000112");
    rig.sim.remoteHangUp();
    await waitFor(() => ended.length === 1, "the call end");
    expect(ended).toEqual(["NO CARRIER"]);
  });

  it("a busy line fails the dial with the modem's word", async () => {
    rig = await startModemRig();
    rig.sim.dialResult = "BUSY";
    await expect(rig.modem.dial("+77172000112")).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.CallFailed) && e.detail === "BUSY");
  });
});
