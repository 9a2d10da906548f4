/**
 * What a kiosk may say on its `call/up`, checked by the broker before anyone receives it
 * (BrokerDeps.checkKioskPublish): the message must match the contract (shared/call.ts) within
 * MAX_CALL_MESSAGE_BYTES, and an alarm it names must be one of THIS kiosk's alarms — open, for a ring.
 * Without this a kiosk could ring on another kiosk's alarm: that card would ring in every console,
 * and the operator who answered would be connected to the wrong kiosk, seeing the other one's
 * address and photo.
 *
 * A refused message is dropped, not answered with a disconnect: a legitimate kiosk can race its
 * own alarm (a ring sent as the alarm is closed; rings repeat every 5 s), and its connection carries
 * its alerts. A ring that overtakes its own alert (both leave the kiosk together; the alert is still
 * being stored when the ring is checked) waits for it, up to UNKNOWN_ALARM_GRACE_MS. Every refusal is counted
 * (`call.refused` → sos_call_messages_refused_total) and logged sampled (a misbehaving kiosk must
 * not flood the log). Operators' `call/down` messages that break the contract are counted and
 * logged the same way (the kiosk drops them).
 *
 * The alarm lookup is one primary-key read in SQLite per ring (a ringing kiosk repeats it every
 * 5 s) and per `connected` repeated after a link comes back; other messages name no alarm.
 */
import type { Logger } from "pino";
import type { z } from "zod";
import { type CallDown, callDownSchema, type CallUp, callUpSchema } from "../../shared/call.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { describeZodError, parseTopic } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import { RefusalLog, type SampledLine } from "../broker/refusal-log.js";
import type { GatewayEvents } from "../events.js";
import type { GatewayStore } from "../store/store.js";

const CALL_UP_REFUSED: SampledLine = { message: "call message refused: dropped", summary: "call message refusals not logged one by one" };
const CALL_DOWN_INVALID: SampledLine = { message: "call message breaks the contract", summary: "call message refusals not logged one by one" };

/**
 * The largest call message: an offer or answer carries an SDP of up to 64 000 characters (the
 * contract's cap), whose line breaks JSON escapes; ICE, rings and states are a few hundred bytes.
 */
export const MAX_CALL_MESSAGE_BYTES = 131_072;

/** Why a call message was refused: the metric's label (a fixed set). */
export type CallRefusal = "too-large" | "malformed" | "unknown-alarm" | "another-kiosks-alarm" | "alarm-closed" | "lookup-failed";

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly refusal: CallRefusal; readonly detail: string };

/** What the store knows of an alarm, for this check. */
export interface AlarmOwner {
  readonly kioskId: string;
  readonly closed: boolean;
}

const OK: Verdict = { ok: true };

/** A call message against the contract: too large, not JSON, or not matching the schema. */
export function parseCallMessage<S extends z.ZodType>(schema: S, payload: Buffer): { ok: true; message: z.infer<S> } | Extract<Verdict, { ok: false }> {
  if (payload.length > MAX_CALL_MESSAGE_BYTES) return { ok: false, refusal: "too-large", detail: `${payload.length} bytes, over the ${MAX_CALL_MESSAGE_BYTES}-byte limit` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString("utf8"));
  } catch {
    return { ok: false, refusal: "malformed", detail: "not JSON" };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, refusal: "malformed", detail: describeZodError(parsed.error).slice(0, 300) };
}

/**
 * The policy for one kiosk's `call/up` message. A ring must name an open alarm of this kiosk; a
 * state that names an alarm (the `connected` repeated after a link comes back) one of its alarms.
 */
export async function decideCallUp(kioskId: string, payload: Buffer, alarmOwner: (alertId: string) => Promise<AlarmOwner | undefined>): Promise<Verdict> {
  const parsed = parseCallMessage(callUpSchema, payload);
  if (!parsed.ok) return parsed;
  const alertId = namedAlarm(parsed.message);
  if (alertId === undefined) return OK;
  let alarm: AlarmOwner | undefined;
  try {
    alarm = await alarmOwner(alertId);
  } catch (err) {
    return { ok: false, refusal: "lookup-failed", detail: `alarm ${alertId}: ${(err as Error).message}` };
  }
  if (alarm === undefined) return { ok: false, refusal: "unknown-alarm", detail: `no alarm ${alertId}` };
  if (alarm.kioskId !== kioskId) return { ok: false, refusal: "another-kiosks-alarm", detail: `alarm ${alertId} belongs to kiosk ${alarm.kioskId}` };
  if (parsed.message.type === "ring" && alarm.closed) return { ok: false, refusal: "alarm-closed", detail: `alarm ${alertId} is closed` };
  return OK;
}

function namedAlarm(message: CallUp): string | undefined {
  if (message.type === "ring") return message.alertId;
  if (message.type === "state") return message.alertId;
  return undefined;
}

export interface CallGuardDeps {
  readonly store: Pick<GatewayStore, "getAlert">;
  readonly events: EventBus<GatewayEvents>;
  readonly log: Logger;
}

/**
 * A ring naming an alarm the store does not know yet is looked up again once its alert is stored, or
 * after this long: a kiosk sends its alert and its first ring together, and the ring's check often
 * runs while the alert is still being stored. Only then is it dropped as unknown.
 */
export const UNKNOWN_ALARM_GRACE_MS = 2_000;

/** The policy wired to the store, the metric and a sampled log. */
export class CallGuard {
  private readonly refusals: RefusalLog;
  /** alertId → the checks waiting for that alert to be stored. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    limits: GatewayConfig["limits"],
    private readonly deps: CallGuardDeps,
  ) {
    this.refusals = new RefusalLog(deps.log, { perKey: limits.refusalLogPerKey, total: limits.refusalLogTotal, windowMs: limits.refusalLogWindowMs });
  }

  start(): void {
    this.refusals.start();
    this.unsubscribe ??= this.deps.events.on("alert.stored", "call-guard", (e) => this.storedNow(e.alertId));
  }

  stop(): void {
    this.refusals.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const id of [...this.waiting.keys()]) this.storedNow(id);
  }

  /** BrokerDeps.checkKioskPublish: null lets a kiosk's message through, a reason drops it. */
  async checkKioskPublish(kioskId: string, topic: string, payload: Buffer): Promise<string | null> {
    if (parseTopic(topic)?.name !== "callUp") return null;
    const verdict = await decideCallUp(kioskId, payload, async (alertId) => {
      const found = await this.owner(alertId);
      if (found !== undefined || this.unsubscribe === undefined) return found;
      // Perhaps still being stored (it left the kiosk with this message): looked up again once it is, or after the grace.
      await this.storedOrLater(alertId);
      return this.owner(alertId);
    });
    if (verdict.ok) return null;
    this.refused("up", verdict, { kioskId, address: `kiosk:${kioskId}` });
    return `${verdict.refusal}: ${verdict.detail}`;
  }

  private async owner(alertId: string): Promise<AlarmOwner | undefined> {
    const alert = await this.deps.store.getAlert(alertId);
    return alert === undefined ? undefined : { kioskId: alert.kioskId, closed: alert.closedAt !== null };
  }

  /** Resolves when `alertId` is stored here, or after UNKNOWN_ALARM_GRACE_MS. */
  private storedOrLater(alertId: string): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(alertId) ?? new Set<() => void>();
      this.waiting.set(alertId, waiters);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(alertId) === waiters) this.waiting.delete(alertId);
        resolve();
      };
      const timer = setTimeout(done, UNKNOWN_ALARM_GRACE_MS);
      waiters.add(done);
    });
  }

  private storedNow(alertId: string): void {
    for (const done of [...(this.waiting.get(alertId) ?? [])]) done();
  }

  /** An operator's `call/down` message, parsed; one that breaks the contract is counted, logged and undefined. */
  operatorMessage(operator: string, topic: string, payload: Buffer): CallDown | undefined {
    const parsed = parseCallMessage(callDownSchema, payload);
    if (parsed.ok) return parsed.message;
    this.refused("down", parsed, { operator, kioskId: parseTopic(topic)?.kioskId ?? null, address: `operator:${operator}` });
    return undefined;
  }

  private refused(direction: "up" | "down", verdict: Extract<Verdict, { ok: false }>, who: { kioskId: string | null; operator?: string; address: string }): void {
    this.deps.events.emit("call.refused", { direction, reason: verdict.refusal, kioskId: who.kioskId });
    this.refusals.refused(`call-${direction}:${verdict.refusal}`, { ...who, direction, reason: verdict.refusal, detail: verdict.detail }, direction === "up" ? CALL_UP_REFUSED : CALL_DOWN_INVALID);
  }
}
