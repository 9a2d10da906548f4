/**
 * Wires the kiosk's network side: the MQTT link, alert delivery from the outbox, commands from
 * the gateway (close-alarm), each answered on command-results, and call signaling to and from the
 * call manager. Loaded lazily by the composition root.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { gatewayUrls, type KioskConfig } from "../../shared/config/kiosk.js";
import type { Command, CommandResult } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { Heartbeat } from "../../shared/health.js";
import type { AlarmController } from "../alarm/alarm-controller.js";
import type { CallManager } from "../call/call-manager.js";
import type { KioskEvents } from "../events.js";
import { AlertDelivery } from "./delivery.js";
import { alarmHoldsTests } from "../health/start-health.js";
import { HomeReturn } from "./home-return.js";
import { LinkStatusFile } from "./link-status.js";
import { MqttLink } from "./mqtt-link.js";
import type { Outbox } from "./outbox.js";

export interface LinkDeps {
  readonly outbox: Outbox;
  readonly alarm: AlarmController;
  readonly calls: CallManager;
  readonly events: EventBus<KioskEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly agentVersion: string;
  /** A new release was switched to (install-release) and its answer sent: restart into it. */
  readonly onReleaseInstalled?: () => void;
}

export interface LinkHandle {
  /** QoS 0; rejects while the link is down. */
  publishHeartbeat(heartbeat: Heartbeat): Promise<void>;
  /** Says offline, disconnects cleanly and stops delivery. */
  stop(): Promise<void>;
}

/** The command's result; undefined when it must not be answered (the gateway sends it again). */
async function carryOut(command: Command, alarm: AlarmController, config: KioskConfig, log: Logger, installed: () => void): Promise<CommandResult | undefined> {
  switch (command.type) {
    case "install-release": {
      // Loaded only now: the update code is not on the alert path.
      const { installFromGateway } = await import("../update/remote.js");
      const outcome = await installFromGateway(config, command, log.child({ subsystem: "update" }));
      if (outcome.installed) installed();
      return outcome.result;
    }
    case "close-alarm": {
      // Idempotent: a repeated or stale close is still "ok", with what it found.
      const wasOpen = alarm.onClosed(command.alertId, command.outcome);
      return { v: 1, commandId: command.commandId, status: "ok", data: { wasOpen } };
    }
    case "renew-certificate":
    case "install-certificate": {
      // Loaded only now: the X.509 code is not on the alert path.
      const rotation = await import("./certificate.js");
      try {
        const data = command.type === "renew-certificate" ? await rotation.renewCertificate(config, command.commandId) : await rotation.installCertificate(config, command.certificate, { log: log.child({ subsystem: "tls" }) });
        return { v: 1, commandId: command.commandId, status: "ok", data };
      } catch (err) {
        // Answered "error" only with the old pair in place: the gateway revokes the new certificate then.
        if (err instanceof rotation.SwapNotUndone) return undefined;
        return { v: 1, commandId: command.commandId, status: "error", error: { code: "CERTIFICATE_ROTATION_FAILED", message: (err as Error).message } };
      }
    }
  }
}

/** Starts the link. */
export function connectLink(config: KioskConfig, deps: LinkDeps): LinkHandle {
  const { outbox, alarm, calls, events, clock, log } = deps;
  // While an SOS alert waits for its ack, the link retries within seconds (reconnect-policy.ts).
  const link = new MqttLink(config, log.child({ subsystem: "link" }), { agentVersion: deps.agentVersion, clock, urgent: () => outbox.holds("sos") });
  const delivery = new AlertDelivery(outbox, link, config.alerts, events, clock, log.child({ subsystem: "delivery" }));
  // For `sos kiosk doctor`: whether the gateway takes this kiosk's credentials (link-status.ts).
  const status = new LinkStatusFile(config.dataDir, clock, log.child({ subsystem: "link" }));
  status.connecting(link.url);
  link.on("up", () => {
    events.emit("link.up", {});
    delivery.onLinkUp();
    calls.onLinkUp();
    status.connected(link.url);
  });
  link.on("down", (e) => {
    events.emit("link.down", e);
    status.disconnected(link.url, e.reason);
  });
  link.on("refused", (e) => status.refused(e.url, e.reason));
  link.on("ack", (ack) => {
    // Nothing thrown here may reach mqtt.js's message handler: it would end the agent.
    try {
      delivery.onAck(ack);
    } catch (err) {
      log.error({ err, alertId: ack.alertId }, "handling an ack failed");
    }
  });
  link.on("command", (command) => {
    let restartAfterAnswer = false;
    void carryOut(command, alarm, config, log, () => (restartAfterAnswer = true)).then(async (result) => {
      if (result === undefined) return;
      log.info({ commandId: command.commandId, type: command.type, status: result.status }, "command carried out");
      // A lost result is harmless: the gateway sends the command again and the answer is the same.
      try {
        await link.publishCommandResult(result);
      } catch (err) {
        log.warn({ err, commandId: command.commandId }, "command result not sent; the gateway will ask again");
        // Switched already: restart anyway; the new release answers the repeated command "ok".
        if (restartAfterAnswer) deps.onReleaseInstalled?.();
        return;
      }
      if (restartAfterAnswer) deps.onReleaseInstalled?.();
      if (command.type === "install-certificate" && result.status === "ok") link.reloadCredentials("new certificate installed");
    });
  });
  link.on("call", (msg) => {
    // A fault in the call feature must not reach mqtt.js's packet handler (and the alert path).
    try {
      calls.onCallDown(msg);
    } catch (err) {
      log.error({ err, type: msg.type, callId: msg.callId }, "call message handling failed");
    }
  });
  calls.attachLink(link);
  alarm.submit = (alert) => {
    delivery.submit(alert);
    // Raised during a long wait for the gateway: try now rather than at the end of the wait.
    if (alert.kind === "sos" && !link.isUp) link.hurry();
  };
  // Several nodes: back to the first of its order now and then, when nothing is under way.
  const home = new HomeReturn(
    link,
    () => outbox.holds("sos") || alarmHoldsTests(alarm.openAlarm, clock.now(), config.press.reopenAfterMs) !== null || calls.status.phase !== "idle",
    { afterMs: gatewayUrls(config.mqtt).length > 1 ? config.mqtt.returnHomeAfterS * 1_000 : 0 },
    log.child({ subsystem: "link" }),
  );
  home.start();
  link.start();
  return {
    publishHeartbeat: (heartbeat) => link.publishHeartbeat(heartbeat),
    async stop() {
      home.stop();
      delivery.stop();
      await link.stop();
      status.flush();
    },
  };
}
