/**
 * Writes what supervision decides, without ever holding up the event loop for long:
 * - transitions and reminders (with their ops events) are batched per event-loop turn into one
 *   transaction, so a fleet dropping at once (a network cut) is a few transactions, not thousands;
 * - the latest heartbeat of each kiosk is kept in memory and written every flushMs, in chunks, each
 *   kiosk once per flush however often it beat (the CLI's view lags by up to flushMs). Its report is
 *   written when what it says changed (faults, self-tests, versions, the open alarm… `stableReport` below)
 *   and otherwise at most every REPORT_EVERY_MS: a report's readings (temperature, load, signal,
 *   uptimes, sequence number) change at every beat, and rewriting the whole report each time was 85 %
 *   of a 10 000-kiosk cluster's WAL (docs/benchmarks.md). Those readings in the store lag by up to that.
 * A failed write is kept and tried again in a second; nothing here ever throws into supervision.
 */
import type { Logger } from "pino";
import { retriedFailureLevel } from "../../shared/errors.js";
import type { Heartbeat } from "../../shared/health.js";
import type { HeartbeatRecord, QueuedOpsEvent, TransitionRecord } from "../store/health-store.js";
import type { GatewayStore } from "../store/store.js";
import { buildOpsEvent, type OpsEventInput } from "./ops.js";

const CHUNK = 500;
const RETRY_MS = 1_000;
/** A kiosk's report is written again at least this often while only its readings change. */
export const REPORT_EVERY_MS = 60_000;

/**
 * What a heartbeat's report says apart from its readings: what the console, `sos kiosks` and the
 * rollouts act on (versions, faults, self-tests, the open alarm, the outbox, the link's kind, the
 * update state). The readings (seq, sentAt, uptimes, system, the Wi-Fi signal) are left out.
 */
function stableReport(hb: Heartbeat): string {
  return JSON.stringify([hb.agentVersion, hb.intervalS, hb.link.type, hb.link.iface, hb.outboxDepth, hb.openAlarm, hb.faults, hb.selfTests, hb.lastTestAlarmAt, hb.kioskState, hb.backupPath ?? null, hb.update ?? null]);
}

export interface WriterOptions {
  readonly flushMs: number;
  /** Queue ops events (an ops URL is configured). */
  readonly ops: boolean;
  /** Called after ops events were committed (wakes the ops forwarder). */
  readonly opsQueued: () => void;
}

type Pending =
  | { readonly transition: TransitionRecord | null; readonly event: OpsEventInput }
  /** The gateway's own ops event (gateway-ops.ts), built already. */
  | { readonly transition: null; readonly built: QueuedOpsEvent };

export class SupervisionWriter {
  private pending: Pending[] = [];
  /**
   * The latest heartbeat of each kiosk since the last flush, as it will be stored, with its
   * `stableReport`. Whether its report is written is decided as it arrives, and a report that is not
   * is not kept: neither it nor the parsed heartbeat waits for the flush. Thousands of them held that
   * long were copied by every young collection and then promoted, to die in the old generation
   * (docs/benchmarks.md, runs 84–99).
   */
  private readonly beats = new Map<string, { record: HeartbeatRecord; stable: string }>();
  /** What each kiosk's report last written here said, and when it was written. */
  private readonly reported = new Map<string, { stable: string; atMs: number }>();
  /** What the reports the flush under way is writing say (kioskId → stableReport), until each is written. */
  private readonly writing = new Map<string, string>();
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private beatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private flushingBeats: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: GatewayStore,
    private readonly options: WriterOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.beatTimer = setInterval(() => void this.flushBeats(), this.options.flushMs);
  }

  transition(t: TransitionRecord, since: string): void {
    this.pending.push({
      transition: t,
      event: { type: "transition", kioskId: t.kioskId, state: t.to, previousState: t.from, reason: t.reason, components: t.components, since, at: t.at, reminder: 0 },
    });
    this.schedule();
  }

  reminder(event: OpsEventInput): void {
    if (!this.options.ops) return;
    this.pending.push({ transition: null, event });
    this.schedule();
  }

  /** Queues one of the gateway's own ops events (no transition), with the same batching and retries. */
  gatewayEvent(event: QueuedOpsEvent): void {
    if (!this.options.ops) return;
    this.pending.push({ transition: null, built: event });
    this.schedule();
  }

  /** `heartbeat`: the report parsed; what it says apart from its readings decides, as it arrives, whether the report is written at the flush. */
  heartbeat(record: HeartbeatRecord, heartbeat: Heartbeat): void {
    const stable = stableReport(heartbeat);
    // Against the report being written now, if any, else the last written. A beat waiting for the flush
    // was decided against the same, so one that said something new is followed by one that keeps saying it.
    const writing = this.writing.get(record.kioskId);
    const last = this.reported.get(record.kioskId);
    const unchanged = writing !== undefined ? writing === stable : last !== undefined && last.stable === stable && Date.now() - last.atMs < REPORT_EVERY_MS;
    this.beats.set(record.kioskId, { record: unchanged ? { ...record, report: null } : record, stable });
  }

  /** Writes everything still held (at shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beatTimer);
    clearTimeout(this.retryTimer);
    this.chain = this.chain.then(() => this.writeBatch());
    await this.chain;
    await this.flushBeats();
  }

  /** Resolves once everything queued so far is written (tests, shutdown). */
  async drain(): Promise<void> {
    this.chain = this.chain.then(() => this.writeBatch());
    await this.chain;
    await this.flushBeats();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.chain = this.chain.then(() => this.writeBatch());
    });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      const events: QueuedOpsEvent[] = [];
      if (this.options.ops) {
        // The kiosks of the batch's events in one read (a fleet coming online at once).
        const unbuilt = batch.flatMap((p) => ("built" in p ? [] : [p.event.kioskId]));
        const kiosks = new Map(unbuilt.length === 0 ? [] : (await this.store.getKiosks(unbuilt)).map((k) => [k.kioskId, k]));
        for (const p of batch) events.push("built" in p ? p.built : buildOpsEvent(p.event, kiosks.get(p.event.kioskId)));
      }
      const transitions = batch.flatMap((p) => (p.transition === null ? [] : [p.transition]));
      await this.store.health.recordSupervision({ transitions, events });
      if (events.length > 0) this.options.opsQueued();
    } catch (err) {
      this.log[retriedFailureLevel(err)]({ err, transitions: batch.length }, "could not store kiosk transitions; retrying in 1 s");
      this.pending = [...batch, ...this.pending];
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.schedule(), RETRY_MS);
    }
  }

  private flushBeats(): Promise<void> {
    this.flushingBeats ??= this.writeBeats().finally(() => {
      this.flushingBeats = undefined;
    });
    return this.flushingBeats;
  }

  private async writeBeats(): Promise<void> {
    const beats = [...this.beats.values()];
    this.beats.clear();
    for (const { record, stable } of beats) if (record.report !== null) this.writing.set(record.kioskId, stable);
    for (let i = 0; i < beats.length; i += CHUNK) {
      const chunk = beats.slice(i, i + CHUNK);
      const nowMs = Date.now();
      try {
        await this.store.health.saveHeartbeats(chunk.map((b) => b.record));
        for (const { record, stable } of chunk) if (record.report !== null) this.reported.set(record.kioskId, { stable, atMs: nowMs });
      } catch (err) {
        this.log[retriedFailureLevel(err) === "debug" ? "debug" : "warn"]({ err, heartbeats: chunk.length }, "could not store the latest heartbeats; kept for the next flush");
        for (const b of chunk) {
          const newer = this.beats.get(b.record.kioskId);
          if (newer === undefined) this.beats.set(b.record.kioskId, b);
          // A newer beat that left its report out because this one was being written: this one's report goes with it.
          else if (newer.record.report === null && b.record.report !== null) this.beats.set(b.record.kioskId, { ...newer, record: { ...newer.record, report: b.record.report } });
        }
      } finally {
        for (const { record } of chunk) this.writing.delete(record.kioskId);
      }
      // Let alerts through between chunks.
      if (i + CHUNK < beats.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
