/**
 * A gateway on a PostgreSQL store where other gateways beat, started without `--cluster`, serves its
 * own kiosks but routes no MQTT to the others: it says so once at start, whether or not it was given a
 * `--node-id` (a node id names a node, it routes nothing). Real in-process gateways on one database.
 */
import { afterAll, describe, expect, it } from "vitest";
import { deferCleanups } from "../integration/cleanups.js";
import { startTestGateway, tempDir } from "../integration/harness.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

const UNROUTED = "other gateways beat in this store, but this one routes no MQTT to them (no --cluster): its kiosks' calls and its pages do not reach theirs; start it with --cluster redis://… and a --node-id of its own, as they run";

describe("a gateway on a shared store without --cluster", () => {
  const defer = deferCleanups();
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it("warns at start that it routes nothing to the others, with a --node-id or without one", async () => {
    const database = await createTestDatabase();
    db = database;
    const dir = tempDir();
    defer(() => dir.remove());
    const start = async (name: string, nodeId?: string): Promise<Awaited<ReturnType<typeof startTestGateway>>> => {
      const g = await startTestGateway(`${dir.path}/${name}`, { store: { url: database.url }, ...(nodeId === undefined ? {} : { cluster: { nodeId } }) });
      defer(() => g.stop());
      return g;
    };
    const first = await start("first", "gw-a");
    expect(first.logs.find(UNROUTED)).toEqual([]);

    const named = await start("named", "gw-b");
    expect(named.logs.find(UNROUTED)).toEqual([expect.objectContaining({ level: "warn", others: ["gw-a"] as unknown })]);
    const unnamed = await start("unnamed");
    expect(unnamed.logs.find(UNROUTED)).toEqual([expect.objectContaining({ level: "warn" })]);
  });
});
