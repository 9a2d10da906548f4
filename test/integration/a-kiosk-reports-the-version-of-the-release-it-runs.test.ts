/**
 * The version a kiosk reports is the release's it runs: an agent started from a release staged as
 * `sos release build --version X` stages it (its modules, package.json, release.json) says X in
 * every heartbeat (`sos kiosks` shows X) and in every alert. Runs the built modules
 * (dist/): `npm run build` first (npm test does).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { provisionKiosk } from "../../scripts/commands/provision.js";
import { stageRelease, writeReleaseJson } from "../../scripts/commands/release-build.js";
import { kioskGraph } from "../../scripts/lib/kiosk-files.js";
import { generateReleaseKeys } from "../../shared/release.js";
import { deferCleanups, startSystem } from "./cleanups.js";
import { REPO_ROOT, SOS_BIN, waitFor } from "./harness.js";

const KIOSK = "kz-ver-0001";
const VERSION = "7.3.1-rc.2";

describe("a kiosk reports the version of the release it runs", () => {
  const defer = deferCleanups();

  it("says the release's version in its heartbeat, its alerts and sos kiosks", async () => {
    const system = await startSystem(defer, { supervision: { heartbeatFlushMs: 100 } });
    const release = join(system.dir, "releases", VERSION);
    stageRelease(release, kioskGraph(join(REPO_ROOT, "dist"), ".js").modules, VERSION, generateReleaseKeys().publicKeyPem);
    writeReleaseJson(release, VERSION, "x64", []);
    // The dependencies npm would install into the release: the project's own.
    symlinkSync(join(REPO_ROOT, "node_modules"), join(release, "node_modules"));

    const bundle = join(system.dir, "bundle");
    await provisionKiosk(KIOSK, { dataDir: system.gateway.dataDir, gateway: system.gateway.mqttUrl, out: bundle, lat: 43.25, lon: 76.95, address: "Test road km 3", force: true });
    const configPath = join(bundle, "kiosk.json");
    const provisioned = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...provisioned, audio: { player: "none" }, health: { heartbeatIntervalS: 1 } }));

    const run = (config: string, dataDir: string): ChildProcess => {
      const agent = spawn(process.execPath, [join(release, "dist/scripts/sos.js"), "kiosk", "--config", config, "--data-dir", dataDir, "--button", "stdin", "--enter-is-press"], { stdio: ["pipe", "ignore", "pipe"] });
      const exited = new Promise((resolve) => agent.once("exit", resolve));
      defer(async () => {
        if (agent.exitCode === null && agent.signalCode === null) agent.kill("SIGKILL");
        await exited;
      });
      return agent;
    };

    run(configPath, join(system.dir, "data"));
    const heartbeatVersion = await waitFor(async () => {
      const row = (await system.gateway.store.health.listHealth({ reports: true })).find((k) => k.kioskId === KIOSK);
      return row?.report === null || row === undefined ? undefined : (JSON.parse(row.report) as { agentVersion?: string }).agentVersion;
    }, "a heartbeat from the kiosk", 30_000);
    expect(heartbeatVersion).toBe(VERSION);
    const row = execFileSync(process.execPath, [SOS_BIN, "kiosks", "--data-dir", system.gateway.dataDir], { encoding: "utf8" })
      .split("\n")
      .find((l) => l.startsWith(KIOSK));
    expect(row).toContain(VERSION);

    // The alert as the kiosk sends it: with no gateway to take it, it waits in the outbox on disk.
    const offlineConfig = join(bundle, "offline.json");
    writeFileSync(offlineConfig, JSON.stringify({ ...provisioned, mqtt: { ...(provisioned.mqtt as object), url: "mqtt://127.0.0.1:9" }, audio: { player: "none" } }));
    const outbox = join(system.dir, "offline-data", "outbox");
    const offline = run(offlineConfig, join(system.dir, "offline-data"));
    const file = await waitFor(() => {
      offline.stdin?.write("\n");
      return existsSync(outbox) ? readdirSync(outbox).find((f) => f.endsWith(".alert.json")) : undefined;
    }, "the press's alert in the outbox");
    expect((JSON.parse(readFileSync(join(outbox, file), "utf8")) as { agentVersion?: string }).agentVersion).toBe(VERSION);
  }, 60_000);
});
