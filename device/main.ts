/**
 * The kiosk agent's composition root: the only place that builds adapters and wires them.
 * Start order puts the button first: the outbox and the open-alarm state are read and the button is
 * armed before anything touches the network, so a press is on disk within a second of start,
 * whatever else (media, hardware probes, the network) is still starting or failing.
 */
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../shared/clock.js";
import type { KioskConfig } from "../shared/config/kiosk.js";
import type { Alert, AlertKind } from "../shared/contract.js";
import { ErrorCode } from "../shared/errors.js";
import { EventBus } from "../shared/events.js";
import { AGENT_VERSION, AlarmController } from "./alarm/alarm-controller.js";
import { OpenAlarmFile } from "./alarm/open-alarm.js";
import type { PromptPlayer } from "./audio/player.js";
import type { CallManager } from "./call/call-manager.js";
import { startCalls } from "./call/start-calls.js";
import type { KioskEvents } from "./events.js";
import type { FallbackHandle } from "./fallback/start-fallback.js";
import type { CommandRunner } from "./health/checks/runner.js";
import { ButtonFault } from "./health/button-fault.js";
import { FaultMonitor, MQTT_CONFIG_INVALID, OUTBOX_DAMAGED } from "./health/faults.js";
import type { SystemProbe } from "./health/probe.js";
import { alarmHoldsTests, type Health, startHealth } from "./health/start-health.js";
import { createHardware } from "./hardware.js";
import type { Indicator } from "./indicators/indicator.js";
import { INDICATOR_NOT_WORKING, startLights } from "./indicators/start-lights.js";
import type { ButtonInput } from "./inputs/button.js";
import type { SerialBinding } from "./inputs/serial-panel.js";
import { Sensors } from "./inputs/sensors.js";
import { Outbox } from "./link/outbox.js";
import type { MediaSession } from "./media/media.js";
import { PressRules } from "./press/press-rules.js";
import type { Modem } from "../shared/modem/modem.js";
import { notifierFromEnv, type ServiceNotifier, watchdogIntervalMs } from "../shared/service/notify.js";
import { AlarmPathWatchdog } from "../shared/service/watchdog.js";
import { UpdateGate } from "./update/gate.js";

export { AGENT_VERSION } from "./alarm/alarm-controller.js";

export interface KioskDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Default: the drivers named in the config. Tests pass fakes behind the same ports. */
  readonly button?: ButtonInput;
  readonly indicator?: Indicator;
  readonly player?: PromptPlayer;
  readonly media?: MediaSession;
  readonly stdin?: Readable;
  /** The serialport binding for a serial panel (tests pass @serialport/binding-mock). */
  readonly serialBinding?: SerialBinding;
  /** Health: what the heartbeat reads and how the self-tests run programs (tests pass fakes). */
  readonly probe?: SystemProbe;
  readonly runner?: CommandRunner;
  /** For the test alarm's jitter; default Math.random. */
  readonly random?: () => number;
  /** The second path's modem; default: the driver named in config.modem (tests pass a fake or a pty). */
  readonly modem?: Modem;
  /** systemd notifications; default: systemd-notify when NOTIFY_SOCKET is set, else nothing. */
  readonly notifier?: ServiceNotifier;
  /** Watchdog ping interval; default half of WATCHDOG_USEC, none without it. */
  readonly watchdogIntervalMs?: number | null;
  /**
   * Ends the process so its supervisor (systemd) starts what the `current` link points at: after a
   * new release failed its health gate. Default: logged only (a checkout has no supervisor).
   */
  readonly restart?: (reason: string) => void;
  /**
   * Why the link to the gateway stays off: kiosk.json's mqtt section is invalid (the config error,
   * naming each field; shared/config/kiosk-agent.ts). The button, the outbox and the lights run as
   * ever and the lights show the fault; the link is not started and config.mqtt is not read.
   */
  readonly linkProblem?: string;
  /**
   * kiosk.json sections other than mqtt that are invalid and run on their defaults
   * (shared/config/kiosk-agent.ts): said once, and reported as the fault `config:SECTION`.
   */
  readonly defaulted?: { readonly sections: readonly string[]; readonly problem: string };
}

export interface KioskHandle {
  readonly events: EventBus<KioskEvents>;
  readonly outbox: Outbox;
  readonly alarm: AlarmController;
  readonly faults: FaultMonitor;
  readonly calls: CallManager;
  /** Heartbeat, self-tests, test alarm. */
  readonly health: Health;
  /** Feeds systemd's watchdog while the alarm path is healthy. */
  readonly watchdog: AlarmPathWatchdog;
  /** Raises an alert without the button (test alarms, technicians). */
  raise(kind?: AlertKind): Alert;
  /** Resolves when the MQTT link and delivery are wired (the button works before that). */
  readonly linkReady: Promise<void>;
  /** The second path (SMS, voice over the modem); undefined without a modem. */
  readonly fallbackReady: Promise<FallbackHandle | undefined>;
  stop(): Promise<void>;
}

export async function startKiosk(config: KioskConfig, deps: KioskDeps): Promise<KioskHandle> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ kioskId: config.kioskId });
  const events = new EventBus<KioskEvents>(log);
  const outbox = new Outbox(config.dataDir, log.child({ subsystem: "outbox" }));
  const leftover = outbox.open();

  const sensors = new Sensors(log);
  const alarm = new AlarmController(config, {
    outbox,
    stateFile: new OpenAlarmFile(config.dataDir, log.child({ subsystem: "alarm" })),
    bus: events,
    clock,
    log: log.child({ subsystem: "alarm" }),
    sensors: () => sensors.snapshot(),
  });
  const rules = new PressRules(config.press, clock, (kind, at) => alarm.onPress(kind, at));

  const hardware = await createHardware(config, deps, clock, log);
  const { button, player } = hardware;
  button.on("press", (e) => rules.down(e.at));
  button.on("release", (e) => rules.up(e.at));
  sensors.attach(button);
  // A button that cannot be read is a fault from its first failure on, during start() too.
  const faults = new FaultMonitor(events, config.faultAfterLinkDownMs);
  const buttonFault = new ButtonFault(button, faults, log.child({ subsystem: "button" }));
  await button.start();
  let buttonRunning = true;
  // systemd hears READY once a press can be read and recorded; the watchdog is fed from now on.
  const notifier = deps.notifier ?? notifierFromEnv(process.env, log.child({ subsystem: "systemd" }));
  const pingEveryMs = deps.watchdogIntervalMs === undefined ? watchdogIntervalMs(process.env) : deps.watchdogIntervalMs;
  const armed = buttonFault.problem === null ? "button armed" : `button not working: ${buttonFault.problem}`;
  void notifier.notify({ READY: "1", STATUS: deps.linkProblem === undefined ? armed : `${armed}; link to the gateway off: kiosk.json's mqtt section is invalid` });
  // A restart cannot mend the disk, and would lose the alerts held in memory only: while there are
  // any, the watchdog is fed (the heartbeat reports outbox:not-durable).
  let holdingLogged = false;
  const outboxProblem = (): string | null => {
    const problem = outbox.writeProblem();
    if (problem === null || outbox.inMemoryOnly === 0) {
      holdingLogged = false;
      return problem;
    }
    if (!holdingLogged) log.error({ problem, inMemoryOnly: outbox.inMemoryOnly }, "outbox cannot be written and alerts are held in memory only: the watchdog stays fed, since a restart would lose them; check the data partition");
    holdingLogged = true;
    return null;
  };
  const watchdog = new AlarmPathWatchdog(
    notifier,
    [
      { name: "button", problem: () => (buttonRunning && button.alive?.() !== false ? null : `button: ${button.driver} driver not running`) },
      // Unplugged or missing hardware: said in STATUS, the watchdog fed (a restart cannot plug it back in).
      { name: "button hardware", restartCannotHelp: true, problem: () => buttonFault.problem },
      { name: "outbox", problem: () => outboxProblem() },
    ],
    { intervalMs: pingEveryMs ?? 0 },
    log.child({ subsystem: "watchdog" }),
  );
  if (pingEveryMs !== null) watchdog.start();
  log.info({ driver: button.driver, pending: leftover.length, openAlarm: alarm.openAlarm?.alert.alertId ?? null, startupMs: Math.round(performance.now()) }, "button armed");

  // Lights, prompts and fault watch come next; a failing indicator never blocks the button.
  const open = alarm.openAlarm;
  // The lights come up on their own: a hung chip probe (gpiodetect) holds up neither the link nor media.
  const { indicator } = startLights(hardware.indicatorDriver, hardware.createIndicator, {
    bus: events,
    player,
    initial: open === null ? "none" : open.received ? "received" : "sent",
    log: log.child({ subsystem: "indicator" }),
    onFault: (on) => faults.setDegraded(INDICATOR_NOT_WORKING, on),
  });
  faults.start();
  if (outbox.damaged.length > 0) faults.setDegraded(OUTBOX_DAMAGED, true);
  events.on("alert.acked", "alarm", ({ alertId }) => alarm.onAcked(alertId));
  // A refused open alarm takes no more presses: the next one raises a new alarm.
  events.on("alert.refused", "alarm", ({ alertId }) => alarm.onRefused(alertId));
  // The first acknowledgement on either path settles the alarm (docs/fallback.md).
  events.on("fallback.acked", "alarm", ({ alertId }) => alarm.onAcked(alertId));

  // Calls hear every alarm from now on; their media loads last, behind the link, and is never awaited.
  const calls = startCalls(config, { bus: events, player, clock, log, media: deps.media, openAlertId: open?.alert.alertId ?? null });

  let fallback: FallbackHandle | undefined;
  // A release being tried runs its health gate from now on (config.update.home: installed as a service).
  const home = config.update.home;
  const restart = deps.restart ?? ((reason: string) => log.error({ reason }, "restart the agent: current points at another release now"));
  const gate =
    home === undefined
      ? null
      : new UpdateGate({
          home,
          bus: events,
          button,
          clock,
          log: log.child({ subsystem: "update" }),
          restart,
        });
  gate?.start();

  // Health runs on its own timers (heartbeat, daily self-test, test alarm); nothing waits for it.
  const health = startHealth(config, {
    bus: events,
    clock,
    log,
    agentVersion: AGENT_VERSION,
    outbox,
    alarm,
    faults,
    calls: calls.manager,
    button,
    sensors: () => sensors.snapshot(),
    ...(deps.probe === undefined ? {} : { probe: deps.probe }),
    ...(deps.runner === undefined ? {} : { runner: deps.runner }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
    backupPath: () => fallback?.report(),
    ...(gate === null ? {} : { update: () => gate.report() }),
  });

  // The second path loads after the button is armed, beside the link; nothing waits for it.
  const fallbackReady = (async () => {
    if (config.modem.driver === "none" && deps.modem === undefined) return undefined;
    const { startFallback } = await import("./fallback/start-fallback.js");
    fallback = await startFallback(config, {
      outbox,
      bus: events,
      clock,
      log,
      player,
      faults,
      pending: leftover,
      // As for the test alarm: an open alarm holds the SMS test back, until it no longer takes presses.
      busy: () => alarmHoldsTests(alarm.openAlarm, clock.now(), config.press.reopenAfterMs),
      ...(deps.modem === undefined ? {} : { modem: deps.modem }),
      ...(deps.random === undefined ? {} : { random: deps.random }),
    });
    return fallback;
  })();
  fallbackReady.catch((err: unknown) => log.error({ err }, "the second path (modem) failed to start; alarms go over IP only"));

  // The network side loads after the button is armed (mqtt.js takes a while to import on a Pi).
  let stopLink: () => Promise<void> = () => Promise.resolve();
  const startLink = async (): Promise<void> => {
    const [{ connectLink }, { prepareTlsFiles }] = await Promise.all([import("./link/connect.js"), import("./link/tls-recovery.js")]);
    // An interrupted certificate swap is put right before the link reads the TLS files.
    await prepareTlsFiles(config, log.child({ subsystem: "tls" }));
    const link = connectLink(config, { outbox, alarm, calls: calls.manager, events, clock, log, agentVersion: AGENT_VERSION, onReleaseInstalled: () => restart("switched to a new release") });
    stopLink = () => link.stop();
    health.attachLink((heartbeat) => link.publishHeartbeat(heartbeat));
  };
  // With an invalid mqtt section the link is not started: presses wait in the outbox, the lights show the fault.
  if (deps.linkProblem !== undefined) keepLinkOff(deps.linkProblem, faults, log);
  if (deps.defaulted !== undefined) {
    for (const section of deps.defaulted.sections) faults.setDegraded(`config:${section}`, true);
    log.error({ code: ErrorCode.ConfigInvalid, sections: deps.defaulted.sections }, `${deps.defaulted.problem}; those sections run on their defaults until the file is fixed and the agent restarted (the button works)`);
  }
  const linkReady = deps.linkProblem === undefined ? startLink() : Promise.resolve();
  calls.startMedia(linkReady);

  return {
    events,
    outbox,
    alarm,
    faults,
    calls: calls.manager,
    health,
    watchdog,
    raise: (kind = "sos") => alarm.raise(kind, "manual"),
    linkReady,
    fallbackReady,
    async stop() {
      watchdog.stop();
      gate?.stop();
      void notifier.notify({ STOPPING: "1" });
      rules.stop();
      health.stop();
      alarm.stop();
      faults.stop();
      sensors.stop();
      buttonRunning = false;
      await button.stop();
      await linkReady.catch(() => undefined);
      await calls.stop();
      await stopLink();
      await fallbackReady.then((f) => f?.stop(), () => undefined);
      await indicator.stop();
      await player.stop();
      log.info({ pending: outbox.depth }, "kiosk agent stopped");
    },
  };
}

/** kiosk.json's mqtt section is invalid: said once, with the fix, and the lights show the kiosk out of order. */
function keepLinkOff(problem: string, faults: FaultMonitor, log: Logger): void {
  faults.set(MQTT_CONFIG_INVALID, true);
  log.error(
    { subsystem: "link", code: ErrorCode.ConfigInvalid, fault: MQTT_CONFIG_INVALID },
    `${problem}; the link to the gateway stays off until the file is fixed and the agent restarted (presses are kept on disk meanwhile)`,
  );
}
