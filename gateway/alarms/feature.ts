/**
 * The console's alarms and fleet, wired in one place so main.ts stays small:
 *
 *   const alarms = new AlarmsFeature(config, deps);   // after supervision (it reads kiosk states)
 *   alarms.attach(broker);                             // call/up (call connected), call/down accepts, bus events
 *   await alarms.start();                              // escalation timers restored, webhook outbox
 *   routes: alarms.routes(authorize)                   // the HTTP API and the event stream
 *
 * Each lifecycle step is stored (store.alarms) and the updated alarm pushed to every page.
 */
import type DataLoader from "dataloader";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { parseTopic } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { CloseRequest } from "../alerts/close.js";
import type { GatewayBroker } from "../broker/broker.js";
import type { GatewayEvents } from "../events.js";
import { alarmRoutes, type Authorize } from "../http/alarm-routes.js";
import type { RouteGroup } from "../http/respond.js";
import { OutboxForwarder, type OutboxSender } from "../outbox/forwarder.js";
import { SignedWebhook } from "../outbox/signed-post.js";
import type { AcknowledgeResult, AlarmStep } from "../store/alarm-store.js";
import { batchedLookup } from "../store/batched-lookup.js";
import type { KioskHealthRow, TransitionRecord } from "../store/health-store.js";
import type { CloseAlertResult, GatewayStore, KioskRecord } from "../store/store.js";
import type { KioskView } from "../supervision/supervisor.js";
import type { CallGuard } from "./call-guard.js";
import { type CallEntry, KioskCalls } from "./calls.js";
import { EscalationTimers } from "./escalation.js";
import { showDispatchBanner } from "./dispatch-banner.js";
import { AlarmPages } from "./alarm-pages.js";
import { StepWriter } from "./step-writer.js";
import { EventStream } from "./stream.js";
import { type AlarmView, alarmViews, type FleetKiosk, fleetKiosk, type KioskSoftware, kioskSoftware, type RolloutView, rolloutView } from "./views.js";

/** Kiosk rows for the pages are read together over this long. */
const ROW_WINDOW_MS = 10;

export interface AlarmsDeps {
  readonly store: GatewayStore;
  readonly events: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly userAgent: string;
  /** The supervisor's live view of a kiosk. */
  readonly kioskState: (kioskId: string) => KioskView | undefined;
  readonly close: (request: CloseRequest) => Promise<CloseAlertResult>;
  /** Checks call messages against the contract (the broker checks kiosks' with it too). */
  readonly callGuard: CallGuard;
  /** Replaces the escalation webhook (tests). */
  readonly escalationSender?: OutboxSender;
}

/**
 * Heartbeat times go to pages in one `heartbeats` event this often, naming only the kiosks that beat
 * since the last one (every kiosk beats every 10 s: a whole row per beat froze pages of a large fleet).
 */
export const HEARTBEAT_PUSH_MS = 15_000;
/** `closedElsewhere` pushes only alarms closed this recently (older ones left the pages long ago). */
const RECENTLY_CLOSED_MS = 60_000;

export class AlarmsFeature {
  readonly stream = new EventStream();
  /** Each alarm's view on the pages of this node (and which alarm changed, to the other nodes). */
  readonly pages: AlarmPages;
  readonly escalation: EscalationTimers;
  private readonly forwarder: OutboxForwarder | undefined;
  private readonly log: Logger;
  private readonly healthRows: DataLoader<string, KioskHealthRow | undefined>;
  private readonly kioskRecords: DataLoader<string, KioskRecord | undefined>;
  /** Kiosk calls: the call step of an alarm's lifecycle, and who is in a call on an alarm. */
  readonly calls = new KioskCalls((call) => void this.callConnected(call));
  /** kioskId → state and failing parts last pushed to the pages. */
  private readonly pushed = new Map<string, string>();
  private readonly lastBeat = new Map<string, string>();
  private readonly beatsDirty = new Set<string>();
  private beatTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  /** Alarm steps, written again when the store could not (step-writer.ts). */
  private readonly steps: StepWriter;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: AlarmsDeps,
  ) {
    this.log = deps.log.child({ subsystem: "alarms" });
    this.pages = new AlarmPages(deps.store, this.stream, this.log);
    // A fleet coming online at once changes thousands of kiosks' rows a second: read together.
    this.healthRows = batchedLookup((ids) => deps.store.health.getHealthOf(ids), (r) => r.kioskId, ROW_WINDOW_MS);
    this.kioskRecords = batchedLookup((ids) => deps.store.getKiosks(ids), (k) => k.kioskId, ROW_WINDOW_MS);
    this.steps = new StepWriter(() => deps.store.alarms, (step) => this.stepped(step.alertId, step.type, step.actor), this.log);
    this.forwarder = this.createForwarder();
    const { nodeId, beatMs } = config.cluster;
    // A node of a cluster arms the others' alarms too, and follows them one beat behind (escalation.ts).
    const shared = nodeId === undefined ? {} : { shared: { syncMs: beatMs, takeoverMs: beatMs } };
    this.escalation = new EscalationTimers({ ...config.alarms, ...shared }, {
      store: deps.store,
      clock: deps.clock,
      log: this.log,
      escalated: (alertId) => {
        this.forwarder?.wake();
        this.stepped(alertId, "escalated", "gateway");
      },
    });
  }

  attach(broker: GatewayBroker): void {
    const { events } = this.deps;
    broker.handle("callUp", (kioskId, _topic, payload) => Promise.resolve(this.calls.up(kioskId, payload)));
    // Who pressed Accept, by the page's authenticated operator (the call step's actor).
    broker.handleOperator("callDown", (operator, topic, payload) => {
      const kioskId = parseTopic(topic)?.kioskId;
      const message = this.deps.callGuard.operatorMessage(operator, topic, payload);
      if (kioskId !== undefined && message !== undefined) this.calls.down(operator, kioskId, message);
    });
    this.unsubscribe.push(
      ...showDispatchBanner(events, this.stream),
      events.on("alert.stored", "alarms", (e) => void this.received(e)),
      events.on("alert.delivered", "alarms", (e) => void this.record({ alertId: e.alertId, type: "delivered", at: e.deliveredAt, actor: "dispatch", detail: { attempt: e.attempt, httpStatus: e.httpStatus } })),
      events.on("alert.presses", "alarms", (e) => void this.record({ alertId: e.alertId, type: "presses", at: this.now(), actor: "kiosk", detail: { pressCount: e.pressCount } })),
      events.on("alert.closed", "alarms", (e) => {
        this.escalation.cancel(e.alertId);
        this.stepped(e.alertId, "closed", e.closedBy);
      }),
      // An alarm closed by another process (`sos alerts close`): seen once its kiosk confirms the command.
      events.on("command.confirmed", "alarms", (e) => void this.closedElsewhere(e.kioskId)),
      events.on("kiosk.state", "alarms", (e) => void this.pushKiosk(e.kioskId)),
      // Before the CONNACK: the `connected` a kiosk repeats on its new connection comes after this.
      events.on("kiosk.authenticated", "alarms", (e) => this.calls.kioskBack(e.kioskId)),
      events.on("kiosk.heartbeat", "alarms", (e) => {
        if (!e.valid) return;
        this.lastBeat.set(e.kioskId, this.now());
        this.beatsDirty.add(e.kioskId);
      }),
    );
  }

  async start(): Promise<void> {
    const restored = await this.escalation.restore();
    this.forwarder?.start();
    this.beatTimer = setInterval(() => this.flushBeats(), HEARTBEAT_PUSH_MS);
    this.log.info({ unacknowledged: restored, escalationWebhook: this.forwarder !== undefined }, "alarm console started");
  }

  async stop(graceMs: number): Promise<void> {
    clearInterval(this.beatTimer);
    for (const off of this.unsubscribe.splice(0)) off();
    this.escalation.stop();
    this.steps.stop();
    this.stream.stop();
    await this.forwarder?.stop(graceMs);
  }

  routes(authorize: Authorize): RouteGroup {
    return alarmRoutes({ authorize, store: this.deps.store, alarms: this, close: this.deps.close });
  }

  /**
   * The first acknowledgement wins: it stops the escalation and the pages' alarm sound. `via`: the
   * operator's Acknowledge, or their answering the kiosk's call (callConnected).
   */
  async acknowledge(alertId: string, operator: string, via: "acknowledge" | "call" = "acknowledge"): Promise<AcknowledgeResult> {
    const r = await this.deps.store.alarms.acknowledge(alertId, operator, this.deps.clock.now());
    if (r.result === "acknowledged") {
      this.escalation.cancel(alertId);
      this.log.info({ alertId, operator, via }, "alarm acknowledged");
      this.stepped(alertId, "acknowledged", operator);
    }
    return r;
  }

  /**
   * Before an operator closes an alarm of kiosk `kioskId`: the operator of another operator's live call
   * on it (null when unknown), which refuses the close unless forced; undefined lets it go ahead. Only
   * that kiosk's own calls count.
   */
  closingCall(alertId: string, kioskId: string, operator: string, force: boolean): string | null | undefined {
    const call = this.calls.inCall(alertId, kioskId);
    if (call === undefined || call.operator === operator) return undefined;
    if (!force) return call.operator;
    this.log.warn({ alertId, operator, inCall: call.operator }, "alarm closed during another operator's call: the call ends");
    return undefined;
  }

  async fleet(): Promise<FleetKiosk[]> {
    const { store } = this.deps;
    const [rows, kiosks] = await Promise.all([store.health.listHealth(), store.listKiosks()]);
    const byId = new Map(kiosks.map((k) => [k.kioskId, k]));
    return rows.map((r) => fleetKiosk(r, byId.get(r.kioskId), this.deps.kioskState(r.kioskId), this.lastBeat.get(r.kioskId)));
  }

  async kioskPage(kioskId: string): Promise<{ kiosk: FleetKiosk; software: KioskSoftware | null; transitions: TransitionRecord[]; alarms: AlarmView[] } | undefined> {
    const kiosk = await this.fleetRow(kioskId);
    if (kiosk === undefined) return undefined;
    const { store } = this.deps;
    const [transitions, alerts, health] = await Promise.all([store.health.transitions(kioskId, 100), store.alarms.alertsOfKiosk(kioskId, 50), store.health.getHealth(kioskId, { reports: true })]);
    return { kiosk, software: kioskSoftware(health?.report ?? null), transitions, alarms: await alarmViews(store, alerts) };
  }

  /** The newest rollouts (sos release rollout), for the fleet page. */
  async rollouts(limit = 5): Promise<RolloutView[]> {
    return (await this.deps.store.releases.listRollouts()).slice(0, limit).map(rolloutView);
  }

  private createForwarder(): OutboxForwarder | undefined {
    const { url, secret, timeoutMs } = this.config.escalation;
    let sender = this.deps.escalationSender;
    if (sender === undefined && url !== undefined && secret !== undefined) {
      const webhook = new SignedWebhook({ url, secret, timeoutMs, userAgent: this.deps.userAgent, urlOption: "--escalation-url" });
      sender = { send: (job, attempt, signal) => webhook.post(job.id, job.body, attempt, signal) };
    }
    if (sender === undefined) return undefined;
    const alarms = this.deps.store.alarms;
    return new OutboxForwarder(
      { claim: (dueBy, limit, claim) => alarms.claimEscalations(dueBy, limit, claim), nextAt: (holder) => alarms.nextEscalationAt(holder), record: (a, next) => alarms.recordEscalationAttempt(a, next) },
      sender,
      this.config.escalation,
      { delivered: (job, attempt) => this.deps.events.emit("escalation.delivered", { eventId: job.id, attempt }) },
      { name: "escalation", idField: "eventId", delivered: "escalation event delivered", failed: "escalation event attempt failed: will retry" },
      this.deps.clock,
      this.deps.log.child({ subsystem: "escalation" }),
    );
  }

  private async received(e: GatewayEvents["alert.stored"]): Promise<void> {
    const live = this.deps.kioskState(e.kioskId);
    const health = live === undefined ? null : { state: live.state, since: live.since, components: live.components };
    if (e.kind === "sos") this.escalation.track(e.alertId, e.kioskId, e.receivedAt);
    // A test alarm is stored closed (outcome test): its timeline is complete, and no page is told.
    const sos = e.kind !== "test";
    // The steps are written after this tick: every SQLite write is an fsync on the one thread, and
    // the alert's ack and its dispatch (other listeners of alert.stored) must not wait for them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.record({ alertId: e.alertId, type: "pressed", at: e.pressedAt, actor: "kiosk", detail: {} }, false);
    await this.record({ alertId: e.alertId, type: "received", at: e.receivedAt, actor: "gateway", detail: { health, ...(e.channel === "sms" ? { channel: "sms" } : {}) } }, sos);
    if (!sos) await this.record({ alertId: e.alertId, type: "closed", at: e.receivedAt, actor: "system", detail: { outcome: "test" } }, false);
  }

  /**
   * A call's first `connected`: the lifecycle's call step (only for an alarm of the kiosk that rang),
   * by the operator whose accept the gateway saw and the kiosk took; null when none matches. That
   * operator answering the caller acknowledges the alarm, unless someone already did: the sound and
   * the escalation stop, and every page shows who took it. (Without it, an operator who answered
   * without pressing Acknowledge talked to the caller under the alarm tone while escalations went out.)
   */
  private async callConnected(call: CallEntry): Promise<void> {
    const { kioskId, callId } = call;
    try {
      const alert = await this.deps.store.getAlert(call.alertId);
      if (alert?.kioskId !== kioskId) {
        this.log.warn({ kioskId, callId, alertId: call.alertId }, "a kiosk's call named an alarm of another kiosk (or none): no call step stored");
        return;
      }
    } catch (err) {
      this.log.error({ err, kioskId, alertId: call.alertId }, "could not look up a call's alarm");
      return;
    }
    if (call.operator !== null) {
      const operator = call.operator;
      // Before the call step, so the timeline reads acknowledged → call connected.
      await this.acknowledge(call.alertId, operator, "call").catch((err: unknown) => {
        this.log.error({ err, kioskId, alertId: call.alertId, operator }, "could not acknowledge the alarm of an answered call: it escalates until acknowledged");
      });
    }
    await this.record({ alertId: call.alertId, type: "call-connected", at: this.now(), actor: call.operator, detail: { callId } });
  }

  private record(step: AlarmStep, push = true): Promise<void> {
    return this.steps.write(step, push);
  }

  /** A step was stored: tell the bus and the pages. */
  private stepped(alertId: string, type: AlarmStep["type"], actor: string | null): void {
    this.deps.events.emit("alarm.step", { alertId, type, actor });
    this.pages.changed(alertId);
  }

  /** A kiosk confirmed a command: its alarms closed recently (by `sos alerts close`) leave the pages. */
  private async closedElsewhere(kioskId: string): Promise<void> {
    try {
      const now = this.deps.clock.now().getTime();
      for (const alert of await this.deps.store.alarms.alertsOfKiosk(kioskId, 5)) {
        if (alert.closedAt === null) continue;
        this.escalation.cancel(alert.alertId);
        const recent = now - Date.parse(alert.closedAt) <= RECENTLY_CLOSED_MS;
        if (recent && alert.kind !== "test") this.pages.changed(alert.alertId);
      }
    } catch (err) {
      this.log.error({ err, kioskId }, "could not refresh a kiosk's alarms for the pages");
    }
  }

  private async fleetRow(kioskId: string): Promise<FleetKiosk | undefined> {
    const [row, kiosk] = await Promise.all([this.healthRows.load(kioskId), this.kioskRecords.load(kioskId)]);
    return row === undefined ? undefined : fleetKiosk(row, kiosk, this.deps.kioskState(kioskId), this.lastBeat.get(kioskId));
  }

  /** A kiosk's state or failing parts changed: its row goes to the pages (not when nothing they show changed). */
  private async pushKiosk(kioskId: string): Promise<void> {
    if (!this.stream.listened) {
      // Unheard: what was pushed last is no guide to what a page that opens later has seen.
      this.pushed.delete(kioskId);
      return;
    }
    try {
      const row = await this.fleetRow(kioskId);
      if (row === undefined) return;
      const shown = `${row.state}|${row.components.join(",")}`;
      if (this.pushed.get(kioskId) === shown) return;
      this.pushed.set(kioskId, shown);
      this.stream.send("kiosk", row);
    } catch (err) {
      this.log.error({ err, kioskId }, "could not build a kiosk for the pages");
    }
  }

  /** The heartbeat times of the kiosks that beat since the last batch, in one event. */
  private flushBeats(): void {
    if (this.beatsDirty.size === 0) return;
    const kiosks = [...this.beatsDirty].map((kioskId) => ({ kioskId, lastHeartbeatAt: this.lastBeat.get(kioskId) ?? null }));
    this.beatsDirty.clear();
    this.stream.send("heartbeats", { kiosks });
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}
