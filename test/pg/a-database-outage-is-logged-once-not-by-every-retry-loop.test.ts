/**
 * While its PostgreSQL database refuses every connection (ALTER DATABASE … ALLOW_CONNECTIONS false,
 * the gateway's connections killed), a gateway says so once (store/availability.ts): the loops that
 * retry by themselves (revocations every 250 ms, operators every second, the shared alarms, the kiosk
 * registry) log their failures at debug meanwhile, so no warning or error is repeated. A real
 * in-process gateway on a real database.
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { deferCleanups } from "../integration/cleanups.js";
import { startTestGateway, tempDir, waitFor } from "../integration/harness.js";
import { connectionKiller, createTestDatabase, killUntilNone, TEST_PG_SERVER, type TestDatabase } from "./pg-database.js";

const OUTAGE_MS = 4_000;

describe("a database outage", () => {
  const defer = deferCleanups();
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it("is logged once, and no retry loop repeats a warning or an error while it lasts", async () => {
    const database = await createTestDatabase();
    db = database;
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(dir.path, { store: { url: database.url } });
    defer(() => gateway.stop());
    const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
    defer(() => admin.end({ timeout: 5 }));
    const allow = (on: boolean): Promise<unknown> => admin.unsafe(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS ${on ? "true" : "false"}`);
    defer(() => allow(true));

    const from = gateway.logs.lines.length;
    await allow(false);
    await killUntilNone(connectionKiller(admin, database.name, "none"));
    await waitFor(() => !gateway.storeStatus().up, "the gateway finding the store down", 10_000);
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const during = gateway.logs.lines.slice(from).filter((l) => l.level === "warn" || l.level === "error");
    await allow(true);
    await waitFor(() => gateway.storeStatus().up, "the store back", 20_000);

    const said = new Map<string, number>();
    for (const l of during) said.set(l.msg, (said.get(l.msg) ?? 0) + 1);
    expect([...said].filter(([, n]) => n > 1)).toEqual([]);
    expect(gateway.logs.find("store unreachable: alerts are not acknowledged (kiosks keep them and resend) until it answers again")).toHaveLength(1);
  });
});
