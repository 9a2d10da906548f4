/**
 * `sos cluster status` lists the gateway nodes that beat in the store and names the one that runs each
 * cluster-wide job: a started gateway beats and takes the daily pruning's lease at once, counts the
 * kiosks it supervises, and a cleanly stopped one leaves, gives the lease up and leaves its kiosks to
 * be taken over. Real gateway, real kiosk, real CLI.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { PRUNE_JOB } from "../../gateway/supervision/feature.js";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { deferCleanups } from "./cleanups.js";
import { expectReadableStatus, expectStatusJson, seedClusterStatus } from "./cluster-status-scenario.js";
import { provisionTestKiosk, spawnSos, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";

describe("sos cluster status", () => {
  const defer = deferCleanups();

  it("names the gateway that holds each job's lease, and shows it stopped, holding none, once it stopped cleanly", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-a" } });
    await waitFor(() => gateway.logs.find("cluster job taken: it runs on this gateway").length > 0, "the pruning's lease taken");
    const kiosk = await startTestKiosk(await provisionTestKiosk(gateway.dataDir, "kz-cls-0001", gateway.mqttUrl, dir.path));
    defer(() => kiosk.stop());
    await waitFor(async () => (await gateway.store.leases.ownedCounts())[gateway.logs.find("cluster job taken: it runs on this gateway")[0]?.holder as string] === 1, "the kiosk supervised by gw-a");
    const status = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect((await status.exited).code).toBe(0);
    expect(status.stdout[0]).toMatch(/^NODE\s+PROCESS\s+STARTED\s+LAST BEAT\s+CONNECTIONS\s+KIOSKS$/);
    expect(status.stdout[1]).toMatch(/^gw-a\s+gw-a\/\S+\s+\S+\s+\d+ s ago\s+\d+\s+1$/);
    expect(status.stdout[3]).toMatch(/^JOB\s+HELD BY\s+SINCE\s+LEASE ENDS$/);
    // Read in whole units (`in 23 h 59 min`), never a raw count of seconds; the holder beats, so it is not marked silent.
    expect(status.stdout[4]).toMatch(new RegExp(`^${PRUNE_JOB}\\s+gw-a/\\S+\\s+\\S+\\s+in \\d+ (d|h|min|s)( \\d+ (h|min|s))?$`));
    const json = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir, "--json"]);
    await json.exited;
    expect(JSON.parse(json.stdout.join("\n"))).toEqual({
      nodes: [expect.objectContaining({ nodeId: "gw-a", silent: false, kiosks: 1 })],
      stoppedNodes: [],
      kiosksOfStoppedNodes: 0,
      jobs: [expect.objectContaining({ name: PRUNE_JOB, lapsed: false, holderSilent: false })],
    });

    await gateway.stop();
    const after = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect((await after.exited).code).toBe(0);
    // Shown as stopped (an upgrade, a restart), not gone: since when, and what it was.
    expect(after.stdout[0]).toBe("no gateway is running (none beats in this store)");
    expect(after.stdout[1]).toMatch(/^NODE\s+PROCESS\s+STARTED\s+LAST BEAT\s+CONNECTIONS\s+KIOSKS$/);
    expect(after.stdout[2]).toMatch(/^gw-a\s+gw-a\/\S+\s+\S+\s+stopped cleanly \d+ s ago\s+-\s+-$/);
    expect(after.stdout.slice(3)).toEqual([
      "1 kiosk(s) supervised by a gateway that stopped or went silent: a running node takes them over within a few beats",
      "",
      "no gateway holds a cluster job now (a gateway takes each at its next run; one that stops cleanly gives its jobs up)",
    ]);

    // Started again: it beats, and its stop is no longer shown.
    const again = await startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-a" } });
    defer(() => again.stop());
    await waitFor(async () => (await again.store.leases.nodes()).length === 1, "gw-a beating again");
    const restarted = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect((await restarted.exited).code).toBe(0);
    expect(restarted.stdout.filter((l) => l.startsWith("gw-a"))).toHaveLength(1);
    expect(restarted.stdout.join("\n")).not.toMatch(/stopped cleanly/);
  });

  it("judges each node silent by the deadline it beats with (cluster.deadAfterMs), not by a default", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-a", beatMs: 200, deadAfterMs: 600 } });
    defer(() => gateway.stop());
    await waitFor(async () => (await gateway.store.leases.nodes()).length === 1, "gw-a beating");
    expect((await gateway.store.leases.nodes())[0]?.deadAfterMs).toBe(600);
    const now = Date.now();
    // A node of a cluster that allows long silences (last beat 20 s ago, 60 s allowed): alive; one
    // that allows 600 ms, silent for 2 s: dead. Three default beats (15 s) would say the opposite of both.
    await gateway.store.leases.beat({ nodeId: "gw-slow", holder: "gw-slow/1", startedAt: new Date(now - 60_000).toISOString(), beatAt: now - 20_000, connections: 0, deadAfterMs: 60_000 });
    await gateway.store.leases.beat({ nodeId: "gw-fast", holder: "gw-fast/1", startedAt: new Date(now - 60_000).toISOString(), beatAt: now - 2_000, connections: 0, deadAfterMs: 600 });
    const json = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir, "--json"]);
    expect((await json.exited).code).toBe(0);
    const silent = Object.fromEntries((JSON.parse(json.stdout.join("\n")) as { nodes: { nodeId: string; silent: boolean }[] }).nodes.map((n) => [n.nodeId, n.silent]));
    expect(silent).toEqual({ "gw-a": false, "gw-slow": false, "gw-fast": true });
    const table = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    await table.exited;
    expect(table.stdout.find((l) => l.startsWith("gw-fast"))).toMatch(/silent: stopped or dead/);
    expect(table.stdout.find((l) => l.startsWith("gw-slow"))).not.toMatch(/silent/);
  });

  it("reads durations in hours and minutes, and marks a lease whose holder beats no more (the next gateway to run its job takes it)", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const store = SqliteStore.open(dir.path);
    try {
      await seedClusterStatus(store.leases);
    } finally {
      await store.close();
    }
    const table = spawnSos(["cluster", "status", "--data-dir", dir.path]);
    expect(await table.exited, table.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expectReadableStatus(table.stdout);
    const json = spawnSos(["cluster", "status", "--data-dir", dir.path, "--json"]);
    expect(await json.exited, json.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expectStatusJson(json.stdout);
  });

  it("reads a store from before migration 20 (no gateway of this version started on it yet), and never shows a gateway that failed to start as stopped", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-a" } });
    await waitFor(async () => (await gateway.store.leases.nodes()).length === 1, "gw-a beating");
    // A second process of the same folder fails at its start: its HTTP port is taken.
    await expect(startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-b" }, http: { host: "127.0.0.1", port: gateway.httpPort } })).rejects.toThrow(/in use/);
    expect(await gateway.store.leases.stoppedNodes()).toEqual([]);
    await gateway.stop();
    const reopened = SqliteStore.open(gateway.dataDir);
    expect((await reopened.leases.stoppedNodes()).map((n) => n.nodeId)).toEqual(["gw-a"]);
    await reopened.close();

    // The schema as the release before left it.
    const db = new Database(join(gateway.dataDir, STORE_FILE));
    db.exec("DROP TABLE cluster_stopped; ALTER TABLE alerts DROP COLUMN acknowledged_at");
    db.pragma("user_version = 19");
    db.close();
    const old = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect(await old.exited, old.stderr.join(" | ")).toEqual({ code: 0, signal: null });
    expect(old.stdout[0]).toBe("no gateway is running (none beats in this store)");
  });
});
