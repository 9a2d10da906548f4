/**
 * The gateway under systemd (Type=notify, WatchdogSec=): READY=1 once startGateway has resolved
 * (the store is open and migrated, the broker and the HTTP port listen), STATUS=… lines for
 * `systemctl status`, WATCHDOG=1 pings while the gateway is healthy, STOPPING=1 at shutdown.
 * Through the kiosk's notifier (shared/service/notify.ts: the real systemd-notify, nothing at all
 * without NOTIFY_SOCKET) and watchdog (shared/service/watchdog.ts).
 *
 * What stops the pings (so systemd restarts the gateway): a stalled event loop (the watchdog's own
 * tick arrives late, or never: a wedged loop sends nothing), and a broker that no longer listens.
 * What does NOT: the store being unreachable. A restart would not bring PostgreSQL back; the
 * gateway rides out the outage by itself (store/availability.ts probes it; kiosks keep their alerts
 * and resend them) and restarting it in a loop would only drop every kiosk's connection and, after
 * StartLimitBurst, leave the gateway stopped. The outage shows in STATUS instead.
 */
import type { Logger } from "pino";
import type { ServiceNotifier } from "../../shared/service/notify.js";
import { AlarmPathWatchdog } from "../../shared/service/watchdog.js";
import type { GatewayHandle } from "../main.js";

export type ServedGateway = Pick<GatewayHandle, "mqttPort" | "mqttsPort" | "httpPort" | "events" | "storeStatus"> & { readonly broker: { readonly listening: boolean } };

export class GatewayService {
  readonly watchdog: AlarmPathWatchdog;
  private readonly started: boolean;
  private stopping = false;

  constructor(
    private readonly gateway: ServedGateway,
    private readonly notifier: ServiceNotifier,
    watchdogIntervalMs: number | null,
    private readonly log: Logger,
  ) {
    const checks = [{ name: "broker", problem: (): string | null => (gateway.broker.listening ? null : "the MQTT broker is not listening") }];
    // No interval (no WatchdogSec=): the watchdog is never started.
    this.watchdog = new AlarmPathWatchdog(notifier, checks, { intervalMs: watchdogIntervalMs ?? 60_000, subject: "gateway" }, log);
    this.started = watchdogIntervalMs !== null;
  }

  /** READY=1 with where it listens; the watchdog from now on; the store's outages as STATUS lines. */
  async ready(): Promise<void> {
    if (!this.notifier.enabled) return;
    const g = this.gateway;
    const store = g.storeStatus();
    const ports = `mqtt ${g.mqttPort || "off"}, mqtts ${g.mqttsPort ?? "off"}, http ${g.httpPort}`;
    await this.notifier.notify({ READY: "1", STATUS: `ready: ${ports}${store.up ? "" : `; store unreachable since ${store.since ?? "?"}`}` });
    g.events.on("store.down", "systemd", ({ since, lastError }) => this.status(`store unreachable since ${since}: alerts are not acknowledged until it answers (${lastError})`));
    g.events.on("store.up", "systemd", ({ downMs }) => this.status(`store answers again after ${Math.round(downMs / 1_000)} s`));
    if (this.started) this.watchdog.start();
    this.log.debug({ watchdog: this.started }, "systemd told the gateway is ready");
  }

  /** STOPPING=1 as the shutdown begins; pings stop (TimeoutStopSec= bounds the stop, not the watchdog). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watchdog.stop();
    if (this.notifier.enabled) await this.notifier.notify({ STOPPING: "1", STATUS: "stopping" });
  }

  private status(text: string): void {
    if (!this.stopping) void this.notifier.notify({ STATUS: text });
  }
}
