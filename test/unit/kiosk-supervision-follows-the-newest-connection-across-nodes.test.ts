/**
 * Supervision on several gateway nodes over one store (real SQLite, fake timers): a kiosk is
 * supervised by the node that holds its newest connection; the node it left never calls it
 * offline; the kiosks of a node that stops beating are taken over by one node and go offline on
 * the usual timeout, once, with reminders once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KioskOwners } from "../../gateway/cluster/kiosk-owners.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { KioskSupervisor } from "../../gateway/supervision/supervisor.js";
import { SupervisionWriter } from "../../gateway/supervision/writer.js";
import { EventBus } from "../../shared/events.js";
import { opsEventSchema } from "../../shared/ops.js";
import { heartbeatPayload } from "../fixtures/heartbeat.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { defaultOptions, KIOSK, registerKiosks, T0 } from "./supervision-rig.js";
import { ownerOf } from "../fixtures/kiosk-owner.js";

const BEAT_MS = 5_000;
const DEAD_AFTER_MS = 15_000;
const MOVE_GRACE_MS = 10_000;
// defaultOptions: heartbeats every 10 s, offline after 2 missed + 1 s grace = 21 s.
const SILENCE_MS = 21_000;
const clock = { now: () => new Date() };

interface Node {
  readonly holder: string;
  readonly supervisor: KioskSupervisor;
  readonly writer: SupervisionWriter;
  readonly owners: KioskOwners;
  readonly live: Set<string>;
  readonly logs: LogCapture;
  connect(kioskId?: string): void;
  drop(kioskId?: string): void;
  beat(kioskId?: string): void;
  /** Dies as a SIGKILLed process: no more timers, beats or writes. */
  kill(): void;
  killed: boolean;
}

describe("kiosk supervision across gateway nodes", () => {
  let dir = "";
  let store: SqliteStore;
  const nodes: Node[] = [];
  let beats: NodeJS.Timeout | undefined;

  async function cluster(...holders: string[]): Promise<Node[]> {
    vi.useFakeTimers({ now: T0 });
    dir = mkdtempSync(join(tmpdir(), "sos-owners-"));
    store = SqliteStore.open(dir);
    await registerKiosks(store, KIOSK, "kz-sup-0002");
    for (const holder of holders) {
      const logs = new LogCapture();
      const bus = new EventBus<GatewayEvents>(logs.logger("bus"));
      const writer = new SupervisionWriter(store, { flushMs: 1_000, ops: true, opsQueued: () => undefined }, logs.logger("writer"));
      const owners = new KioskOwners({ holder, everyMs: BEAT_MS, deadAfterMs: DEAD_AFTER_MS, moveGraceMs: MOVE_GRACE_MS }, { leases: () => store.leases, health: () => store.health, clock, log: logs.logger("owners") });
      const live = new Set<string>();
      const supervisor = new KioskSupervisor(defaultOptions, { writer, bus, clock, log: logs.logger("supervision"), isConnected: (id) => live.has(id), ownership: owners });
      supervisor.load(await store.health.listHealth());
      owners.start(supervisor);
      writer.start();
      const node: Node = {
        holder,
        supervisor,
        writer,
        owners,
        live,
        logs,
        killed: false,
        connect: (kioskId = KIOSK) => {
          live.add(kioskId);
          supervisor.connected(kioskId);
        },
        drop: (kioskId = KIOSK) => {
          live.delete(kioskId);
          supervisor.disconnected(kioskId);
        },
        beat: (kioskId = KIOSK) => supervisor.heartbeat(kioskId, heartbeatPayload({})),
        kill: () => {
          node.killed = true;
          owners.stop();
          supervisor.stop();
          void writer.stop();
        },
      };
      nodes.push(node);
    }
    const beatAll = async (): Promise<void> => {
      for (const n of nodes) if (!n.killed) await store.leases.beat({ nodeId: n.holder, holder: n.holder, startedAt: T0.toISOString(), beatAt: Date.now(), connections: 0, deadAfterMs: DEAD_AFTER_MS });
    };
    await beatAll();
    beats = setInterval(() => void beatAll(), BEAT_MS);
    return nodes;
  }

  afterEach(async () => {
    clearInterval(beats);
    for (const n of nodes.splice(0)) if (!n.killed) n.kill();
    await vi.advanceTimersByTimeAsync(2_000);
    vi.useRealTimers();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const transitions = async (kioskId = KIOSK): Promise<string[]> => {
    await vi.advanceTimersByTimeAsync(2_000); // the writers' flush
    return (await store.health.transitions(kioskId, 100)).reverse().map((t) => `${t.from}>${t.to}:${t.reason}`);
  };
  const reminders = async (): Promise<number[]> => (await store.health.listOps(1_000)).map((r) => opsEventSchema.parse(JSON.parse(r.body))).filter((e) => e.type === "reminder").map((e) => e.reminder).sort();

  /** Heartbeats every 10 s on `node` for `ms`. */
  async function keepBeating(node: Node, ms: number, kioskId = KIOSK): Promise<void> {
    for (let t = 0; t < ms; t += 10_000) {
      node.beat(kioskId);
      await vi.advanceTimersByTimeAsync(10_000);
    }
  }

  it("a kiosk that moves to another node is never called offline by the node it left (its old connection closing there later, its silence there)", async () => {
    const [a, b] = await cluster("a", "b");
    if (a === undefined || b === undefined) throw new Error("two nodes");
    a.connect();
    await keepBeating(a, 30_000);
    // Its link to A goes silent; it connects to B and beats there. A has not noticed yet.
    b.connect();
    await keepBeating(b, 60_000); // A's silence timer (21 s) fired meanwhile
    a.drop(); // A's keepalive finally closes the old connection (its last will)
    await keepBeating(b, 30_000);
    expect(await transitions()).toEqual(["never-seen>online:connected"]);
    expect(await ownerOf(store.leases, KIOSK)).toBe("b");
    expect(a.logs.find("kiosk supervised by another gateway now (its newest connection is there)").length).toBeGreaterThan(0);
    expect(a.supervisor.counts().online).toBe(0);
    expect(b.supervisor.counts().online).toBe(1);
    // Then it truly goes: B calls it offline, once.
    b.drop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(await transitions()).toEqual(["never-seen>online:connected", "online>offline:connection-lost"]);
  });

  it("a kiosk whose connection to A closes and that connects to B within the move grace is not offline; one that does not is, once", async () => {
    const [a, b] = await cluster("a", "b");
    if (a === undefined || b === undefined) throw new Error("two nodes");
    a.connect();
    a.beat();
    await vi.advanceTimersByTimeAsync(3_000);
    a.drop(); // A noticed first (its keepalive); the kiosk arrives on B 4 s later
    await vi.advanceTimersByTimeAsync(4_000);
    b.connect();
    await keepBeating(b, 60_000);
    expect(await transitions()).toEqual(["never-seen>online:connected"]);
    b.drop();
    await vi.advanceTimersByTimeAsync(MOVE_GRACE_MS - 3_000); // (reading the transitions lets 2 s more pass)
    expect(await transitions()).toEqual(["never-seen>online:connected"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await transitions()).toEqual(["never-seen>online:connected", "online>offline:connection-lost"]);
  });

  it("a kiosk that connects to the same node again within the move grace stays online, and its silence there is timed again", async () => {
    const [a] = await cluster("a", "b");
    if (a === undefined) throw new Error("two nodes");
    a.connect();
    a.beat();
    await vi.advanceTimersByTimeAsync(3_000);
    a.drop();
    await vi.advanceTimersByTimeAsync(2_000);
    a.connect(); // back on A within the grace: the wait is void
    await keepBeating(a, 30_000);
    expect(await transitions()).toEqual(["never-seen>online:connected"]);
    // Then it falls silent with its connection open: offline on the silence timeout, once.
    await vi.advanceTimersByTimeAsync(SILENCE_MS + MOVE_GRACE_MS);
    expect(await transitions()).toEqual(["never-seen>online:connected", "online>offline:heartbeats-missed"]);
  });

  it("a kiosk's state follows its newest connection: offline on A, it connects to B and B records it online; A's reminders stop", async () => {
    const [a, b] = await cluster("a", "b");
    if (a === undefined || b === undefined) throw new Error("two nodes");
    a.connect();
    a.beat();
    await vi.advanceTimersByTimeAsync(5_000);
    a.drop();
    await vi.advanceTimersByTimeAsync(16 * 60_000); // one reminder from A (every 15 min)
    expect(await reminders()).toEqual([1]);
    b.connect();
    await keepBeating(b, 40 * 60_000); // A's next reminders would have been due
    expect(await transitions()).toEqual(["never-seen>online:connected", "online>offline:connection-lost", "offline>online:connected"]);
    expect(await reminders()).toEqual([1]);
  });

  it("the kiosks of a node that stops beating are taken over by one node: offline on the usual timeout once, reminders once", async () => {
    const [a, b, c] = await cluster("a", "b", "c");
    if (a === undefined || b === undefined || c === undefined) throw new Error("three nodes");
    a.connect();
    a.connect("kz-sup-0002");
    a.beat();
    a.beat("kz-sup-0002");
    await vi.advanceTimersByTimeAsync(2_000); // heartbeats flushed to the store
    await a.writer.drain();
    a.kill(); // its kiosks die with it (not reconnected anywhere)
    const killedAt = Date.now();
    await vi.advanceTimersByTimeAsync(SILENCE_MS + DEAD_AFTER_MS + 2 * BEAT_MS);
    for (const id of [KIOSK, "kz-sup-0002"]) {
      const ts = (await store.health.transitions(id, 10)).reverse();
      expect(ts.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual(["never-seen>online:connected", "online>offline:heartbeats-missed"]);
      // Not before its last heartbeat's timeout; not later than the takeover plus a second.
      const offlineAt = Date.parse(ts[1]?.at ?? "");
      expect(offlineAt).toBeGreaterThanOrEqual(killedAt - 2_000 + SILENCE_MS);
      expect(offlineAt).toBeLessThanOrEqual(killedAt + DEAD_AFTER_MS + BEAT_MS + 1_000);
    }
    const owners = await store.leases.ownedCounts();
    expect(Object.keys(owners)).toHaveLength(1);
    expect(["b", "c"]).toContain(Object.keys(owners)[0]);
    await vi.advanceTimersByTimeAsync(31 * 60_000);
    expect(await reminders()).toEqual([1, 1, 2, 2]);
  });

  it("a node taking over a kiosk that has already reconnected elsewhere leaves it alone", async () => {
    const [a, b] = await cluster("a", "b");
    if (a === undefined || b === undefined) throw new Error("two nodes");
    a.connect();
    a.beat();
    await vi.advanceTimersByTimeAsync(2_000);
    a.kill();
    await vi.advanceTimersByTimeAsync(3_000);
    b.connect(); // the kiosk moved within seconds
    await keepBeating(b, 120_000);
    expect(await transitions()).toEqual(["never-seen>online:connected"]);
    expect(await ownerOf(store.leases, KIOSK)).toBe("b");
  });
});
