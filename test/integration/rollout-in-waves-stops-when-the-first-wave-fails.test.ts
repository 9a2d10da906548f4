/**
 * `sos release rollout VERSION --to all` against a real gateway: waves of about 5 %, 25 % and the
 * rest; the next wave is offered only once every kiosk of the last reported the release confirmed,
 * and the rollout stops by itself when a kiosk of a wave reports it rolled back. The kiosks here are
 * MQTT clients speaking the kiosk's side of the contract (install-release answered, the update
 * outcome in heartbeats); the real agent's install, gate and rollback are tested in
 * update-rolls-back-a-release-that-fails-its-health-gate.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { publishRelease } from "../../gateway/releases/published.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type Command, commandSchema, topicFor } from "../../shared/contract.js";
import type { UpdateReport } from "../../shared/health.js";
import { generateReleaseKeys, parseManifest } from "../../shared/release.js";
import { heartbeatPayload } from "../fixtures/heartbeat.js";
import { makeRelease } from "../fixtures/update-rig.js";
import { deferCleanups, startSystem, type TestSystem } from "./cleanups.js";
import { connectRaw, provisionTestKiosk, SOS_BIN, waitFor } from "./harness.js";
import { addTestOperator, get, login, OPERATOR_PASSWORD } from "./operator-harness.js";
import { PATHS } from "./update-harness.js";

const VERSION = "1.1.0";

/** A kiosk on 1.0.0 that answers install-release and then reports the outcome its health gate would. */
class ContractKiosk {
  readonly offers: string[] = [];
  private seq = 0;

  private constructor(
    readonly id: string,
    private readonly client: MqttClient,
    private readonly passesGate: boolean,
    private readonly order: string[],
  ) {}

  static async connect(config: KioskConfig, url: string, passesGate: boolean, order: string[]): Promise<ContractKiosk> {
    const id = config.kioskId;
    const client = await connectRaw(url, { clientId: id, username: config.mqtt.username, password: config.mqtt.password, clean: false });
    const kiosk = new ContractKiosk(id, client, passesGate, order);
    client.on("message", (_topic, payload) => kiosk.onCommand(commandSchema.parse(JSON.parse(payload.toString("utf8")))));
    await client.subscribeAsync(topicFor("commands", id), { qos: 1 });
    kiosk.beat({ phase: "confirmed", current: "1.0.0", target: null, failed: null, reason: null, at: new Date().toISOString() });
    return kiosk;
  }

  beat(update: UpdateReport): void {
    this.seq += 1;
    void this.client.publishAsync(topicFor("heartbeat", this.id), heartbeatPayload({ seq: this.seq, update }), { qos: 0 });
  }

  private onCommand(command: Command): void {
    if (command.type !== "install-release") return;
    this.offers.push(command.release.version);
    this.order.push(this.id);
    void this.client.publishAsync(topicFor("commandResults", this.id), JSON.stringify({ v: 1, commandId: command.commandId, status: "ok", data: { version: command.release.version } }), { qos: 1 });
    const at = new Date().toISOString();
    this.beat(
      this.passesGate
        ? { phase: "confirmed", current: VERSION, target: null, failed: null, reason: null, at }
        : { phase: "rolled-back", current: "1.0.0", target: null, failed: VERSION, reason: "button self-test failed: stuck button", at },
    );
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

describe("a rollout in waves stops by itself when a wave's kiosks fail their gate", () => {
  const defer = deferCleanups();

  async function fleet(size: number, passes: (index: number) => boolean): Promise<{ system: TestSystem; kiosks: ContractKiosk[]; order: string[] }> {
    const system = await startSystem(defer, { releases: { rolloutCheckMs: 100 }, commands: { pollMs: 100, resendMs: 5_000 }, supervision: { heartbeatFlushMs: 100 } });
    const keys = generateReleaseKeys();
    const dir = join(system.dir, "build");
    mkdirSync(dir);
    const { archive, manifest } = await makeRelease(dir, PATHS, VERSION, "good", keys.privateKeyPem);
    await publishRelease(system.gateway.store.releases, archive, parseManifest(readFileSync(manifest, "utf8"), manifest), keys.publicKeyPem, new Date());
    const order: string[] = [];
    const kiosks: ContractKiosk[] = [];
    for (let i = 0; i < size; i += 1) {
      const config = await provisionTestKiosk(system.gateway.dataDir, `kz-fleet-${String(i).padStart(2, "0")}`, system.gateway.mqttUrl, join(system.dir, "bundle"));
      const kiosk = await ContractKiosk.connect(config, system.gateway.mqttUrl, passes(i), order);
      defer(() => kiosk.close());
      kiosks.push(kiosk);
    }
    // Every kiosk's first report is stored before the rollout starts.
    await waitFor(async () => (await system.gateway.store.health.listHealth({ reports: true })).filter((h) => h.report?.includes('"update"') === true).length === size, "every kiosk's report");
    return { system, kiosks, order };
  }

  const rollout = (system: TestSystem): string => {
    const r = spawnSync(process.execPath, [SOS_BIN, "release", "rollout", VERSION, "--to", "all", "--data-dir", system.gateway.dataDir, "--release-url", `http://127.0.0.1:${system.gateway.httpPort}`], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout;
  };

  it("offers each wave after the last one confirmed, and finishes", async () => {
    const { system, kiosks, order } = await fleet(6, () => true);
    expect(rollout(system)).toMatch(/to 6 kiosk\(s\) in 3 wave\(s\) \(1, 2, 3\)/);
    const done = await waitFor(async () => {
      const r = await system.gateway.store.releases.getRollout(VERSION);
      return r?.state === "done" ? r : undefined;
    }, "the rollout done", 30_000);
    expect(kiosks.map((k) => k.offers)).toEqual(kiosks.map(() => [VERSION]));
    // Wave after wave: every kiosk of a wave was offered the release before any of the next.
    const position = (id: string): number => order.indexOf(id);
    for (let w = 1; w < done.waves.length; w += 1) {
      expect(Math.max(...(done.waves[w - 1] ?? []).map(position))).toBeLessThan(Math.min(...(done.waves[w] ?? []).map(position)));
    }
  });

  it("stops after the first wave when its kiosk rolls the release back: no other kiosk is offered it", async () => {
    const { system, kiosks } = await fleet(6, () => false);
    rollout(system);
    const halted = await waitFor(async () => {
      const r = await system.gateway.store.releases.getRollout(VERSION);
      return r?.state === "halted" ? r : undefined;
    }, "the rollout halted", 30_000);
    const firstWave = halted.waves[0] ?? [];
    expect(firstWave).toHaveLength(1);
    expect(halted.wave).toBe(0);
    expect(halted.reason).toBe(`wave 1: ${firstWave.join(", ")} rolled ${VERSION} back (button self-test failed: stuck button)`);
    expect(kiosks.filter((k) => k.offers.length > 0).map((k) => k.id)).toEqual(firstWave);
    // Nothing is waiting to be sent to the others either.
    expect((await system.gateway.store.pendingCommands()).filter((c) => !firstWave.includes(c.kioskId))).toEqual([]);
    const listed = spawnSync(process.execPath, [SOS_BIN, "release", "rollouts", "--data-dir", system.gateway.dataDir], { encoding: "utf8" });
    expect(listed.stdout.split("\n")[1]).toMatch(/^1\.1\.0\s+all\s+1\/3\s+6\s+halted\s+-\s+wave 1: /);

    // The console's fleet page shows the rollout, and the kiosk's page what it runs and what failed.
    await addTestOperator(system.gateway.dataDir, "alice");
    const { cookie } = await login(system.gateway.httpPort, "alice", OPERATOR_PASSWORD);
    const fleetPage = (await (await get(system.gateway.httpPort, "/api/fleet", cookie)).json()) as { data: { rollouts: unknown[] } };
    expect(fleetPage.data.rollouts).toEqual([expect.objectContaining({ version: VERSION, target: "all", wave: 1, waves: 3, kiosks: 6, state: "halted", reason: halted.reason, noAnswer: 0 })]);
    // The halt was decided from the stored report the kiosk page reads.
    const kioskPage = (await (await get(system.gateway.httpPort, `/api/kiosks/${firstWave[0] ?? ""}`, cookie)).json()) as { data: { software: unknown } };
    expect(kioskPage.data.software).toMatchObject({ version: "1.0.0", update: { failed: VERSION, reason: "button self-test failed: stuck button" } });
  });
});
