import { closeAlarm } from "../../gateway/alerts/close.js";
import { describeStore, storeArgument } from "../../gateway/store/open.js";
import { systemClock } from "../../shared/clock.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { argumentError } from "../lib/cli.js";
import { openCliStore, storeLocation } from "../lib/store.js";

export interface CloseOptions {
  dataDir?: unknown;
  store?: unknown;
  outcome?: unknown;
  by?: unknown;
}

export async function run(alertId: string, opts: CloseOptions): Promise<void> {
  const outcome = typeof opts.outcome === "string" ? opts.outcome.trim() : "";
  if (outcome === "") throw argumentError("--outcome must say what happened (help sent, false alarm, prank, test, other …)");
  const where = describeStore(storeLocation(opts));
  const argument = storeArgument(storeLocation(opts));
  // Opened read-write but never created here: a wrong --data-dir must not make an empty store.
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const { result, commandId } = await closeAlarm(store, { alertId, outcome, closedBy: typeof opts.by === "string" ? opts.by : "cli" }, systemClock);
    if (result === "unknown") throw new SosError(ErrorCode.AlertUnknown, `no alert ${alertId} in ${where}: list them with 'sos alerts ${argument}'`);
    if (result === "already-closed") throw new SosError(ErrorCode.AlertUnknown, `alert ${alertId} is already closed: see 'sos alerts ${argument} --json'`);
    process.stdout.write(`closed alert ${alertId} (${outcome}); the gateway tells the kiosk (command ${commandId})\n`);
  } finally {
    await store.close();
  }
}
