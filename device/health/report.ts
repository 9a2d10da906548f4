/**
 * Gathers one heartbeat (shared/health.ts) from the agent's own state and the SystemProbe. Nothing
 * here throws or waits on the alert path: a probe that fails gives null, a slow one only delays
 * this heartbeat.
 */
import type { Clock } from "../../shared/clock.js";
import type { KioskState } from "../../shared/contract.js";
import type { BackupPath, Heartbeat, SelfTestResult, UpdateReport } from "../../shared/health.js";
import type { OpenAlarm } from "../alarm/open-alarm.js";
import { linkTypeOf, type SystemProbe } from "./probe.js";

export interface HeartbeatSources {
  readonly clock: Clock;
  readonly probe: SystemProbe;
  readonly agentVersion: string;
  readonly intervalS: number;
  readonly dataDir: string;
  readonly outboxDepth: () => number;
  readonly openAlarm: () => OpenAlarm | null;
  readonly faults: () => readonly string[];
  readonly selfTests: () => readonly SelfTestResult[];
  readonly lastTestAlarmAt: () => Date | null;
  readonly sensors: () => KioskState;
  /** The second path's health; undefined on a kiosk without a modem. */
  readonly backupPath?: () => BackupPath | undefined;
  /** The software update's state, where the agent runs as an installed service. */
  readonly update?: () => UpdateReport | null;
}

async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch {
    return null;
  }
}

function orZero(read: () => number): number {
  try {
    const n = read();
    return Number.isFinite(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

export async function gatherHeartbeat(seq: number, s: HeartbeatSources): Promise<Heartbeat> {
  const { probe } = s;
  const [cpuTempC, diskFreeMb, route] = await Promise.all([
    orNull(() => probe.cpuTempC()),
    orNull(() => probe.diskFreeMb(s.dataDir)),
    orNull(() => probe.defaultRoute()),
  ]);
  const open = s.openAlarm();
  const lastTest = s.lastTestAlarmAt();
  return {
    v: 1,
    seq,
    sentAt: s.clock.now().toISOString(),
    intervalS: s.intervalS,
    agentVersion: s.agentVersion,
    uptimeS: orZero(() => probe.agentUptimeS()),
    system: {
      uptimeS: orZero(() => probe.hostUptimeS()),
      cpuTempC,
      load1: orZero(() => probe.load1()),
      memFreeMb: orZero(() => probe.memFreeMb()),
      diskFreeMb,
    },
    link: { type: linkTypeOf(route?.iface ?? null), iface: route?.iface ?? null, signalDbm: route?.signalDbm ?? null },
    outboxDepth: s.outboxDepth(),
    openAlarm: open === null ? null : { alertId: open.alert.alertId, openedAt: open.openedAt, received: open.received },
    faults: [...s.faults()],
    selfTests: [...s.selfTests()],
    lastTestAlarmAt: lastTest === null ? null : lastTest.toISOString(),
    kioskState: { ...s.sensors() },
    ...withBackupPath(s.backupPath?.()),
    ...updateField(s),
  };
}

function withBackupPath(backupPath: BackupPath | undefined): { backupPath?: BackupPath } {
  return backupPath === undefined ? {} : { backupPath };
}

function updateField(s: HeartbeatSources): { update?: UpdateReport } {
  try {
    const update = s.update?.() ?? null;
    return update === null ? {} : { update };
  } catch {
    return {};
  }
}
