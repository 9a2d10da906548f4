/**
 * Supervision on a cluster: which gateway process supervises each kiosk, as supervisor.ts asks it.
 * Outside a cluster (no Ownership) every kiosk is this process's and nothing here waits.
 */
import type { Logger } from "pino";
import type { KioskHealthRow } from "../store/health-store.js";
import type { Watch } from "./watch.js";

/**
 * In a cluster a kiosk is supervised by the gateway process that holds its newest connection (or
 * that took it over from a node that stopped beating). Every decision that a kiosk went away
 * (disconnected, silent, still offline) is confirmed first: a kiosk that has moved to another node
 * is released here, never called offline by the node it left.
 */
export interface Ownership {
  /**
   * Records this process as the kiosk's supervisor (its newest connection is here); with `withState`,
   * resolves with its stored state too (undefined otherwise).
   */
  claim(kioskId: string, withState: boolean): Promise<KioskHealthRow | undefined>;
  /** Whether this process still supervises the kiosk; rejects when the store cannot say. */
  stillMine(kioskId: string): Promise<boolean>;
  /** How long a kiosk whose connection closed has to connect again (anywhere) before it is offline. */
  readonly moveGraceMs: number;
}

/** A store that cannot say whose kiosk it is: asked again after this long. */
const CONFIRM_RETRY_MS = 5_000;

export interface GateHooks {
  readonly stopped: () => boolean;
  /** The kiosk is another process's now: stop its timers here. */
  readonly release: (w: Watch) => void;
  /** Start from the kiosk's stored state (it was not this process's until now). */
  readonly restore: (w: Watch, row: KioskHealthRow) => void;
  readonly log: Logger;
}

export class OwnershipGate {
  constructor(
    private readonly ownership: Ownership | undefined,
    private readonly hooks: GateHooks,
  ) {}

  /**
   * Runs `then` if this process still supervises the kiosk (always, outside a cluster) and nothing
   * newer was heard of it meanwhile; a kiosk that moved to another node is released instead. A store
   * that cannot say is asked again shortly (nothing is decided on a guess).
   */
  confirm(w: Watch, then: () => void): void {
    const ownership = this.ownership;
    if (ownership === undefined) return then();
    const epoch = w.epoch;
    ownership.stillMine(w.kioskId).then(
      (mine) => {
        if (this.hooks.stopped() || w.epoch !== epoch || !w.owned) return;
        if (mine) then();
        else this.hooks.release(w);
      },
      (err: unknown) => {
        if (this.hooks.stopped() || w.epoch !== epoch) return;
        this.hooks.log.debug({ err, kioskId: w.kioskId }, "could not ask the store which gateway supervises the kiosk: asked again shortly");
        clearTimeout(w.reminder);
        w.reminder = setTimeout(() => this.confirm(w, then), CONFIRM_RETRY_MS);
      },
    );
  }

  /** Claims the kiosk for this process; `restore`: start from its stored state (it was not this process's). Held events run after. */
  claim(w: Watch, restore: boolean): void {
    const ownership = this.ownership;
    if (ownership === undefined) return;
    const done = (): void => {
      w.owned = true;
      const held = w.held ?? [];
      w.held = undefined;
      for (const event of held) event();
    };
    ownership.claim(w.kioskId, restore).then(
      (row) => {
        if (restore && row !== undefined && !this.hooks.stopped()) this.hooks.restore(w, row);
        done();
      },
      (err: unknown) => {
        // Supervised here all the same (it is connected here); the claim is made again at its next connection.
        this.hooks.log.warn({ err, kioskId: w.kioskId }, "could not record in the store that this gateway supervises the kiosk: supervised here from its last known state");
        done();
      },
    );
  }

  /** While a claim is under way, the kiosk's events wait for it (true: `event` was held). */
  hold(w: Watch, event: () => void): boolean {
    if (w.held === undefined) {
      if (this.ownership === undefined || w.owned) return false;
      w.held = [];
    }
    w.held.push(event);
    return true;
  }
}
