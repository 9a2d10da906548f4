/**
 * Rollouts of an agent release in waves (`sos release rollout VERSION --to 5%|region:NAME|all`):
 * the target kiosks are put in an order stable for the release, and split into waves of about 5 %,
 * then 25 %, then the rest. The runner offers a wave (install-release on each kiosk's commands
 * topic), waits until every kiosk of it reports the release confirmed in its heartbeat, then offers
 * the next. A kiosk that reports the release rolled back (it failed its health gate) halts the
 * rollout: no further wave is offered. A kiosk that has not answered when its wave's deadline passes
 * (`--wave-deadline`, 24 h by default) is counted as "no answer", not as a failure (a kiosk off its
 * link for a day must not hold the fleet back, nor stop it), and the next wave is offered; the
 * kiosks counted so are shown by `sos release rollouts` and on the fleet page. If one of them later
 * reports the release rolled back, that still halts the rollout.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import { type Command, commandSchema } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { type UpdateReport, updateReportSchema } from "../../shared/health.js";
import type { RolloutProgress, RolloutRecord } from "../store/release-store.js";
import type { GatewayStore } from "../store/store.js";
import { readPublished, RELEASES_DIR } from "./published.js";
import { alwaysMine, type IsMine } from "../cluster/singleton.js";

/** How long a wave waits for its kiosks' answers by default (sos release rollout --wave-deadline). */
export const DEFAULT_WAVE_DEADLINE_MS = 24 * 3_600_000;

/** The first waves' shares of the target; the last wave takes the rest. */
export const WAVE_SHARES: readonly number[] = [0.05, 0.25];

export type RolloutTarget = { readonly kind: "all" } | { readonly kind: "percent"; readonly percent: number } | { readonly kind: "region"; readonly region: string };

export function parseTarget(to: string): RolloutTarget {
  if (to === "all") return { kind: "all" };
  const percent = /^(\d{1,3}(?:\.\d+)?)%$/.exec(to);
  if (percent !== null) {
    const p = Number(percent[1]);
    if (p > 0 && p <= 100) return { kind: "percent", percent: p };
  }
  if (to.startsWith("region:") && to.length > "region:".length) return { kind: "region", region: to.slice("region:".length) };
  throw new SosError(ErrorCode.ArgumentInvalid, `--to must be all, a share like 5%, or region:NAME (got '${to}')`);
}

/** The kiosks of the target in waves. The order is stable for one release, and differs between releases. */
export function planWaves(version: string, kiosks: readonly { kioskId: string; region?: string | null }[], to: RolloutTarget): string[][] {
  const rank = (id: string): string => createHash("sha256").update(`${version}\n${id}`).digest("hex");
  let chosen = [...kiosks].sort((a, b) => (rank(a.kioskId) < rank(b.kioskId) ? -1 : 1));
  if (to.kind === "region") chosen = chosen.filter((k) => k.region === to.region);
  if (to.kind === "percent") chosen = chosen.slice(0, Math.max(1, Math.ceil((chosen.length * to.percent) / 100)));
  const ids = chosen.map((k) => k.kioskId);
  const waves: string[][] = [];
  let from = 0;
  for (const share of WAVE_SHARES) {
    if (from >= ids.length) break;
    const size = Math.max(1, Math.ceil(ids.length * share));
    waves.push(ids.slice(from, from + size));
    from += size;
  }
  if (from < ids.length) waves.push(ids.slice(from));
  return waves;
}

export type KioskOutcome = "confirmed" | "failed" | "pending";

export function outcomeOf(report: UpdateReport | undefined, version: string): KioskOutcome {
  if (report === undefined) return "pending";
  if (report.phase === "rolled-back" && report.failed === version) return "failed";
  if (report.phase === "confirmed" && report.current === version) return "confirmed";
  return "pending";
}

/** One step of a running rollout: what to do next, given the kiosks' update reports and the time. */
export function nextStep(r: RolloutRecord, reports: ReadonlyMap<string, UpdateReport>, now: Date): { progress: RolloutProgress; offer?: readonly string[] } {
  const wave = r.waves[r.wave] ?? [];
  const at = now.toISOString();
  const base = { wave: r.wave, offeredWave: r.offeredWave, state: "running" as const, reason: null, waveOfferedAt: r.waveOfferedAt, noAnswer: r.noAnswer };
  if (r.offeredWave < r.wave) return { progress: { ...base, offeredWave: r.wave, waveOfferedAt: at }, offer: wave };
  const failed = [...wave, ...r.noAnswer].filter((k) => outcomeOf(reports.get(k), r.version) === "failed");
  if (failed.length > 0) {
    const why = reports.get(failed[0] as string)?.reason ?? "health gate failed";
    return { progress: { ...base, state: "halted", reason: `wave ${r.wave + 1}: ${failed.join(", ")} rolled ${r.version} back (${why})` } };
  }
  // A rollout offered before wave deadlines existed (migration 17): its wave's deadline runs from now.
  if (r.waveOfferedAt === null) return { progress: { ...base, waveOfferedAt: at } };
  const pending = wave.filter((k) => outcomeOf(reports.get(k), r.version) !== "confirmed");
  let noAnswer = r.noAnswer;
  if (pending.length > 0) {
    if (now.getTime() - Date.parse(r.waveOfferedAt) < r.waveDeadlineMs) return { progress: base };
    noAnswer = [...r.noAnswer, ...pending];
  }
  if (r.wave + 1 >= r.waves.length) return { progress: { ...base, state: "done", noAnswer } };
  const next = r.wave + 1;
  return { progress: { ...base, wave: next, offeredWave: next, waveOfferedAt: at, noAnswer }, offer: r.waves[next] ?? [] };
}

/** A duration as `--wave-deadline` takes it: 90s, 30m, 24h, 2d (at least a minute). */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = m === null ? NaN : Number(m[1]) * unit[m[2] as keyof typeof unit];
  if (!(ms >= 60_000)) throw new SosError(ErrorCode.ArgumentInvalid, `--wave-deadline must be a duration of at least a minute like 30m, 24h or 2d (got '${text}')`);
  return ms;
}

/** The lease name of the rollout runner (one gateway of a cluster runs it). */
export const ROLLOUT_JOB = "rollouts";

export class RolloutRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: GatewayStore,
    private readonly everyMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Whether this gateway runs the rollouts now (one gateway of a cluster does: cluster/singleton.ts). */
    private readonly mine: IsMine = alwaysMine,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((err: unknown) => this.log.error({ err }, "rollout check failed; tried again at the next"))
        .finally(() => (this.running = undefined));
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    // Held for three checks: a gateway that dies hands the rollouts over within that.
    if (!(await this.mine(ROLLOUT_JOB, 3 * this.everyMs))) return;
    const active = (await this.store.releases.listRollouts()).filter((r) => r.state === "running");
    if (active.length === 0) return;
    const reports = new Map<string, UpdateReport>();
    for (const row of await this.store.health.listHealth({ reports: true })) {
      if (row.report === null) continue;
      const parsed = updateReportSchema.safeParse((JSON.parse(row.report) as { update?: unknown }).update);
      if (parsed.success) reports.set(row.kioskId, parsed.data);
    }
    for (const rollout of active) await this.step(rollout, reports);
  }

  private async step(r: RolloutRecord, reports: ReadonlyMap<string, UpdateReport>): Promise<void> {
    const now = this.clock.now();
    const manifest = await readPublished(this.store.releases, r.version);
    if (manifest === undefined) {
      await this.store.releases.updateRollout(r.version, { wave: r.wave, offeredWave: r.offeredWave, state: "halted", reason: "the release is no longer published", waveOfferedAt: r.waveOfferedAt, noAnswer: r.noAnswer }, now);
      return;
    }
    const { progress, offer } = nextStep(r, reports, now);
    if (offer !== undefined && offer.length > 0) {
      const url = `${r.releaseUrl}/${RELEASES_DIR}/${encodeURIComponent(manifest.version)}/${manifest.file}`;
      const commands = offer.map((kioskId) => {
        const command: Command = { v: 1, commandId: randomUUID(), type: "install-release", release: manifest, url };
        return { kioskId, commandId: command.commandId, payload: JSON.stringify(commandSchema.parse(command)) };
      });
      await this.store.security.queueCommands(commands, now);
      this.log.info({ version: r.version, wave: progress.wave + 1, waves: r.waves.length, kiosks: offer }, "rollout: wave offered");
    }
    const same = progress.state === r.state && progress.wave === r.wave && progress.offeredWave === r.offeredWave && progress.waveOfferedAt === r.waveOfferedAt;
    if (same && progress.noAnswer.length === r.noAnswer.length) return;
    await this.store.releases.updateRollout(r.version, progress, now);
    const late = progress.noAnswer.slice(r.noAnswer.length);
    if (late.length > 0) this.log.warn({ version: r.version, wave: r.wave + 1, kiosks: late }, "rollout: the wave's deadline passed; kiosks that did not answer are counted as no answer, and the rollout goes on");
    if (progress.state === "halted") this.log.error({ version: r.version, reason: progress.reason }, "rollout halted: a kiosk failed its health gate with the new release");
    if (progress.state === "done") this.log.info({ version: r.version, waves: r.waves.length }, "rollout done");
  }
}
