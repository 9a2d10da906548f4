/**
 * Wires the kiosk's health feature: the heartbeat (sent while the link is up), the daily self-test
 * and the scheduled test alarm. Everything here runs on its own timers; the alert path never waits
 * for it, and a failure in it is logged, never thrown at the button.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { KioskState } from "../../shared/contract.js";
import type { UpdateReport } from "../../shared/health.js";
import type { EventBus } from "../../shared/events.js";
import type { BackupPath } from "../../shared/health.js";
import type { AlarmController } from "../alarm/alarm-controller.js";
import type { CallManager } from "../call/call-manager.js";
import type { KioskEvents } from "../events.js";
import type { ButtonInput } from "../inputs/button.js";
import type { Outbox } from "../link/outbox.js";
import { createChecks } from "./checks/index.js";
import { type CommandRunner, spawnRunner } from "./checks/runner.js";
import type { FaultMonitor } from "./faults.js";
import { type HeartbeatPublisher, HeartbeatSender } from "./heartbeat.js";
import { LinuxSystemProbe, type SystemProbe } from "./probe.js";
import { gatherHeartbeat } from "./report.js";
import { SelfTests } from "./self-tests.js";
import { TestAlarmSchedule } from "./test-alarm.js";

export interface HealthDeps {
  readonly bus: EventBus<KioskEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly agentVersion: string;
  readonly outbox: Outbox;
  readonly alarm: AlarmController;
  readonly faults: FaultMonitor;
  readonly calls: CallManager;
  readonly button: ButtonInput;
  readonly sensors: () => KioskState;
  /** Default: the Linux files. Tests pass a fake. */
  readonly probe?: SystemProbe;
  /** Default: spawn. Tests pass a fake. */
  readonly runner?: CommandRunner;
  readonly random?: () => number;
  /** The second path's health for the heartbeat (set once the modem is wired). */
  readonly backupPath?: () => BackupPath | undefined;
  /** The software update's state for the heartbeat (device/update/gate.ts). */
  readonly update?: () => UpdateReport | null;
}

export interface Health {
  readonly heartbeat: HeartbeatSender;
  readonly selfTests: SelfTests;
  readonly testAlarm: TestAlarmSchedule;
  /** Gives the heartbeat the link's publish function once the link is wired. */
  attachLink(publish: HeartbeatPublisher): void;
  stop(): void;
}

const HOUR_MS = 60 * 60_000;

/**
 * Why an open alarm holds the self-tests and the test alarm back now, or null. An alarm nobody at
 * the centre closed stops holding them once a new press would no longer join it (reopenAfterMs):
 * the kiosk must not stop proving itself for good.
 */
export function alarmHoldsTests(open: { readonly openedAt: string } | null, now: Date, reopenAfterMs: number): string | null {
  if (open === null) return null;
  return now.getTime() - Date.parse(open.openedAt) < reopenAfterMs ? "alarm open" : null;
}

/** Once at start, off the button's path: a prompt missing or unplayable is found now, not at the first real press. */
async function reportPromptFiles(config: KioskConfig, faults: FaultMonitor, log: Logger): Promise<void> {
  try {
    const { checkPromptFiles, promptsFix, PROMPTS_FAULT } = await import("../audio/prompt-files.js");
    const found = await checkPromptFiles(config.audio);
    faults.setDegraded(PROMPTS_FAULT, found.problems.length > 0);
    if (found.problems.length > 0) log.error({ fault: PROMPTS_FAULT, dir: found.dir, problems: found.problems, hint: promptsFix(config.audio) }, "voice prompts unusable: the kiosk will not speak to a caller");
  } catch (err) {
    log.error({ err }, "voice prompts not checked");
  }
}

export function startHealth(config: KioskConfig, deps: HealthDeps): Health {
  const { bus, clock, alarm, calls } = deps;
  const log = deps.log.child({ subsystem: "health" });
  const h = config.health;
  const retryAfterMs = h.selfTest.retryAfterMin * 60_000;
  const alarmOpen = (): string | null => alarmHoldsTests(alarm.openAlarm, clock.now(), config.press.reopenAfterMs);
  const busy = (): string | null => {
    const open = alarmOpen();
    if (open !== null) return open;
    const phase = calls.status.phase;
    return phase === "idle" ? null : `call ${phase}`;
  };

  const selfTests = new SelfTests({
    checks: createChecks(config, { runner: deps.runner ?? spawnRunner, button: deps.button }),
    clock,
    log: log.child({ feature: "self-test" }),
    bus,
    faults: deps.faults,
    dataDir: config.dataDir,
    busy,
    at: h.selfTest.at,
    daylightAt: h.selfTest.daylightAt,
    retryAfterMs,
  });
  const testAlarm = new TestAlarmSchedule({
    dataDir: config.dataDir,
    everyMs: h.testAlarmEveryH * HOUR_MS,
    jitterMs: h.testAlarmJitterH * HOUR_MS,
    retryAfterMs,
    clock,
    log: log.child({ feature: "test-alarm" }),
    raise: () => alarm.raise("test", "scheduled-test"),
    busy: alarmOpen,
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  const probe = deps.probe ?? new LinuxSystemProbe();
  const heartbeat = new HeartbeatSender({
    bus,
    intervalMs: h.heartbeatIntervalS * 1_000,
    log: log.child({ feature: "heartbeat" }),
    gather: (seq) =>
      gatherHeartbeat(seq, {
        clock,
        probe,
        agentVersion: deps.agentVersion,
        intervalS: h.heartbeatIntervalS,
        dataDir: config.dataDir,
        outboxDepth: () => deps.outbox.depth,
        openAlarm: () => alarm.openAlarm,
        faults: () => deps.faults.all,
        selfTests: () => selfTests.last,
        lastTestAlarmAt: () => testAlarm.lastAt,
        sensors: deps.sensors,
        ...(deps.backupPath === undefined ? {} : { backupPath: deps.backupPath }),
        ...(deps.update === undefined ? {} : { update: deps.update }),
      }),
  });

  if (config.audio.player === "aplay") void reportPromptFiles(config, deps.faults, log.child({ feature: "prompts" }));
  if (h.selfTest.enabled) selfTests.start();
  testAlarm.start();
  return {
    heartbeat,
    selfTests,
    testAlarm,
    attachLink: (publish) => heartbeat.attach(publish),
    stop() {
      heartbeat.stop();
      selfTests.stop();
      testAlarm.stop();
    },
  };
}
