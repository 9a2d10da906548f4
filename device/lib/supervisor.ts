/**
 * Keeps a child process running: starts it, and when it exits (crash, unplugged device, killed)
 * starts it again after a backoff delay. Used for gpiomon/gpioset, the Firmata board process and,
 * later, the media process. Stop() ends it for good. The backoff resets once a child has stayed up
 * for `healthyAfterMs`.
 */
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { Backoff, type BackoffPolicy } from "../../shared/backoff.js";

export interface SupervisorEvents {
  spawn: [ChildProcess];
  exit: [{ code: number | null; signal: NodeJS.Signals | null; restartInMs: number | null }];
}

export interface SupervisorOptions {
  readonly name: string;
  readonly restart: BackoffPolicy;
  readonly healthyAfterMs?: number;
  /** Grace before SIGKILL when stopping. */
  readonly stopTimeoutMs?: number;
  /**
   * Only the first failure of a streak is logged at warn/error, the retries at debug, until a child
   * stays up healthyAfterMs (for a device retried every few hundred ms: the button's gpiomon).
   */
  readonly quietRetries?: boolean;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private startedAt = 0;
  private readonly backoff: Backoff;
  /** Children killed by respawn(): their exit starts the next child at once, outside the backoff. */
  private readonly planned = new WeakSet<ChildProcess>();
  /** quietRetries: a failure of this streak was logged already. */
  private failureLogged = false;
  restarts = 0;

  constructor(
    private readonly spawnChild: () => ChildProcess,
    private readonly options: SupervisorOptions,
    private readonly log: Logger,
  ) {
    super();
    this.backoff = new Backoff(options.restart);
  }

  get current(): ChildProcess | undefined {
    return this.child;
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  /** Kills the running child (it is restarted): for a device that went quiet. */
  restart(): void {
    this.child?.kill("SIGTERM");
  }

  /**
   * Replaces the running child at once, without backoff and without counting a restart: for a
   * planned change of its arguments (gpioset holding new line values). spawnChild is called again
   * when the old child has exited. With no child running (waiting out a backoff), this does
   * nothing: the pending start will pick up the new arguments.
   */
  respawn(): void {
    const child = this.child;
    if (this.stopped || child === undefined || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.planned.add(child);
    const killer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 2_000);
    child.once("exit", () => clearTimeout(killer));
    child.kill("SIGTERM");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 2_000);
      child.once("exit", () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }

  private launch(): void {
    if (this.stopped) return;
    let child: ChildProcess;
    try {
      child = this.spawnChild();
    } catch (err) {
      this.log[this.retryLevel("error")]({ err, process: this.options.name }, "cannot start child process");
      this.scheduleRestart(null, null);
      return;
    }
    this.child = child;
    this.startedAt = Date.now();
    child.once("error", (err) => {
      // ENOENT (the program is not installed) arrives here instead of an exit.
      this.log[this.retryLevel("error")]({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, process: this.options.name }, "child process error");
      // A child that never started (no pid) gets no 'exit' event; Node sets its exitCode to the
      // negative errno (-2 for ENOENT), so only the pid tells.
      if (child.pid === undefined) this.onExit(child, null, null);
    });
    child.once("exit", (code, signal) => this.onExit(child, code, signal));
    this.emit("spawn", child);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.stopped) {
      this.emit("exit", { code, signal, restartInMs: null });
      return;
    }
    if (this.planned.has(child)) {
      this.emit("exit", { code, signal, restartInMs: 0 });
      this.launch();
      return;
    }
    if (Date.now() - this.startedAt >= (this.options.healthyAfterMs ?? 10_000)) {
      this.backoff.reset();
      this.failureLogged = false;
    }
    this.scheduleRestart(code, signal);
  }

  /** The level for a failure: `level`, or debug for a quiet supervisor's retries after the first. */
  private retryLevel(level: "warn" | "error"): "warn" | "error" | "debug" {
    return this.options.quietRetries === true && this.failureLogged ? "debug" : level;
  }

  private scheduleRestart(code: number | null, signal: NodeJS.Signals | null): void {
    const restartInMs = this.backoff.next();
    this.restarts += 1;
    this.log[this.retryLevel("warn")]({ process: this.options.name, code, signal, restartInMs, restarts: this.restarts }, "child process ended: restarting");
    if (this.options.quietRetries === true) this.failureLogged = true;
    this.emit("exit", { code, signal, restartInMs });
    this.restartTimer = setTimeout(() => this.launch(), restartInMs);
  }
}
