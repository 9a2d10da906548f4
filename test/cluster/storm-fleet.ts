/**
 * Real kiosk agents spread over gateway nodes (each kiosk's `mqtt.urls` starts at another node),
 * pressing throughout a storm: what they pressed (alertId → when), which node each is connected to
 * now, and the checks every cluster storm ends with (each alert at dispatch once, outboxes empty,
 * every kiosk on a live node).
 */
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import type { DispatchReceiver, ReceivedRequest } from "../fixtures/dispatch-receiver.js";
import { provisionTestKiosk, startTestKiosk, type StoreTarget, type TestKiosk } from "../integration/harness.js";

export interface FleetKiosk {
  readonly kiosk: TestKiosk;
  readonly id: string;
  /** Connected now (the link is up, subscriptions made). */
  up: boolean;
  /** The node URL of its current (or last) connection. */
  url: string | undefined;
}

export class StormFleet {
  readonly kiosks: FleetKiosk[] = [];
  /** alertId → when the kiosk recorded the press (epoch ms, this process's clock). */
  readonly pressed = new Map<string, number>();
  /** Each kiosk's next press, while pressing. */
  private readonly timers = new Set<NodeJS.Timeout>();

  /**
   * Provisions `count` kiosks in the store and starts them; resolves when every one is connected.
   * `timings`: "fast" (the harness's short reconnect and resend waits) or "production" (kiosk.json's
   * defaults: jittered reconnects capped at 3 s while an alert waits, resend after 10 s).
   */
  async start(count: number, store: StoreTarget, nodeUrls: readonly string[], bundleRoot: string, prefix: string, timings: "fast" | "production" = "fast"): Promise<this> {
    for (let i = 0; i < count; i += 1) {
      const id = `${prefix}${String(i).padStart(4, "0")}`;
      const provisioned = await provisionTestKiosk(store, id, nodeUrls[0] as string, bundleRoot);
      const { url: _one, ...mqtt } = provisioned.mqtt;
      const { reconnect: _r, alerts: _a, ...rest } = provisioned;
      const base = timings === "fast" ? provisioned : rest;
      // Every press a new alert (no coalescing into the open alarm): each one must reach dispatch.
      const config = parseKioskConfig({ ...base, mqtt: { ...mqtt, urls: [...nodeUrls] }, press: { ...provisioned.press, coalesceWhileOpen: false } });
      const kiosk = await startTestKiosk(config);
      const entry: FleetKiosk = { kiosk, id, up: false, url: undefined };
      this.kiosks.push(entry);
      kiosk.events.on("link.up", "storm", () => {
        entry.up = true;
        entry.url = kiosk.logs.find("connected to gateway").at(-1)?.url as string | undefined;
      });
      kiosk.events.on("link.down", "storm", () => (entry.up = false));
      kiosk.events.on("alert.recorded", "storm", ({ alert }) => this.pressed.set(alert.alertId, Date.now()));
    }
    await this.waitConnected(nodeUrls, 30_000);
    return this;
  }

  /**
   * Every kiosk presses about once per `everyMs`, at random moments, until `stopPressing`: each kiosk's
   * presses are a Poisson process of its own (exponential waits), so kiosks never press in step, also
   * across processes (a shared tick pressed several kiosks in the same millisecond).
   */
  startPressing(everyMs: number): void {
    this.clearPresses();
    for (const k of this.kiosks) {
      const next = (): void => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          k.kiosk.button.press();
          next();
        }, -Math.log(1 - Math.random()) * everyMs);
        this.timers.add(timer);
      };
      next();
    }
  }

  /** Stops pressing and waits for the last presses to be recorded (a press is one after its release). */
  async stopPressing(): Promise<void> {
    this.clearPresses();
    await new Promise((r) => setTimeout(r, 500));
  }

  /** The kiosks whose current connection is to `url`. */
  on(url: string): FleetKiosk[] {
    return this.kiosks.filter((k) => k.up && k.url === url);
  }

  /** Resolves when every kiosk is connected to one of `liveUrls`; rejects after timeoutMs naming those that are not. */
  async waitConnected(liveUrls: readonly string[], timeoutMs: number): Promise<number> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const off = this.kiosks.filter((k) => !k.up || k.url === undefined || !liveUrls.includes(k.url));
      if (off.length === 0) return Date.now() - started;
      if (Date.now() > deadline) throw new Error(`${off.length} kiosks not connected to a live node after ${timeoutMs} ms: ${off.slice(0, 5).map((k) => `${k.id} up=${k.up} url=${k.url}`).join(", ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kiosks with an alert still waiting for its ack. */
  unacked(): FleetKiosk[] {
    return this.kiosks.filter((k) => k.kiosk.outbox.depth > 0);
  }

  async stop(): Promise<void> {
    this.clearPresses();
    await Promise.all(this.kiosks.map((k) => k.kiosk.stop()));
  }

  private clearPresses(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** The 2xx requests the receiver got, per alertId (dispatch dedupes by Idempotency-Key = alertId). */
export function deliveriesById(receiver: DispatchReceiver): Map<string, ReceivedRequest[]> {
  const by = new Map<string, ReceivedRequest[]>();
  for (const r of receiver.requests) {
    if (r.status < 200 || r.status >= 300) continue;
    const list = by.get(r.body.alertId) ?? [];
    list.push(r);
    by.set(r.body.alertId, list);
  }
  return by;
}

/**
 * The alerts delivered more than once, each with why that is allowed or not. A second delivery is
 * legitimate only as the crash case of at-least-once: the same signed bytes under the same
 * Idempotency-Key, the first copy answered just before a node was killed (its sender died before
 * it could record the answer, so another node sent the job again after the claim's lease), and the
 * copy says it is a further attempt (X-Sos-Attempt higher: the lapsed claim counted as one).
 */
export function illegitimateDuplicates(by: Map<string, ReceivedRequest[]>, killedAt: readonly number[], windowMs = 2_000): string[] {
  const problems: string[] = [];
  for (const [alertId, copies] of by) {
    if (copies.length < 2) continue;
    const [first, ...rest] = copies as [ReceivedRequest, ...ReceivedRequest[]];
    if (rest.some((c) => c.raw !== first.raw || c.headers["idempotency-key"] !== alertId)) problems.push(`${alertId}: copies differ`);
    else if (rest.length > 1) problems.push(`${alertId}: delivered ${copies.length} times`);
    else if (Number(rest[0]?.headers["x-sos-attempt"]) <= Number(first.headers["x-sos-attempt"])) problems.push(`${alertId}: sent again as the same attempt`);
    else if (!killedAt.some((k) => first.at <= k + 500 && first.at >= k - windowMs)) problems.push(`${alertId}: delivered twice, the first not at a node's kill`);
  }
  return problems;
}
