/**
 * Whether the store answers. Every call on the store is watched (`watch`): a failed one makes the
 * store suspect and it is probed at once; a failed probe is an outage, said once in the log and as
 * `store.down` on the bus (the /readyz check, the sos_store_up gauge), then probed every `probeMs`
 * until it answers, said once again (`store.up`). Nothing here stops the gateway: while the store is
 * down an alert cannot be stored, so it is not acknowledged, and the kiosk keeps it and resends it.
 * Backend-neutral: the probe is an ordinary read, so a database that is gone and a file that cannot
 * be read look the same, and a refused write (a constraint, a full disk) on a readable store is not
 * an outage.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { errorMessage } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";

/** Store calls that answer with something other than a promise (an async iterable): their failures are thrown as they are. */
const THROWS_AS_IS = new Set(["readRelease"]);

export interface StoreStatus {
  readonly up: boolean;
  /** When the outage began (the first failed call), while down. */
  readonly since: string | null;
  readonly lastError: string | null;
}

export interface AvailabilityDeps {
  /** A cheap read on the unwatched store. */
  readonly probe: () => Promise<unknown>;
  readonly probeMs: number;
  readonly events: EventBus<GatewayEvents>;
  readonly clock: Clock;
  readonly log: Logger;
}

export class StoreAvailability {
  private up = true;
  private since: Date | null = null;
  private lastError: string | null = null;
  private probing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: AvailabilityDeps) {}

  status(): StoreStatus {
    return { up: this.up, since: this.since?.toISOString() ?? null, lastError: this.lastError };
  }

  /** The same store, every call on it (and on its sub-stores) observed. */
  watch<T extends object>(store: T): T {
    const proxies = new WeakMap<object, object>();
    const wrap = <U extends object>(target: U): U => {
      const known = proxies.get(target);
      if (known !== undefined) return known as U;
      const proxy = new Proxy(target, {
        get: (obj, prop, receiver) => {
          const value: unknown = Reflect.get(obj, prop, receiver);
          if (typeof value === "function") {
            return (...args: unknown[]): unknown => {
              let result: unknown;
              try {
                result = (value as (...a: unknown[]) => unknown).apply(obj, args);
              } catch (err) {
                this.failed(err);
                // Every store call answers with a promise; SQLite's do their work before making it, so
                // their failures (SQLITE_FULL on a full disk) are thrown. A caller that only .catch()es
                // (a timer's beat) would let one through and end the process: it is a rejection here.
                if (typeof prop === "string" && THROWS_AS_IS.has(prop)) throw err;
                return Promise.reject(err instanceof Error ? err : new Error(String(err)));
              }
              if (result instanceof Promise) {
                return result.then(
                  (v: unknown) => v,
                  (err: unknown) => {
                    this.failed(err);
                    throw err;
                  },
                );
              }
              return result;
            };
          }
          if (value !== null && typeof value === "object" && !(value instanceof Date)) return wrap(value);
          return value;
        },
      });
      proxies.set(target, proxy);
      return proxy;
    };
    return wrap(store);
  }

  /** A call failed: probe now (once at a time); an unanswered probe is an outage. */
  failed(err: unknown): void {
    if (this.stopped) return;
    this.lastError = errorMessage(err);
    if (!this.up) return; // already down: the probe timer is running
    this.since ??= this.deps.clock.now();
    this.probeNow();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private probeNow(): void {
    if (this.probing !== null || this.stopped) return;
    this.probing = this.deps
      .probe()
      .then(
        () => this.answered(),
        (err: unknown) => this.unanswered(err),
      )
      .finally(() => {
        this.probing = null;
      });
  }

  private answered(): void {
    if (this.up) {
      this.since = null; // a single failed call on a store that answers: not an outage
      return;
    }
    const now = this.deps.clock.now();
    const since = this.since ?? now;
    const downMs = now.getTime() - since.getTime();
    this.up = true;
    this.since = null;
    this.deps.log.info({ since: since.toISOString(), downMs }, "store reachable again: alerts are stored and acknowledged");
    this.deps.events.emit("store.up", { since: since.toISOString(), at: now.toISOString(), downMs });
  }

  private unanswered(err: unknown): void {
    this.lastError = errorMessage(err);
    if (this.up) {
      this.up = false;
      const since = (this.since ??= this.deps.clock.now()).toISOString();
      this.deps.log.error({ err, since }, "store unreachable: alerts are not acknowledged (kiosks keep them and resend) until it answers again");
      this.deps.events.emit("store.down", { since, lastError: this.lastError });
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.probeNow();
    }, this.deps.probeMs);
    this.timer.unref();
  }
}
