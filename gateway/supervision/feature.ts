/**
 * Supervision wired in one place so main.ts stays small:
 *
 *   const supervision = new SupervisionFeature(config, deps);  // before the broker starts
 *   supervision.attach(broker);                                 // heartbeat and status handlers, bus events
 *   await supervision.start();                                  // restore stored states, arm timers
 *   … broker.start() …
 *   stop: supervision.stop() after broker.stop() (the broker's own shutdown is not kiosks going offline)
 *
 * The registry is read every registryPollMs for kiosks provisioned or (de)commissioned by the CLI
 * meanwhile (an admin change, not a detection path: offline detection is per-kiosk timers only).
 */
import type { Logger } from "pino";
import { retriedFailureLevel } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayBroker } from "../broker/broker.js";
import type { GatewayEvents } from "../events.js";
import type { OutboxForwarder, OutboxSender } from "../outbox/forwarder.js";
import type { GatewayStore } from "../store/store.js";
import { alwaysMine, type IsMine } from "../cluster/singleton.js";
import type { KioskOwners } from "../cluster/kiosk-owners.js";
import { reportGatewayEvents } from "./gateway-ops.js";
import { createOpsForwarder } from "./ops.js";
import { StallDetector } from "./stall.js";
import { KioskSupervisor } from "./supervisor.js";
import { SupervisionWriter } from "./writer.js";

const DAY_MS = 24 * 60 * 60_000;
/** The lease of the daily history pruning: held a little less than a day, renewed by the holder's next run. */
export const PRUNE_JOB = "prune-history";
const PRUNE_LEASE_MS = 23 * 60 * 60_000;

export interface SupervisionDeps {
  readonly store: GatewayStore;
  readonly events: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly userAgent: string;
  /** Replaces the ops webhook (tests). */
  readonly opsSender?: OutboxSender;
  /** Whether this gateway runs a cluster-wide job now (cluster/singleton.ts); default: always. */
  readonly mine?: IsMine;
  /** A cluster node: which process supervises each kiosk (cluster/kiosk-owners.ts); none: this one, all. */
  readonly owners?: KioskOwners;
}

export class SupervisionFeature {
  readonly supervisor: KioskSupervisor;
  readonly writer: SupervisionWriter;
  private readonly ops: OutboxForwarder | undefined;
  private readonly log: Logger;
  private readonly unsubscribe: (() => void)[] = [];
  private registryTimer: NodeJS.Timeout | undefined;
  private registryMark: string | null = null;
  private polling = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private broker: GatewayBroker | undefined;
  private readonly stalls: StallDetector;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: SupervisionDeps,
  ) {
    this.log = deps.log.child({ subsystem: "supervision" });
    this.ops = createOpsForwarder(config, { ...deps, log: deps.log.child({ subsystem: "ops" }), ...(deps.opsSender === undefined ? {} : { sender: deps.opsSender }) });
    this.writer = new SupervisionWriter(deps.store, { flushMs: config.supervision.heartbeatFlushMs, ops: this.ops !== undefined, opsQueued: () => this.ops?.wake() }, this.log);
    const { offlineReminderMs, restoreGraceMs, maxHeartbeatBytes, settleMs, maxHeartbeatsPerMinute, stallThresholdMs, ...rules } = config.supervision;
    this.stalls = new StallDetector({ tickMs: 500, thresholdMs: stallThresholdMs }, { now: () => deps.clock.now().getTime(), log: this.log, bus: deps.events });
    this.supervisor = new KioskSupervisor(
      { ...rules, offlineReminderMs, restoreGraceMs, maxHeartbeatBytes, settleMs, maxHeartbeatsPerMinute, stallThresholdMs },
      {
        writer: this.writer,
        bus: deps.events,
        clock: deps.clock,
        log: this.log,
        isConnected: (kioskId) => this.broker?.isConnected(kioskId) ?? false,
        stalls: this.stalls,
        ...(deps.owners === undefined ? {} : { ownership: deps.owners }),
      },
    );
  }

  attach(broker: GatewayBroker): void {
    this.broker = broker;
    const { events } = this.deps;
    const s = this.supervisor;
    broker.handle("heartbeat", (kioskId, _topic, payload) => Promise.resolve(s.heartbeat(kioskId, payload)));
    broker.handle("status", (kioskId, _topic, payload) => Promise.resolve(s.status(kioskId, payload)));
    this.unsubscribe.push(
      events.on("kiosk.connected", "supervision", ({ kioskId }) => s.connected(kioskId)),
      events.on("kiosk.disconnected", "supervision", ({ kioskId }) => s.disconnected(kioskId)),
      events.on("alert.stored", "supervision", (e) => {
        if (e.kind === "test") s.testAlert(e.kioskId, Date.parse(e.receivedAt));
      }),
      // The gateway's own troubles (dispatch unreachable, a stalled loop) on the ops webhook too.
      ...reportGatewayEvents(events, (e) => this.writer.gatewayEvent(e), { now: () => this.deps.clock.now().getTime() }),
    );
  }

  /** Restores every registered kiosk's stored state (never-seen when none), then starts the timers. */
  async start(): Promise<void> {
    const rows = await this.deps.store.health.listHealth();
    this.registryMark = (await this.deps.store.health.registryChangedSince(null)).at(-1)?.updatedAt ?? null;
    this.supervisor.load(rows);
    this.deps.owners?.start(this.supervisor);
    this.writer.start();
    this.stalls.start();
    this.ops?.start();
    this.registryTimer = setInterval(() => void this.pollRegistry(), this.config.supervision.registryPollMs);
    void this.pruneHistory();
    this.pruneTimer = setInterval(() => void this.pruneHistory(), DAY_MS);
    // In a cluster a node supervises its share: the states it starts with are of that share, the
    // registered count is the fleet's (each node adopts the rest as their kiosks come to it).
    const supervised = this.supervisor.counts();
    const here = Object.values(supervised).reduce((a, b) => a + b, 0);
    this.log.info({ registered: rows.length, supervisedHere: here, supervised, ops: this.ops !== undefined }, "supervision started");
  }

  /** Wakes the ops forwarder (tests, and after a manual change). */
  wakeOps(): void {
    this.ops?.wake();
  }

  async stop(graceMs: number): Promise<void> {
    clearInterval(this.registryTimer);
    clearInterval(this.pruneTimer);
    this.stalls.stop();
    for (const off of this.unsubscribe.splice(0)) off();
    this.deps.owners?.stop();
    this.supervisor.stop();
    await this.writer.stop();
    await this.ops?.stop(graceMs);
  }

  /** Keeps the history tables bounded: supervision.historyDays of delivered events and transitions. */
  private async pruneHistory(): Promise<void> {
    // One gateway of a cluster prunes each day (the others' daily checks find the lease held).
    if (!(await (this.deps.mine ?? alwaysMine)(PRUNE_JOB, PRUNE_LEASE_MS))) return;
    const before = new Date(this.deps.clock.now().getTime() - this.config.supervision.historyDays * DAY_MS);
    try {
      const pruned = await this.deps.store.health.pruneHistory(before);
      if (pruned.opsEvents + pruned.transitions + pruned.testAlerts + pruned.rejected > 0) this.log.info({ ...pruned, before: before.toISOString() }, "old supervision history deleted");
    } catch (err) {
      this.log.warn({ err }, "could not delete old supervision history; trying again tomorrow");
    }
  }

  private async pollRegistry(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const changes = await this.deps.store.health.registryChangedSince(this.registryMark);
      for (const change of changes) {
        this.supervisor.registered(change.kioskId);
        this.supervisor.setDecommissioned(change.kioskId, change.decommissionedAt !== null);
        this.registryMark = change.updatedAt;
      }
    } catch (err) {
      this.log[retriedFailureLevel(err, "warn")]({ err }, "could not read the kiosk registry; trying again at the next poll");
    } finally {
      this.polling = false;
    }
  }
}
