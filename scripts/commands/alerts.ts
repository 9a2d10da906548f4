import { describeStore, storeArgument } from "../../gateway/store/open.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { formatTable } from "../lib/table.js";
import { openCliStore, storeLocation } from "../lib/store.js";
import { terminalSafeJson } from "../lib/terminal.js";

export interface AlertsOptions {
  dataDir?: unknown;
  store?: unknown;
  json?: unknown;
  limit?: unknown;
  attempts?: unknown;
}

const time = (iso: string | null): string => (iso === null ? "-" : iso.replace("T", " ").replace(/\.\d+Z$/, "Z"));

export async function run(opts: AlertsOptions): Promise<void> {
  const store = await openCliStore(opts, { readonly: true });
  try {
    if (typeof opts.attempts === "string") {
      const alert = await store.getAlert(opts.attempts);
      if (alert === undefined) throw new SosError(ErrorCode.AlertUnknown, `no alert ${opts.attempts} in ${describeStore(storeLocation(opts))}: list them with 'sos alerts ${storeArgument(storeLocation(opts))}'`);
      const attempts = await store.attemptsFor(opts.attempts);
      if (opts.json === true) {
        process.stdout.write(`${terminalSafeJson({ alert, attempts })}\n`);
        return;
      }
      const rows = attempts.map((a) => [String(a.attempt), time(a.startedAt), `${a.durationMs} ms`, a.ok ? "delivered" : "failed", a.httpStatus?.toString() ?? "-", a.error ?? ""]);
      process.stdout.write(`${formatTable(["ATTEMPT", "STARTED", "TOOK", "RESULT", "HTTP", "ERROR"], rows)}\n`);
      return;
    }
    const alerts = await store.listAlerts({ limit: typeof opts.limit === "number" ? opts.limit : 100 });
    if (opts.json === true) {
      process.stdout.write(`${terminalSafeJson(alerts)}\n`);
      return;
    }
    if (alerts.length === 0) {
      process.stdout.write("no alerts yet\n");
      return;
    }
    const rows = alerts.map((a) => [
      a.alertId,
      a.kioskId,
      a.kind,
      time(a.pressedAt),
      time(a.receivedAt),
      a.delivery === "delivered" ? `delivered ${time(a.deliveredAt)}` : `pending, next ${time(a.nextAttemptAt)}`,
      String(a.attempts),
      String(a.pressCount),
      a.closedAt === null ? "open" : `${time(a.closedAt)} ${a.outcome ?? ""}`,
      a.lastError ?? "",
    ]);
    process.stdout.write(`${formatTable(["ALERT", "KIOSK", "KIND", "PRESSED", "RECEIVED", "DELIVERY", "ATTEMPTS", "PRESSES", "CLOSED", "LAST ERROR"], rows)}\n`);
  } finally {
    await store.close();
  }
}
