/**
 * The update tests' set-up: a real gateway and dispatch receiver, a password kiosk installed in an
 * update home on release 1.0.0 and run by the supervisor that stands in for systemd, the release key
 * pair, and helpers for releases, `sos kiosk update` and what the gateway heard.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { provisionKiosk } from "../../scripts/commands/provision.js";
import type { UpdateReport } from "../../shared/health.js";
import { generateReleaseKeys } from "../../shared/release.js";
import { installHome, makeRelease, type ReleaseBehaviour, type RigPaths, UnitSupervisor } from "../fixtures/update-rig.js";
import { type Defer, startSystem, type TestSystem } from "./cleanups.js";
import { REPO_ROOT, SOS_BIN, waitFor } from "./harness.js";

export const PATHS: RigPaths = { dist: join(REPO_ROOT, "dist"), guard: join(REPO_ROOT, "dist/device/update/guard.js") };
export const KIOSK = "kz-upd-0001";

export interface Rig {
  readonly system: TestSystem;
  readonly home: string;
  readonly configPath: string;
  readonly supervisor: UnitSupervisor;
  readonly keys: { publicKeyPem: string; privateKeyPem: string };
  release(version: string, behaviour: ReleaseBehaviour): Promise<{ archive: string; manifest: string }>;
  /** `sos kiosk update` as the technician (or, later, the agent) runs it. */
  update(archive: string, manifest: string): { status: number | null; stdout: string; stderr: string };
  report(): Promise<UpdateReport | undefined>;
}

export async function startUpdateRig(defer: Defer): Promise<Rig> {
  const system = await startSystem(defer, { supervision: { heartbeatFlushMs: 100 } });
  const bundle = join(system.dir, "bundle");
  await provisionKiosk(KIOSK, { dataDir: system.gateway.dataDir, gateway: system.gateway.mqttUrl, out: bundle, lat: 43.25, lon: 76.95, address: "Test road km 1", force: true });
  const provisioned = JSON.parse(readFileSync(join(bundle, "kiosk.json"), "utf8")) as Record<string, unknown>;
  const kioskJson = { ...provisioned, reconnect: { minMs: 100, maxMs: 500, factor: 2, jitter: 0 }, health: { heartbeatIntervalS: 1 } };
  const keys = generateReleaseKeys();
  const home = join(system.dir, "home");
  mkdirSync(home);
  const configPath = installHome(home, PATHS, "1.0.0", kioskJson, keys.publicKeyPem);
  const supervisor = new UnitSupervisor({ home, configPath, paths: PATHS, bootIdFile: join(system.dir, "boot_id") });
  defer(() => supervisor.stop());
  supervisor.start();
  const r: Rig = {
    system,
    home,
    configPath,
    supervisor,
    keys,
    release: (version, behaviour) => makeRelease(system.dir, PATHS, version, behaviour, keys.privateKeyPem),
    update: (archive, manifest) => {
      const res = spawnSync(process.execPath, [SOS_BIN, "kiosk", "update", "--config", configPath, "--archive", archive, "--manifest", manifest], { encoding: "utf8" });
      return { status: res.status, stdout: res.stdout, stderr: res.stderr };
    },
    report: async () => {
      const row = (await system.gateway.store.health.listHealth({ reports: true })).find((k) => k.kioskId === KIOSK);
      return row?.report === null || row === undefined ? undefined : (JSON.parse(row.report) as { update?: UpdateReport }).update;
    },
  };
  await waitFor(async () => (await r.report())?.current === "1.0.0", "the kiosk on 1.0.0 reporting to the gateway", 30_000);
  return r;
}

/** This kiosk's line in `sos kiosks` (its VERSION column is last). */
export function kioskRow(r: Rig): string | undefined {
  const out = execFileSync(process.execPath, [SOS_BIN, "kiosks", "--data-dir", r.system.gateway.dataDir], { encoding: "utf8" });
  return out.split("\n").find((l) => l.startsWith(KIOSK));
}

