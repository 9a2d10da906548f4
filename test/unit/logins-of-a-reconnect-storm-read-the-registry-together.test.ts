/**
 * gateway/broker/kiosk-auth.ts: the password logins of a reconnect storm read the kiosk registry in a
 * few statements, not one per kiosk, each kiosk still checked against its own record; nothing is
 * kept between windows, so a kiosk revoked after one login is refused at its next; an unknown kiosk
 * in the same window as known ones is refused alone. Real SQLite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "aedes";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KioskAuthenticator } from "../../gateway/broker/kiosk-auth.js";
import { FailedLoginLimiter } from "../../gateway/operators/limiter.js";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { REVOKED_PASSWORD } from "../../gateway/store/security-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";

const SECRET = "storm-secret-0123456789abcdef";
let dir: string | undefined;
let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  store = dir = undefined;
});

describe("the logins of a reconnect storm", () => {
  it("400 kiosks logging in at once read the registry in a few statements; a revoked kiosk is refused at its next login; an unknown one alone is refused", async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-logins-"));
    const s = SqliteStore.open(dir);
    store = s;
    const secretHash = await hashSecret(SECRET);
    const ids = Array.from({ length: 400 }, (_, i) => `kz-log-${String(i).padStart(3, "0")}`);
    for (const kioskId of ids) await s.putKiosk({ kioskId, secretHash, name: null, location: { lat: 43, lon: 76, address: "x" } }, { replace: false, now: new Date() });
    const reads = vi.spyOn(s, "getKiosks");
    const single = vi.spyOn(s, "getKiosk");
    const auth = new KioskAuthenticator(s, new FailedLoginLimiter(1_000, 60_000, { now: () => new Date() }));
    const login = (kioskId: string, password = SECRET) => auth.byPassword({ id: kioskId } as Client, kioskId, Buffer.from(password), "10.0.0.1");

    // The fleet shares one secret here: one login first, so the storm checks it from the cache (no scrypt each).
    await login(ids[0]!);
    reads.mockClear();
    const principals = await Promise.all(ids.map((id) => login(id)));
    expect(principals.map((p) => p.kioskId)).toEqual(ids);
    expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
    expect(reads.mock.calls.flatMap(([keys]) => keys).sort()).toEqual(ids);
    expect(single).not.toHaveBeenCalled();

    const [revoked, other] = ids as [string, string];
    await s.putKiosk({ ...(await s.getKiosk(revoked))!, secretHash: REVOKED_PASSWORD }, { replace: true, now: new Date() });
    const again = await Promise.allSettled([login(revoked), login(other), login("kz-log-999"), login(other, "wrong-secret-0000000000")]);
    expect(again.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as Error).message))).toEqual(["kiosk revoked", "ok", "unknown kiosk", "wrong password"]);
  });
});
