/** A supervisor over a real SQLite store with fake timers, for the supervision unit tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { KioskSupervisor, type SupervisorOptions } from "../../gateway/supervision/supervisor.js";
import type { StallWatch } from "../../gateway/supervision/stall.js";
import { SupervisionWriter } from "../../gateway/supervision/writer.js";
import type { Clock } from "../../shared/clock.js";
import { EventBus } from "../../shared/events.js";
import { type OpsEvent, opsEventSchema } from "../../shared/ops.js";
import { heartbeatPayload, type HeartbeatOverrides } from "../fixtures/heartbeat.js";
import { LogCapture } from "../fixtures/log-capture.js";

export const T0 = new Date("2025-03-01T12:00:00.000Z");
export const KIOSK = "kz-sup-0001";

export const defaultOptions: SupervisorOptions = {
  missedBeats: 2,
  graceMs: 1_000,
  defaultIntervalS: 10,
  maxClockSkewMs: 30_000,
  testAlarmOverdueMs: 26 * 3_600_000,
  offlineReminderMs: 15 * 60_000,
  restoreGraceMs: 75_000,
  maxHeartbeatBytes: 32_768,
  // Most supervision tests check each change on its own; the settle window has its own tests.
  settleMs: 0,
  maxHeartbeatsPerMinute: 6_000,
};

const clock: Clock = { now: () => new Date() }; // Date is faked along with the timers

export interface Rig {
  readonly store: SqliteStore;
  readonly supervisor: KioskSupervisor;
  readonly writer: SupervisionWriter;
  readonly bus: EventBus<GatewayEvents>;
  readonly logs: LogCapture;
  readonly states: GatewayEvents["kiosk.state"][];
  /** Kiosks the "broker" holds a live connection for. */
  readonly live: Set<string>;
  beat(overrides?: HeartbeatOverrides, kioskId?: string): void;
  connect(kioskId?: string): void;
  drop(kioskId?: string): void;
  /** Lets the writer commit, then reads what the store holds. */
  opsEvents(): Promise<OpsEvent[]>;
  /** A second supervisor over the same store, as after a gateway restart. */
  restart(options?: Partial<SupervisorOptions>): Promise<Rig>;
  close(): Promise<void>;
}

export async function registerKiosks(store: SqliteStore, ...ids: string[]): Promise<void> {
  for (const kioskId of ids) {
    await store.putKiosk({ kioskId, secretHash: "x", name: `Kiosk ${kioskId}`, location: { lat: 43, lon: 76, address: `km ${kioskId}` } }, { replace: true, now: new Date() });
  }
}

export async function makeRig(options: Partial<SupervisorOptions> = {}, existing?: { dir: string; store: SqliteStore }, extra: { stalls?: (bus: EventBus<GatewayEvents>, logs: LogCapture) => StallWatch } = {}): Promise<Rig> {
  if (existing === undefined) vi.useFakeTimers({ now: T0 });
  const dir = existing?.dir ?? mkdtempSync(join(tmpdir(), "sos-supervision-"));
  const store = existing?.store ?? SqliteStore.open(dir);
  if (existing === undefined) await registerKiosks(store, KIOSK, "kz-sup-0002");
  const logs = new LogCapture();
  const bus = new EventBus<GatewayEvents>(logs.logger("bus"));
  const writer = new SupervisionWriter(store, { flushMs: 5_000, ops: true, opsQueued: () => undefined }, logs.logger("writer"));
  const live = new Set<string>();
  const stalls = extra.stalls?.(bus, logs);
  const supervisor = new KioskSupervisor(
    { ...defaultOptions, ...options },
    { writer, bus, clock, log: logs.logger("supervision"), isConnected: (id) => live.has(id), ...(stalls === undefined ? {} : { stalls }) },
  );
  const states: GatewayEvents["kiosk.state"][] = [];
  bus.on("kiosk.state", "test", (e) => states.push(e));
  supervisor.load(await store.health.listHealth());
  writer.start();
  let closed = false;
  const rig: Rig = {
    store,
    supervisor,
    writer,
    bus,
    logs,
    states,
    live,
    beat: (overrides = {}, kioskId = KIOSK) => supervisor.heartbeat(kioskId, heartbeatPayload(overrides)),
    connect: (kioskId = KIOSK) => {
      live.add(kioskId);
      supervisor.connected(kioskId);
    },
    drop: (kioskId = KIOSK) => {
      live.delete(kioskId);
      supervisor.disconnected(kioskId);
    },
    opsEvents: async () => {
      await vi.advanceTimersByTimeAsync(0);
      await writer.drain();
      return (await store.health.listOps(1_000)).reverse().map((r) => opsEventSchema.parse(JSON.parse(r.body)));
    },
    restart: async (more = {}) => {
      supervisor.stop();
      await writer.stop();
      closed = true;
      return makeRig({ ...options, ...more }, { dir, store });
    },
    close: async () => {
      if (!closed) {
        supervisor.stop();
        await writer.stop();
      }
      if (existing === undefined) {
        vi.useRealTimers();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return rig;
}
