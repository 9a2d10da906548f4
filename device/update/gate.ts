/**
 * The health gate a new release must pass after it was switched to (update-state.ts "trying"):
 * connected to the gateway, a heartbeat sent on that connection, and the button self-test passed
 * (or not applicable to the driver), all before the deadline written at the switch. Passed: the
 * release is confirmed and old releases are pruned (the last good one is kept). Failed: `current`
 * goes back to the last good release and the agent asks to be restarted into it.
 *
 * A crash loop, a hang (the systemd watchdog kills it) or a reboot before the gate passes is the
 * guard's to roll back (guard.ts runs before every start). The outcome travels in every heartbeat.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { EventBus } from "../../shared/events.js";
import type { UpdateReport } from "../../shared/health.js";
import type { KioskEvents } from "../events.js";
import { ButtonCheck } from "../health/checks/button.js";
import { UPDATE_STATE_UNREADABLE } from "../health/faults.js";
import type { ButtonInput } from "../inputs/button.js";
import { pruneReleases } from "./apply.js";
import { currentRelease, readState, rollBack, updateHomeProblem, type UpdateState, writeState } from "./update-state.js";

export interface GateDeps {
  readonly home: string;
  readonly bus: EventBus<KioskEvents>;
  readonly button: Pick<ButtonInput, "driver" | "circuit">;
  readonly clock: Clock;
  readonly log: Logger;
  /** Ends the agent so that its supervisor (systemd) starts what `current` points at. */
  readonly restart: (reason: string) => void;
}

export class UpdateGate {
  private state: UpdateState | null = null;
  private connected = false;
  private heartbeat = false;
  private selfTest = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: GateDeps) {}

  /** Reads the state; when this start is a release being tried, runs its gate. */
  start(): void {
    const { log } = this.deps;
    try {
      this.state = readState(this.deps.home);
    } catch (err) {
      // Reported in every heartbeat: the centre sees this kiosk has no rollback protection.
      this.deps.bus.emit("part.degraded", { fault: UPDATE_STATE_UNREADABLE, on: true });
      log.error({ fault: UPDATE_STATE_UNREADABLE }, `${updateHomeProblem(err, this.deps.home)}: updates are off, and a new release would run with no health gate and no rollback, until it is fixed`);
      return;
    }
    const s = this.state;
    if (s === null || s.phase !== "trying" || s.target === null || currentRelease(this.deps.home) !== s.target) return;
    const remainingMs = Math.max(0, Date.parse(s.deadlineAt ?? "") - this.deps.clock.now().getTime()) || 0;
    log.info({ target: s.target, previous: s.current, attempt: s.attempts, remainingMs }, "new release started: health gate running");
    this.timer = setTimeout(() => this.fail(this.missing()), remainingMs);
    this.unsubscribe.push(
      this.deps.bus.on("link.up", "update-gate", () => {
        this.connected = true;
        this.check();
      }),
      this.deps.bus.on("heartbeat.sent", "update-gate", () => {
        this.heartbeat = this.connected;
        this.check();
      }),
    );
    void new ButtonCheck(this.deps.button).run().then(
      (outcome) => {
        if (outcome.result === "fail") this.fail(`button self-test failed: ${outcome.detail}`);
        else {
          this.selfTest = true;
          this.check();
        }
      },
      (err: unknown) => this.fail(`button self-test could not run: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** For the heartbeat. */
  report(): UpdateReport | null {
    const s = this.state;
    if (s === null) return null;
    return { phase: s.phase, current: s.current, target: s.target, failed: s.failed ?? null, reason: s.reason?.slice(0, 300) ?? null, at: s.updatedAt };
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const off of this.unsubscribe) off();
  }

  private missing(): string {
    const missing = [this.connected ? null : "not connected to the gateway", this.heartbeat ? null : "no heartbeat sent", this.selfTest ? null : "button self-test not passed"].filter((m) => m !== null);
    return `health gate not passed by its deadline: ${missing.join(", ")}`;
  }

  private check(): void {
    if (this.done || !this.connected || !this.heartbeat || !this.selfTest) return;
    this.done = true;
    this.stop();
    const s = this.state as UpdateState;
    const version = s.target as string;
    const confirmed: UpdateState = { ...s, phase: "confirmed", current: version, previous: s.current, target: null, attempts: 0, bootId: null, deadlineAt: null, failed: null, reason: null, updatedAt: this.deps.clock.now().toISOString() };
    try {
      writeState(this.deps.home, confirmed);
      this.state = confirmed;
      const removed = pruneReleases(this.deps.home, [version, s.current]);
      this.deps.log.info({ version, previous: s.current, pruned: removed }, "new release passed its health gate: confirmed");
    } catch (err) {
      // The state stays "trying": the next start's guard counts it, and the deadline rolls it back.
      this.deps.log.error({ err, version }, "cannot confirm the new release");
    }
  }

  private fail(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.stop();
    const s = this.state as UpdateState;
    this.deps.log.error({ failed: s.target, back: s.current, reason }, "new release failed its health gate: rolling back");
    try {
      this.state = rollBack(this.deps.home, s, reason, this.deps.clock.now());
    } catch (err) {
      this.deps.log.error({ err }, "cannot roll back here: the guard does it at the next start");
    }
    this.deps.restart(reason);
  }
}
