/**
 * One running process per cluster node id (gateway/cluster/node-id.ts), and the leases of a process
 * that died (store/lease-store.ts): a predecessor that fell silent, or whose pid is gone from this
 * machine, is retired at the start with its leases; one that beats on is a live duplicate, refused
 * on one line; a lease held by a process whose node has gone silent is taken at once, not when its
 * (up to a day long) term ends. A real SQLite store file.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { claimNodeId, warnIfUnrouted } from "../../gateway/cluster/node-id.js";
import type { NodeRecord } from "../../gateway/store/lease-store.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { systemClock } from "../../shared/clock.js";
import { LogCapture } from "../fixtures/log-capture.js";

const DAY_MS = 23 * 3_600_000;

describe("one process per node id; a dead holder's jobs are taken at once", () => {
  let dir: string;
  let store: SqliteStore;
  const timers: NodeJS.Timeout[] = [];
  const logs = new LogCapture();
  const log = logs.logger("gw-a");

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sos-node-id-"));
    store = SqliteStore.open(dir);
  });
  afterEach(async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const node = (holder: string, beatAt: number, deadAfterMs = 15_000): NodeRecord => ({ nodeId: holder.split("/")[0] ?? "", holder, startedAt: new Date(beatAt - 60_000).toISOString(), beatAt, connections: 0, deadAfterMs });

  it("a second process of a node id whose first still beats is refused on one line naming the first, after waiting for it to fall silent", async () => {
    const first = "gw-a/other-machine/4242/aaaa";
    const beat = (): Promise<void> => store.leases.beat(node(first, Date.now(), 300));
    await beat();
    timers.push(setInterval(() => void beat(), 100));
    const started = Date.now();
    const refused = await claimNodeId(store.leases, { nodeId: "gw-a", holder: "gw-a/this/1/bbbb", beatMs: 100, deadAfterMs: 300 }, systemClock, log).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toMatch(/^node id gw-a is in use: another gateway process \(gw-a\/other-machine\/4242\/aaaa, started [^)]+\) still beats in this store, \d+ s ago: give this node its own --node-id, or stop that process first$/);
    // It waited for the first to fall silent (deadAfterMs + a beat) before saying so.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect((await store.leases.nodes()).map((n) => n.holder)).toEqual([first]);
  });

  it("a predecessor silent past its deadAfterMs is retired at once, with the leases it held, and the start goes on", async () => {
    const dead = "gw-a/other-machine/4242/aaaa";
    await store.leases.beat(node(dead, Date.now() - 60_000));
    expect(await store.leases.acquire("prune-history", dead, new Date(Date.now() - 60_000), DAY_MS)).toBe(true);
    await store.leases.beat(node("gw-b/other-machine/77/cccc", Date.now()));
    await claimNodeId(store.leases, { nodeId: "gw-a", holder: "gw-a/this/1/bbbb", beatMs: 5_000, deadAfterMs: 15_000 }, systemClock, log);
    expect((await store.leases.nodes()).map((n) => n.holder)).toEqual(["gw-b/other-machine/77/cccc"]);
    expect(await store.leases.list()).toEqual([]);
    expect(logs.find("earlier processes of this node id retired (they died): their jobs are taken over now")).toEqual([expect.objectContaining({ retired: [dead] })]);
  });

  it("a predecessor on this machine whose process is gone is retired without waiting, even with a fresh beat", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await once(child, "exit");
    const dead = `gw-a/${hostname()}/${child.pid ?? 0}/aaaa`;
    await store.leases.beat(node(dead, Date.now(), 600_000));
    // Waiting for its beats to go silent would take 600 s: the test's timeout says it did not.
    await claimNodeId(store.leases, { nodeId: "gw-a", holder: "gw-a/this/1/bbbb", beatMs: 5_000, deadAfterMs: 600_000 }, systemClock, log);
    expect(await store.leases.nodes()).toEqual([]);
  });

  it("a gateway without --cluster on a store where other gateways beat says once that it routes nothing to them; alone, or beside silent ones, it says nothing", async () => {
    const said = "other gateways beat in this store, but this one routes no MQTT to them (no --cluster): its kiosks' calls and its pages do not reach theirs; start it with --cluster redis://… and a --node-id of its own, as they run";
    await store.leases.beat(node("gw-old/m/1/x", Date.now() - 60_000));
    expect(await warnIfUnrouted(store.leases, "sos-gateway/this/1/a", systemClock, log)).toEqual([]);
    expect(logs.find(said)).toEqual([]);
    await store.leases.beat(node("gw-a/m/2/y", Date.now()));
    await store.leases.beat(node("gw-b/m/3/z", Date.now()));
    expect((await warnIfUnrouted(store.leases, "sos-gateway/this/1/a", systemClock, log)).sort()).toEqual(["gw-a", "gw-b"]);
    expect(logs.find(said)).toEqual([expect.objectContaining({ level: "warn", others: expect.arrayContaining(["gw-a", "gw-b"]) as unknown })]);
  });

  it("a lease is taken from a holder whose node went silent, not from one that beats or one whose term runs", async () => {
    const now = Date.now();
    await store.leases.beat(node("gw-a/m/1/x", now - 20_000, 15_000));
    await store.leases.beat(node("gw-b/m/2/y", now - 2_000, 15_000));
    expect(await store.leases.acquire("prune-history", "gw-a/m/1/x", new Date(now - 30_000), DAY_MS)).toBe(true);
    expect(await store.leases.acquire("rollouts", "gw-b/m/2/y", new Date(now - 30_000), DAY_MS)).toBe(true);
    expect(await store.leases.acquire("reports", "gw-z/m/9/z", new Date(now - 30_000), DAY_MS)).toBe(true);
    const taker = "gw-c/m/3/w";
    expect(await store.leases.acquire("prune-history", taker, new Date(now), DAY_MS)).toBe(true);
    expect(await store.leases.acquire("rollouts", taker, new Date(now), DAY_MS)).toBe(false);
    // No beat row at all (a gateway of another kind, or one that left cleanly and gave its leases up): its term stands.
    expect(await store.leases.acquire("reports", taker, new Date(now), DAY_MS)).toBe(false);
  });
});
