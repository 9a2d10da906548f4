/**
 * Telling systemd how the agent is doing (sd_notify): READY=1 once the button path is up,
 * WATCHDOG=1 while the alarm path is healthy, STATUS=… for `systemctl status`, STOPPING=1 on stop.
 *
 * Node cannot open the unix datagram socket NOTIFY_SOCKET names, so the real notifier runs the
 * `systemd-notify` program (the unit needs NotifyAccess=all, since the sender is a child). systemd
 * 252 (Bookworm) sends a BARRIER=1 after each message and waits for the manager to read it, so the
 * message is attributed to our unit before the child exits. Sends are one at a time, in order; a
 * watchdog ping asked for while another ping still waits its turn is dropped (one is enough), so
 * a slow or hung systemd-notify never piles up processes.
 *
 * Outside systemd (no NOTIFY_SOCKET) the notifier does nothing at all: no process is started.
 */
import { spawn } from "node:child_process";
import type { Logger } from "pino";

export interface ServiceNotifier {
  /** False when there is no service manager to tell (everything is then a no-op). */
  readonly enabled: boolean;
  /** Resolves once the message was handed over (true) or could not be (false). Never rejects. */
  notify(fields: Readonly<Record<string, string>>): Promise<boolean>;
}

export const noNotifier: ServiceNotifier = { enabled: false, notify: () => Promise.resolve(false) };

const SEND_TIMEOUT_MS = 5_000;
const MAX_QUEUED = 8;

export interface SystemdNotifierOptions {
  /** NOTIFY_SOCKET's value. */
  readonly socket: string;
  /** The program; default `systemd-notify` from PATH. */
  readonly program?: string;
}

export class SystemdNotifier implements ServiceNotifier {
  readonly enabled = true;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private pingQueued = false;
  private failingReported = false;

  constructor(
    private readonly options: SystemdNotifierOptions,
    private readonly log: Logger,
  ) {}

  notify(fields: Readonly<Record<string, string>>): Promise<boolean> {
    const pingOnly = Object.keys(fields).length === 1 && fields.WATCHDOG === "1";
    if ((pingOnly && this.pingQueued) || this.queued >= MAX_QUEUED) return Promise.resolve(false);
    this.queued += 1;
    if (pingOnly) this.pingQueued = true;
    const sent = this.chain
      .then(() => {
        if (pingOnly) this.pingQueued = false;
        return this.send(fields);
      })
      .finally(() => (this.queued -= 1));
    this.chain = sent;
    return sent;
  }

  private send(fields: Readonly<Record<string, string>>): Promise<boolean> {
    // One line per value: a newline inside a value would start a new assignment.
    const args = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\s*\n\s*/g, " ")}`);
    return new Promise((resolve) => {
      const child = spawn(this.options.program ?? "systemd-notify", args, {
        env: { ...process.env, NOTIFY_SOCKET: this.options.socket },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (text: string) => (stderr = (stderr + text).slice(-500)));
      const timer = setTimeout(() => child.kill("SIGKILL"), SEND_TIMEOUT_MS);
      const done = (ok: boolean, why: string): void => {
        clearTimeout(timer);
        if (!ok && !this.failingReported) {
          this.failingReported = true;
          this.log.error({ why, stderr: stderr.trim() }, "cannot notify systemd (is systemd-notify installed?): the watchdog will restart the agent");
        }
        if (ok) this.failingReported = false;
        resolve(ok);
      };
      child.once("error", (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) done(false, `spawn: ${err.code ?? err.message}`);
      });
      child.once("close", (code, signal) => done(code === 0, signal === null ? `exit ${code}` : `killed by ${signal}`));
    });
  }
}

/** The notifier for this process's environment: systemd-notify under systemd, nothing elsewhere. */
export function notifierFromEnv(env: NodeJS.ProcessEnv, log: Logger, program?: string): ServiceNotifier {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === "") return noNotifier;
  return new SystemdNotifier({ socket, ...(program === undefined ? {} : { program }) }, log);
}

/**
 * How often to ping: half of WatchdogSec (WATCHDOG_USEC), as sd_watchdog_enabled advises; null when
 * the unit has no watchdog or it is meant for another process (WATCHDOG_PID).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (env.WATCHDOG_USEC === undefined || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(50, Math.floor(usec / 1_000 / 2));
}
