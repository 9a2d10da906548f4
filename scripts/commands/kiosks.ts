/** `sos kiosks`: every kiosk's supervision state from the gateway store; `sos decommission`. */
import type { KioskHealthRow } from "../../gateway/store/health-store.js";
import { describeStore, storeArgument } from "../../gateway/store/open.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { type UpdateReport, updateReportSchema } from "../../shared/health.js";
import type { KioskStateName } from "../../shared/ops.js";
import { formatTable } from "../lib/table.js";
import { isOlderSchema, openCliStore, storeLocation, type StoreOptions } from "../lib/store.js";
import { terminalSafeJson } from "../lib/terminal.js";

export interface KiosksOptions {
  dataDir?: unknown;
  store?: unknown;
  json?: unknown;
  state?: unknown;
  region?: unknown;
}

export interface KioskListing {
  readonly kioskId: string;
  readonly name: string | null;
  readonly address: string;
  /** `sos provision --region` (the console's fleet filter). */
  readonly region: string | null;
  readonly state: KioskStateName;
  readonly since: string | null;
  readonly reason: string | null;
  readonly components: readonly string[];
  readonly lastHeartbeatAt: string | null;
  readonly lastTestAlarmAt: string | null;
  /** The agent release the kiosk runs, with its update state when one is tried or was rolled back. */
  readonly version: string | null;
  readonly update: UpdateReport | null;
  /** The latest heartbeat as the kiosk sent it (JSON output only). */
  readonly heartbeat: unknown;
}

/** The release and update state from the latest heartbeat (kiosks installed as a service report `update`). */
function versionOf(report: unknown): { version: string | null; update: UpdateReport | null } {
  const r = report as { agentVersion?: unknown; update?: unknown } | null;
  const parsed = updateReportSchema.safeParse(r?.update);
  if (parsed.success) return { version: parsed.data.current, update: parsed.data };
  return { version: typeof r?.agentVersion === "string" ? r.agentVersion : null, update: null };
}

function describeVersion(l: KioskListing): string {
  const u = l.update;
  if (u === null) return l.version ?? "-";
  if (u.phase === "trying" || u.phase === "switching") return `${u.current} -> ${u.target ?? "?"} (trying)`;
  if (u.phase === "rolled-back") return `${u.current} (${u.failed ?? "?"} rolled back)`;
  return u.current;
}

const time = (iso: string | null): string => (iso === null ? "-" : iso.replace("T", " ").replace(/\.\d+Z$/, "Z"));
const newest = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : Date.parse(a) >= Date.parse(b) ? a : b);

function listing(row: KioskHealthRow, region: string | null): KioskListing {
  // A decommission written by this CLI shows at once, before the gateway reads it.
  const decommissioned = row.decommissionedAt !== null;
  const report = row.report === null ? null : (JSON.parse(row.report) as unknown);
  return {
    kioskId: row.kioskId,
    name: row.name,
    address: row.address,
    region,
    state: decommissioned ? "decommissioned" : (row.state ?? "never-seen"),
    since: decommissioned && row.state !== "decommissioned" ? row.decommissionedAt : row.since,
    reason: row.reason,
    components: row.components,
    lastHeartbeatAt: row.lastHeartbeatAt,
    lastTestAlarmAt: newest(row.lastTestAlarmAt, row.lastTestAlertAt),
    ...versionOf(report),
    heartbeat: report,
  };
}

function openStore(opts: StoreOptions, write: boolean): Promise<GatewayStore> {
  return openCliStore(opts, write ? { mustExist: true } : { readonly: true });
}

/** A store from before supervision (the gateway has not run since the upgrade) lacks the tables. */
function explain(err: unknown, dataDir: string): unknown {
  if (isOlderSchema(err)) {
    return new SosError(ErrorCode.StoreUnavailable, `the store in ${dataDir} has no supervision tables yet: start the gateway once (it upgrades the store), then try again`);
  }
  return err;
}

export async function run(opts: KiosksOptions): Promise<void> {
  const dataDir = describeStore(storeLocation(opts));
  const store = await openStore(opts, false);
  try {
    let rows: KioskListing[];
    try {
      const regions = new Map((await store.listKiosks()).map((k) => [k.kioskId, k.region ?? null]));
      rows = (await store.health.listHealth({ reports: true })).map((r) => listing(r, regions.get(r.kioskId) ?? null));
    } catch (err) {
      throw explain(err, dataDir);
    }
    if (typeof opts.state === "string") rows = rows.filter((r) => r.state === opts.state);
    if (typeof opts.region === "string") rows = rows.filter((r) => r.region === opts.region);
    if (opts.json === true) {
      process.stdout.write(`${terminalSafeJson(rows)}\n`);
      return;
    }
    if (rows.length === 0) {
      const filtered = typeof opts.state === "string" || typeof opts.region === "string";
      process.stdout.write(filtered ? "no kiosk matches --state/--region\n" : "no kiosks yet: add one with 'sos provision'\n");
      return;
    }
    const table = rows.map((r) => [
      r.kioskId,
      r.state,
      time(r.since),
      time(r.lastHeartbeatAt),
      r.components.length === 0 ? "-" : r.components.join(","),
      time(r.lastTestAlarmAt),
      r.reason ?? "-",
      r.region ?? "-",
      describeVersion(r),
    ]);
    process.stdout.write(`${formatTable(["KIOSK", "STATE", "SINCE", "LAST HEARTBEAT", "FAILING", "LAST TEST ALARM", "REASON", "REGION", "VERSION"], table)}\n`);
  } finally {
    await store.close();
  }
}

export async function runDecommission(kioskId: string, opts: { dataDir?: unknown; store?: unknown; undo?: unknown }): Promise<void> {
  const dataDir = describeStore(storeLocation(opts));
  const store = await openStore(opts, true);
  try {
    const back = opts.undo === true;
    const found = await store.health.setDecommissioned(kioskId, !back, new Date());
    if (!found) throw new SosError(ErrorCode.KioskUnknown, `no kiosk ${kioskId} in ${dataDir}: list them with 'sos kiosks ${storeArgument(storeLocation(opts))}'`);
    process.stdout.write(
      back
        ? `kiosk ${kioskId} is back in service: the gateway supervises it again within seconds\n`
        : `kiosk ${kioskId} is decommissioned: the gateway stops supervising it within seconds (its alerts are still accepted)\n`,
    );
  } finally {
    await store.close();
  }
}
