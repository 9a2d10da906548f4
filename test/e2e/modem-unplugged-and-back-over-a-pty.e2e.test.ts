import { afterEach, expect, it } from "vitest";
import { isModemError, ModemErrorCode } from "../../shared/modem/modem.js";
import { SimModem } from "../fixtures/sim-modem.js";
import { waitFor } from "../integration/harness.js";
import { type ModemRig, startModemRig } from "./modem-rig.js";

let rig: ModemRig;
afterEach(async () => rig.stop());

it("a modem unplugged (its pty gone) is noticed, reported absent, reopened when it is back, and sends again", async () => {
  rig = await startModemRig();
  const lost: string[] = [];
  let presentAgain = 0;
  rig.modem.on("lost", (e) => lost.push(e.reason));
  rig.modem.on("present", () => (presentAgain += 1));

  await rig.sim.close();
  await rig.pty.stop();
  await waitFor(() => !rig.modem.isPresent, "the unplugged modem noticed");
  expect(lost).toHaveLength(1);
  expect(await rig.modem.status()).toMatchObject({ present: false });
  await expect(rig.modem.sendSms("+77010000999", "while unplugged")).rejects.toSatisfy((e) => isModemError(e, ModemErrorCode.Absent));
  expect(rig.logs.find("modem lost")).toHaveLength(1);

  // Plugged back: the same path, a fresh device that needs initialising again.
  await rig.pty.start();
  const sim = new SimModem(rig.pty.modemPath, "+77010000001");
  await sim.open();
  Object.assign(rig, { sim });
  await waitFor(() => rig.modem.isPresent, "the modem back");
  expect(presentAgain).toBe(1);
  expect(sim.commands.slice(0, 4)).toEqual(["AT", "ATE0", "AT+CMEE=1", "AT+CMGF=1"]);
  await rig.modem.sendSms("+77010000999", "after replug");
  expect(sim.sent).toEqual([{ to: "+77010000999", text: "after replug" }]);
  // The outage was reported once, its retries at debug.
  expect(rig.logs.find("modem lost")).toHaveLength(1);
});
