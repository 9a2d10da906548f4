import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STORE_FILE, SqliteStore } from "../../gateway/store/sqlite/index.js";
import type { AttemptRecord } from "../../gateway/store/store.js";
import type { Alert } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";

const T0 = new Date("2025-01-02T03:00:00.000Z");
const at = (ms: number): Date => new Date(T0.getTime() + ms);

let seq = 0;
function newAlert(kioskId = "kz-hwy-0001", kind: Alert["kind"] = "sos"): Alert {
  seq += 1;
  return {
    v: 1,
    alertId: `00000000-0000-4000-8000-${seq.toString().padStart(12, "0")}`,
    kioskId,
    kind,
    pressedAt: T0.toISOString(),
    location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
  };
}

function attempt(alertId: string, n: number, ok: boolean, startedAt: Date, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    alertId,
    attempt: n,
    startedAt: startedAt.toISOString(),
    durationMs: 20,
    ok,
    httpStatus: ok ? 200 : 503,
    error: ok ? null : "HTTP 503",
    ...extra,
  };
}

const kiosk = (kioskId: string, secretHash = "scrypt$hash-1") => ({
  kioskId,
  secretHash,
  name: "Km 12",
  location: { lat: 43.25, lon: 76.95, address: "Highway A2, km 12" },
});

// What every backend does is in the GatewayStore contract (sqlite-store-passes-the-store-contract.test.ts);
// this file keeps what only SQLite has: a data folder, a file, a read-only open.
describe("SqliteStore", () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-store-"));
    store = SqliteStore.open(join(dir, "gw"));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("opening", () => {
    it("a readonly open of a missing dir fails with STORE_UNAVAILABLE and a one-line message naming the path", () => {
      const missing = join(dir, "does", "not", "exist");
      let caught: unknown;
      try {
        SqliteStore.open(missing, { readonly: true });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SosError);
      const err = caught as SosError;
      expect(err.code).toBe(ErrorCode.StoreUnavailable);
      expect(err.message).not.toContain("\n");
      expect(err.message).toContain(join(missing, STORE_FILE));
      expect(err.message).toContain("--data-dir");
    });

    it("a readonly open of a dir without gateway.db fails with STORE_UNAVAILABLE and creates nothing", () => {
      const empty = join(dir, "empty");
      mkdirSync(empty);
      expect(() => SqliteStore.open(empty, { readonly: true })).toThrow(expect.objectContaining({ code: ErrorCode.StoreUnavailable }) as Error);
      expect(readdirSync(empty)).toEqual([]);
    });

    it("reopening the file keeps every alert, attempt and kiosk (durability)", async () => {
      const alert = newAlert();
      await store.putKiosk(kiosk("k1"), { replace: false, now: at(0) });
      await store.recordAlert(alert, at(0), "x");
      await store.recordAttempt(attempt(alert.alertId, 1, false, at(0)), at(100));
      await store.recordRejected({ kioskId: "k1", topic: "sos/v1/kiosks/k1/alerts", receivedAt: at(0).toISOString(), code: "PAYLOAD_NOT_JSON", reason: "bad", excerpt: "{" });
      await store.close();

      store = SqliteStore.open(join(dir, "gw"));
      expect(await store.getKiosk("k1")).toMatchObject({ kioskId: "k1" });
      expect(await store.getAlert(alert.alertId)).toMatchObject({ delivery: "pending", attempts: 1, nextAttemptAt: at(100).toISOString() });
      expect(await store.attemptsFor(alert.alertId)).toHaveLength(1);
      expect(await store.listRejected(10)).toHaveLength(1);

      const readonly = SqliteStore.open(join(dir, "gw"), { readonly: true });
      try {
        expect((await readonly.listAlerts()).map((a) => a.alertId)).toEqual([alert.alertId]);
      } finally {
        await readonly.close();
      }
    });
  });
});

