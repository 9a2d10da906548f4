/**
 * The lights as the kiosk runs them: the configured driver is made and started only after the
 * button is armed, and never stands in the alarm path's way. A driver that cannot be made (onoff's
 * native addon not built, a module missing) or whose start fails runs as no indicator: the state is
 * logged instead, the fault `indicator:not-working` is reported in the heartbeat (the kiosk still
 * raises alarms, so it changes no lights), and one error line says why and what to do.
 *
 * A pattern shown before the driver is up is kept and shown once it is (IndicatorController.refresh).
 */
import type { Logger } from "pino";
import { errorMessage, isSosError } from "../../shared/errors.js";
import type { EventBus } from "../../shared/events.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import { type AlarmPhase, IndicatorController } from "./controller.js";
import type { Indicator, LightPattern } from "./indicator.js";
import { LogIndicator } from "./none.js";

/** Reported (heartbeat) while the configured lights cannot be made or started: the kiosk runs without them. */
export const INDICATOR_NOT_WORKING = "indicator:not-working";

export interface GuardedIndicatorDeps {
  readonly log: Logger;
  /** Called with true when the driver could not be made or started. */
  readonly onFault: (on: boolean) => void;
}

export class GuardedIndicator implements Indicator {
  private inner: Indicator | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly driver: string,
    private readonly create: () => Promise<Indicator>,
    private readonly deps: GuardedIndicatorDeps,
  ) {}

  /** The driver running the lights (undefined while it is still being made). */
  get running(): Indicator | undefined {
    return this.inner;
  }

  /** Never rejects: a failure is logged, reported and replaced by no indicator. */
  start(): Promise<void> {
    this.starting ??= this.bringUp();
    return this.starting;
  }

  show(pattern: LightPattern): void {
    this.guard("show", () => this.inner?.show(pattern));
  }

  beep(durationMs: number): void {
    this.guard("beep", () => this.inner?.beep(durationMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.inner?.stop().catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err), driver: this.driver }, "indicator failed to stop"));
  }

  private async bringUp(): Promise<void> {
    let inner: Indicator;
    try {
      inner = await this.create();
    } catch (err) {
      // Our own errors already name the driver and the fix (createGpioIndicator).
      this.fail(err, isSosError(err) ? errorMessage(err) : `indicator driver "${this.driver}" cannot be loaded: ${errorMessage(err)}`);
      return;
    }
    if (this.stopped) return;
    this.inner = inner;
    try {
      await inner.start();
    } catch (err) {
      if (this.stopped) return;
      await inner.stop().catch(() => undefined);
      this.fail(err, `indicator driver "${this.driver}" failed to start: ${errorMessage(err)}`);
    }
  }

  private fail(err: unknown, problem: string): void {
    this.inner = this.stopped ? undefined : new LogIndicator(this.deps.log);
    this.deps.onFault(true);
    this.deps.log.error(
      { fault: INDICATOR_NOT_WORKING, driver: this.driver, code: (err as { code?: unknown }).code },
      `${problem}; the kiosk runs without its lights (the button works)`,
    );
  }

  /** A driver that throws (it should not) costs the lights, never the caller: the alarm path. */
  private guard(what: string, action: () => void): void {
    try {
      action();
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err), driver: this.driver, action: what }, "indicator driver threw: ignored");
    }
  }
}

export interface LightsDeps {
  readonly bus: EventBus<KioskEvents>;
  readonly player: PromptPlayer;
  readonly initial: AlarmPhase;
  readonly log: Logger;
  readonly onFault: (on: boolean) => void;
}

/** Starts the lights behind the button: resolves when the driver is up or has been given up for none. */
export function startLights(driver: string, create: () => Promise<Indicator>, deps: LightsDeps): { indicator: GuardedIndicator; lights: IndicatorController; ready: Promise<void> } {
  const indicator = new GuardedIndicator(driver, create, { log: deps.log, onFault: deps.onFault });
  const lights = new IndicatorController(indicator, deps.player, deps.bus, deps.initial, deps.log);
  const ready = indicator.start().then(() => lights.refresh());
  return { indicator, lights, ready };
}
