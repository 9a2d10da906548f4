/**
 * Wires the second path: the modem (the AT driver named in kiosk.json, or the one a test passes),
 * the SMS fallback policy, the scheduled SMS-path test and the modem's health, read every
 * `healthEveryS` and reported in the heartbeat. A broken second path is a degraded part: "backup-path"
 * (no modem, no SIM, not registered) or "sms-test" (the last SMS-path test got no ack). The kiosk
 * still raises alarms over IP, and the gateway shows it degraded. Loaded lazily, after the button is armed.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { Alert } from "../../shared/contract.js";
import type { EventBus } from "../../shared/events.js";
import type { BackupPath } from "../../shared/health.js";
import { isRegistered } from "../../shared/modem/at-protocol.js";
import { ABSENT_STATUS, type Modem, type ModemStatus } from "../../shared/modem/modem.js";
import { parseSmsKey } from "../../shared/sms-alert.js";
import type { PromptPlayer } from "../audio/player.js";
import type { KioskEvents } from "../events.js";
import type { FaultMonitor } from "../health/faults.js";
import type { Outbox } from "../link/outbox.js";
import { FallbackPolicy } from "./fallback.js";
import { SmsPathTest } from "./sms-test.js";
import { SmsState } from "./sms-state.js";

/** The modem is absent, has no ready SIM, or is not registered. */
export const BACKUP_PATH_FAULT = "backup-path";
/** The last scheduled SMS-path test got no SMS ack (reported like a failed test alarm). */
export const SMS_TEST_FAULT = "sms-test";

export interface FallbackStartDeps {
  /** Default: the AT driver on config.modem.path. */
  readonly modem?: Modem;
  readonly outbox: Outbox;
  readonly bus: EventBus<KioskEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly player: PromptPlayer;
  readonly faults: FaultMonitor;
  readonly pending: readonly Alert[];
  readonly random?: () => number;
  /** Why the SMS test must wait (an open alarm), or null. */
  readonly busy: () => string | null;
}

export interface FallbackHandle {
  readonly modem: Modem;
  readonly policy: FallbackPolicy;
  readonly smsTest: SmsPathTest;
  /** The heartbeat's `backupPath`. */
  report(): BackupPath;
  /** Reads the modem's health now. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

async function createModem(config: KioskConfig, log: Logger): Promise<Modem | undefined> {
  const m = config.modem;
  if (m.driver === "none") return undefined;
  const { AtModem } = await import("../../shared/modem/at-modem.js");
  return new AtModem({ path: m.path, baudRate: m.baudRate, pollIntervalMs: m.pollIntervalMs, log });
}

export async function startFallback(config: KioskConfig, deps: FallbackStartDeps): Promise<FallbackHandle | undefined> {
  const log = deps.log.child({ subsystem: "fallback" });
  const f = config.fallback;
  if (f.smsKey === undefined || f.smsNumbers.length === 0) {
    if (deps.modem !== undefined || config.modem.driver !== "none") log.error("a modem without an SMS key or centre numbers: the second path is off (see fallback in kiosk.json)");
    return undefined;
  }
  const modem = deps.modem ?? (await createModem(config, log));
  if (modem === undefined) return undefined;
  const key = parseSmsKey(f.smsKey);
  const state = new SmsState(config.dataDir, f.smsPerHour, log);
  let status: ModemStatus = ABSENT_STATUS;
  let checkedAt: Date | null = null;

  const evaluate = (): void => {
    const s = state.current;
    deps.faults.setDegraded(BACKUP_PATH_FAULT, !status.present || status.sim !== "ready" || !isRegistered(status.registration));
    deps.faults.setDegraded(SMS_TEST_FAULT, s.lastTestOk === false);
  };
  const refresh = async (): Promise<void> => {
    try {
      status = await modem.status();
    } catch (err) {
      log.debug({ reason: (err as Error).message }, "modem status not read");
      status = { ...ABSENT_STATUS, present: modem.isPresent };
    }
    checkedAt = deps.clock.now();
    evaluate();
  };

  const policy = new FallbackPolicy(f, { kioskId: config.kioskId, modem, outbox: deps.outbox, bus: deps.bus, clock: deps.clock, log, state, key, player: deps.player });
  const smsTest = new SmsPathTest(f.smsTest, f.smsNumbers, {
    kioskId: config.kioskId,
    modem,
    clock: deps.clock,
    log: log.child({ feature: "sms-test" }),
    state,
    key,
    random: deps.random ?? Math.random,
    onResult: evaluate,
    busy: deps.busy,
  });
  const onPresence = (): void => void refresh();
  modem.on("present", onPresence);
  modem.on("lost", onPresence);
  policy.start(deps.pending);
  await modem.start();
  await refresh();
  const timer = setInterval(() => void refresh(), f.healthEveryS * 1_000);
  smsTest.start();
  log.info({ numbers: f.smsNumbers.length, voice: f.voiceNumber !== undefined, afterMs: f.afterMs, modem: status.present }, "second path (SMS, voice) ready");

  return {
    modem,
    policy,
    smsTest,
    refresh,
    report: () => ({
      present: status.present,
      registration: status.registration,
      signalDbm: status.signalDbm,
      sim: status.sim,
      checkedAt: checkedAt?.toISOString() ?? null,
      lastTestAt: state.current.lastTestAt,
      lastTestOk: state.current.lastTestOk,
      smsLastHour: state.sentLastHour(deps.clock.now().getTime()),
      smsPerHour: f.smsPerHour,
    }),
    async stop() {
      clearInterval(timer);
      smsTest.stop();
      policy.stop();
      modem.off("present", onPresence);
      modem.off("lost", onPresence);
      await modem.stop();
    },
  };
}
