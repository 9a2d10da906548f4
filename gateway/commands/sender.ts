/**
 * Delivers commands to kiosks from the durable command outbox (kiosk_commands): sent when the kiosk
 * connects, and again every resendMs until the kiosk confirms on its command-results topic. Commands
 * written by another process (the `sos alerts close` CLI) are picked up by a light poll of the table.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { retriedFailureLevel } from "../../shared/errors.js";
import { commandResultSchema, describeZodError } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { GatewayStore, PendingCommand } from "../store/store.js";

export interface CommandChannel {
  isConnected(kioskId: string): boolean;
  publishCommand(kioskId: string, payload: string): Promise<void>;
}

export interface CommandSenderOptions {
  /** How often the outbox is read for commands from other processes. */
  readonly pollMs: number;
  /** An unconfirmed command is sent again after this long. */
  readonly resendMs: number;
}

/** A woken kiosk waits this long for others (a storm's connections come a few milliseconds apart). */
const WAKE_WINDOW_MS = 10;

export class CommandSender {
  private timer: NodeJS.Timeout | undefined;
  private readonly woken = new Set<string>();
  private wakeTimer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly store: GatewayStore,
    private readonly channel: CommandChannel,
    private readonly options: CommandSenderOptions,
    private readonly bus: EventBus<GatewayEvents>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.tick();
  }

  /**
   * Sends what is due now (a kiosk connected, or a command was just written in this process). The
   * kiosks woken within WAKE_WINDOW_MS are looked up together: a reconnect storm of thousands of
   * kiosks costs a few reads of the outbox, not one per kiosk.
   */
  wake(kioskId?: string): void {
    if (kioskId === undefined) return this.sendNow(undefined);
    this.woken.add(kioskId);
    this.wakeTimer ??= setTimeout(() => {
      const kioskIds = [...this.woken];
      this.woken.clear();
      this.wakeTimer = undefined;
      this.sendNow(kioskIds);
    }, WAKE_WINDOW_MS);
  }

  private sendNow(kioskIds: readonly string[] | undefined): void {
    void this.sendDue(kioskIds, true).catch((err: unknown) => this.log[retriedFailureLevel(err)]({ err }, "sending commands failed"));
  }

  /** A message on `sos/v1/kiosks/{kioskId}/command-results` from that kiosk. */
  async handleResult(kioskId: string, payload: Buffer): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      this.log.warn({ kioskId, bytes: payload.length }, "command result rejected: not JSON");
      return;
    }
    const parsed = commandResultSchema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ kioskId, reason: describeZodError(parsed.error) }, "command result rejected: does not match the contract");
      return;
    }
    const result = parsed.data;
    const confirmed = await this.store.confirmCommand(result.commandId, kioskId, JSON.stringify(result), this.clock.now());
    if (confirmed === "unknown") {
      this.log.warn({ kioskId, commandId: result.commandId }, "command result for a command this kiosk was not sent: ignored");
      return;
    }
    // A result sent again (a resend crossed it, or a replay) is confirmed once: what follows a
    // confirmation (a certificate issued for a renewal) happens once.
    if (confirmed === "again") return this.log.debug({ kioskId, commandId: result.commandId }, "command result repeated: already confirmed");
    if (result.status === "error") {
      this.log.error({ kioskId, commandId: result.commandId, code: result.error.code, reason: result.error.message }, "kiosk could not carry out a command");
    } else this.log.info({ kioskId, commandId: result.commandId }, "command confirmed by kiosk");
    this.bus.emit("command.confirmed", { commandId: result.commandId, kioskId });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.wakeTimer);
  }

  private tick(): void {
    if (this.stopped) return;
    this.sendDue(undefined, false)
      .catch((err: unknown) => this.log[retriedFailureLevel(err)]({ err }, "sending commands failed"))
      .finally(() => {
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.options.pollMs);
      });
  }

  private async sendDue(kioskIds: readonly string[] | undefined, force: boolean): Promise<void> {
    if (this.running && !force) return;
    this.running = true;
    try {
      const now = this.clock.now().getTime();
      for (const command of await this.store.pendingCommands(kioskIds)) {
        if (!this.channel.isConnected(command.kioskId)) continue;
        if (!force && command.lastSentAt !== null && now - command.lastSentAt < this.options.resendMs) continue;
        await this.send(command, force);
      }
    } finally {
      this.running = false;
    }
  }

  private async send(command: PendingCommand, force: boolean): Promise<void> {
    // Claimed before it is published: another gateway process on the same store does not send it too
    // within resendMs (last_sent_at is the claim). A publish that fails is sent again after resendMs.
    if (!(await this.store.claimCommandSend(command.commandId, this.clock.now(), { resendMs: this.options.resendMs, force }))) return;
    await this.channel.publishCommand(command.kioskId, command.payload);
    this.log.info({ kioskId: command.kioskId, commandId: command.commandId, sentCount: command.sentCount + 1 }, "command sent to kiosk");
  }
}
