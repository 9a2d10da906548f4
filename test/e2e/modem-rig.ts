/** A real AtModem on one end of a socat pty pair, a SimModem on the other. */
import { AtModem } from "../../shared/modem/at-modem.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { PtyPair } from "../fixtures/pty-pair.js";
import { type SimNetwork, SimModem } from "../fixtures/sim-modem.js";
import type { Defer } from "../integration/cleanups.js";

export interface ModemRig {
  readonly pty: PtyPair;
  readonly sim: SimModem;
  readonly modem: AtModem;
  readonly logs: LogCapture;
  stop(): Promise<void>;
}

export async function startModemRig(number = "+77010000001", network?: SimNetwork): Promise<ModemRig> {
  const pty = new PtyPair();
  await pty.start();
  const sim = new SimModem(pty.modemPath, number, network);
  await sim.open();
  const logs = new LogCapture();
  const modem = new AtModem({
    path: pty.devicePath,
    baudRate: 115_200,
    log: logs.logger("modem", "debug"),
    reopen: { minMs: 50, maxMs: 200, factor: 2, jitter: 0 },
    pollIntervalMs: 200,
    commandTimeoutMs: 1_000,
    smsTimeoutMs: 2_000,
  });
  await modem.start();
  return {
    pty,
    sim,
    modem,
    logs,
    async stop() {
      await modem.stop();
      await sim.close();
      await pty.remove();
    },
  };
}

/** A pty pair, a SimModem on the network at `number`, and an AtModem (not started) for a kiosk or a gateway. */
export async function ptyModem(number: string, network: SimNetwork, logs: LogCapture, defer: Defer): Promise<{ sim: SimModem; modem: AtModem }> {
  const pty = new PtyPair();
  await pty.start();
  defer(() => pty.remove());
  const sim = new SimModem(pty.modemPath, number, network);
  await sim.open();
  defer(() => sim.close());
  const modem = new AtModem({ path: pty.devicePath, baudRate: 115_200, log: logs.logger("modem"), pollIntervalMs: 0, commandTimeoutMs: 2_000, smsTimeoutMs: 5_000 });
  return { sim, modem };
}
