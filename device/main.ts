/**
 * The kiosk agent's composition root: the only place that builds adapters and wires them.
 * Start order puts the button first: the outbox is opened and the button armed before anything
 * touches the network, so a press is on disk within a second of start whatever else is failing.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../shared/clock.js";
import type { KioskConfig } from "../shared/config/kiosk.js";
import type { Alert, AlertKind } from "../shared/contract.js";
import { EventBus } from "../shared/events.js";
import type { KioskEvents } from "./events.js";
import type { ButtonInput } from "./inputs/button.js";
import { StdinButton } from "./inputs/stdin.js";
import type { AlertDelivery } from "./link/delivery.js";
import { Outbox } from "./link/outbox.js";

export const AGENT_VERSION = "0.1.0";

export interface KioskDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Defaults to the driver named in the config. Tests pass a fake behind the same port. */
  readonly button?: ButtonInput;
  readonly stdin?: Readable;
}

export interface KioskHandle {
  readonly events: EventBus<KioskEvents>;
  readonly outbox: Outbox;
  /** Raises an alert as a press would (used by the button handler and by tests). */
  raise(kind?: AlertKind): Alert;
  /** Resolves when the MQTT link and delivery are wired (the button works before that). */
  readonly linkReady: Promise<void>;
  stop(): Promise<void>;
}

function buttonFor(config: KioskConfig, deps: KioskDeps, clock: Clock): ButtonInput {
  if (deps.button !== undefined) return deps.button;
  switch (config.button.driver) {
    case "stdin":
      return new StdinButton(deps.stdin ?? process.stdin, clock, {
        enterIsPress: config.button.enterIsPress,
      });
    default:
      throw new Error(`button driver ${config.button.driver} is not wired yet`);
  }
}

export async function startKiosk(config: KioskConfig, deps: KioskDeps): Promise<KioskHandle> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ kioskId: config.kioskId });
  const events = new EventBus<KioskEvents>(log);
  const outbox = new Outbox(config.dataDir, log.child({ subsystem: "outbox" }));
  const leftover = outbox.open();
  let delivery: AlertDelivery | undefined;

  const raise = (kind: AlertKind = "sos", at: Date = clock.now()): Alert => {
    const started = performance.now();
    const alert: Alert = {
      v: 1,
      alertId: randomUUID(),
      kioskId: config.kioskId,
      kind,
      pressedAt: at.toISOString(),
      location: { ...config.location },
      agentVersion: AGENT_VERSION,
    };
    const durable = outbox.append(alert);
    const recordMs = performance.now() - started;
    log.info({ alertId: alert.alertId, kind, durable, recordMs: Math.round(recordMs * 100) / 100 }, "alert recorded");
    events.emit("alert.recorded", { alert, durable, recordMs });
    delivery?.submit(alert);
    return alert;
  };

  const button = buttonFor(config, deps, clock);
  button.on("press", (e) => raise("sos", e.at));
  button.on("error", (err) => log.error({ err, driver: button.driver }, "button driver error"));
  await button.start();
  log.info({ driver: button.driver, pending: leftover.length, startupMs: Math.round(performance.now()) }, "button armed");

  // The network side loads after the button is armed (mqtt.js takes a while to import on a Pi).
  let stopLink: () => Promise<void> = () => Promise.resolve();
  const linkReady = (async () => {
    const [{ MqttLink }, { AlertDelivery }] = await Promise.all([import("./link/mqtt-link.js"), import("./link/delivery.js")]);
    const link = new MqttLink(config, log.child({ subsystem: "link" }));
    const d = new AlertDelivery(outbox, link, config.alerts, events, clock, log.child({ subsystem: "delivery" }));
    link.on("up", () => {
      events.emit("link.up", {});
      d.onLinkUp();
    });
    link.on("down", (e) => events.emit("link.down", e));
    link.on("ack", (ack) => d.onAck(ack));
    delivery = d;
    link.start();
    stopLink = async () => {
      d.stop();
      await link.stop();
    };
  })();

  return {
    events,
    outbox,
    raise: (kind) => raise(kind),
    linkReady,
    async stop() {
      await button.stop();
      await linkReady.catch(() => undefined);
      await stopLink();
      log.info({ pending: outbox.depth }, "kiosk agent stopped");
    },
  };
}
