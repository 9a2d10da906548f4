import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import type { KioskListing } from "../../scripts/commands/kiosks.js";
import { provisionTestKiosk, spawnSos, tempDir, waitFor } from "./harness.js";
import { RawKiosk, startOpsReceiver, startSupervisedGateway } from "./supervision-harness.js";

async function sos(args: string[]): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const run = spawnSos(args);
  const { code } = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

describe("sos kiosks lists every kiosk's state", () => {
  const defer = deferCleanups();

  it("online, degraded, offline, never-seen and decommissioned, with the last heartbeat, failing parts and last test alarm; --state filters", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const ops = await startOpsReceiver();
    defer(() => ops.stop());
    const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops);
    defer(() => gateway.stop());
    const dataDir = gateway.dataDir;
    const state = (id: string): string | undefined => gateway.supervision.supervisor.get(id)?.state;

    const up = await RawKiosk.connect(gateway, "kz-cli-up", dir.path);
    defer(() => up.end());
    const lastTestAlarmAt = new Date(Date.now() - 3_600_000).toISOString();
    await up.beat({ lastTestAlarmAt, uptimeS: 42 });
    const hurt = await RawKiosk.connect(gateway, "kz-cli-hurt", dir.path);
    defer(() => hurt.end());
    await hurt.beat({ kioskState: { tamper: "open", power: "battery", batteryPercent: 30 } });
    const gone = await RawKiosk.connect(gateway, "kz-cli-gone", dir.path);
    defer(() => gone.end());
    await gone.beat();
    await waitFor(() => state("kz-cli-gone") === "online", "gone online");
    gone.dropSocket();
    await provisionTestKiosk(dataDir, "kz-cli-new", gateway.mqttUrl, dir.path);
    await provisionTestKiosk(dataDir, "kz-cli-old", gateway.mqttUrl, dir.path);
    const decommission = await sos(["decommission", "kz-cli-old", "--data-dir", dataDir]);
    expect(decommission.code).toBe(0);
    expect(decommission.stdout.join("\n")).toContain("kz-cli-old is decommissioned");
    await waitFor(() => state("kz-cli-old") === "decommissioned", "the gateway read the decommission");
    await waitFor(() => state("kz-cli-gone") === "offline" && state("kz-cli-hurt") === "degraded", "states settled");
    await waitFor(async () => (await gateway.store.health.getHealth("kz-cli-up"))?.lastHeartbeatAt != null, "heartbeats flushed");

    const listed = await sos(["kiosks", "--data-dir", dataDir, "--json"]);
    expect(listed.code).toBe(0);
    const kiosks = JSON.parse(listed.stdout.join("\n")) as KioskListing[];
    expect(kiosks.map((k) => [k.kioskId, k.state, k.components])).toEqual([
      ["kz-cli-gone", "offline", []],
      ["kz-cli-hurt", "degraded", ["power", "tamper"]],
      ["kz-cli-new", "never-seen", []],
      ["kz-cli-old", "decommissioned", []],
      ["kz-cli-up", "online", []],
    ]);
    const upRow = kiosks.find((k) => k.kioskId === "kz-cli-up");
    expect(upRow).toMatchObject({ lastTestAlarmAt, reason: "connected", address: "Test road km kz-cli-up" });
    expect(Date.parse(upRow?.lastHeartbeatAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
    expect(upRow?.heartbeat).toMatchObject({ v: 1, uptimeS: 42, lastTestAlarmAt });
    expect(kiosks.find((k) => k.kioskId === "kz-cli-gone")).toMatchObject({ reason: "connection-lost" });
    expect(kiosks.find((k) => k.kioskId === "kz-cli-new")).toMatchObject({ since: null, lastHeartbeatAt: null, heartbeat: null });

    const offline = await sos(["kiosks", "--data-dir", dataDir, "--json", "--state", "offline"]);
    expect((JSON.parse(offline.stdout.join("\n")) as KioskListing[]).map((k) => k.kioskId)).toEqual(["kz-cli-gone"]);

    const table = await sos(["kiosks", "--data-dir", dataDir]);
    expect(table.code).toBe(0);
    expect(table.stdout[0]).toMatch(/^KIOSK\s+STATE\s+SINCE\s+LAST HEARTBEAT\s+FAILING\s+LAST TEST ALARM\s+REASON\s+REGION\s+VERSION$/);

    await gateway.store.alarms.setRegion("kz-cli-hurt", "Almaty North", new Date());
    const north = await sos(["kiosks", "--data-dir", dataDir, "--json", "--region", "Almaty North"]);
    expect((JSON.parse(north.stdout.join("\n")) as KioskListing[]).map((k) => [k.kioskId, k.region])).toEqual([["kz-cli-hurt", "Almaty North"]]);
    expect(table.stdout.find((l) => l.startsWith("kz-cli-hurt"))).toMatch(/degraded .* power,tamper /);

    const back = await sos(["decommission", "kz-cli-old", "--data-dir", dataDir, "--undo"]);
    expect(back.code).toBe(0);
    await waitFor(() => state("kz-cli-old") === "never-seen", "back in service, never seen");
  });

  it("says in one line what is wrong: a wrong --data-dir, an unknown kiosk, an unknown state", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const missing = await sos(["kiosks", "--data-dir", `${dir.path}/nothing`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toHaveLength(1);
    expect(missing.stderr[0]).toMatch(/^sos: cannot open the gateway store .*check --data-dir/);

    const ops = await startOpsReceiver();
    defer(() => ops.stop());
    const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops);
    defer(() => gateway.stop());
    const unknown = await sos(["decommission", "kz-nobody", "--data-dir", gateway.dataDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toEqual([`sos: no kiosk kz-nobody in ${gateway.dataDir}: list them with 'sos kiosks --data-dir ${gateway.dataDir}'`]);
    const badState = await sos(["kiosks", "--data-dir", gateway.dataDir, "--state", "sleepy"]);
    expect(badState.code).toBe(1);
    expect(badState.stderr).toHaveLength(1);
    expect(badState.stderr[0]).toContain("sleepy");
  });
});
