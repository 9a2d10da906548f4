/** Records and the harness shared by the GatewayStore contract (gateway-store.contract.ts). */
import type { AttemptRecord, Claim, GatewayStore } from "../../gateway/store/store.js";
import type { Alert } from "../../shared/contract.js";

/** One backend's way to give the contract stores. */
export interface StoreHarness {
  /** A store on an empty database (a fresh one for each test). */
  fresh(): Promise<GatewayStore>;
  /** Another store instance (its own connections or file handle) on the same database as the last fresh() one. */
  another(): Promise<GatewayStore>;
  /** The columns of a table in that database, in any order. */
  columns(table: string): Promise<string[]>;
  /** The schema version the database records. */
  version(): Promise<number>;
  /** After each test: closes every store it opened. */
  closeAll(): Promise<void>;
  /** After the file. */
  cleanup?(): Promise<void>;
}

export const T0 = new Date("2025-01-02T03:00:00.000Z");
export const at = (ms: number): Date => new Date(T0.getTime() + ms);
export const iso = (ms: number): string => at(ms).toISOString();

let seq = 0;
export function newAlert(kioskId = "kz-hwy-0001", kind: Alert["kind"] = "sos", extra: Partial<Alert> = {}): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId,
    kind,
    pressedAt: T0.toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
    ...extra,
  };
}

export function attempt(alertId: string, n: number, ok: boolean, startedAt: Date, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return { alertId, attempt: n, startedAt: startedAt.toISOString(), durationMs: 20, ok, httpStatus: ok ? 200 : 503, error: ok ? null : "HTTP 503", ...extra };
}

export const kiosk = (kioskId: string, secretHash = "scrypt$hash-1") => ({
  kioskId,
  secretHash,
  name: "Km 12",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
});

/** A claim by `owner` at `now` (ms after T0) for `leaseMs`. */
export const claimBy = (owner: string, now = 0, leaseMs = 30_000, busy: readonly string[] = []): Claim => ({ owner, now: at(now), leaseMs, busy: new Set(busy) });

export async function ids<T extends { alertId?: string; id?: string }>(jobs: Promise<T[]>): Promise<string[]> {
  return (await jobs).map((j) => j.alertId ?? j.id ?? "?");
}

export async function registered(store: GatewayStore, ...kioskIds: string[]): Promise<void> {
  for (const id of kioskIds) await store.putKiosk(kiosk(id), { replace: false, now: T0 });
}
