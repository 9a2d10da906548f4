import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { initCa } from "../../gateway/pki/ca.js";
import { loadKioskConfig } from "../../shared/config/kiosk.js";
import { fastTimings, freePort, spawnSos, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";

const CSV = [
  "id,lat,lon,address,name",
  'kz-csv-0001,43.2389,76.8897,"Almaty, Abay Ave, park entrance",Park gate',
  "kz-csv-0002,91,76.9,Too far north",
  "not an id,43,76,Somewhere",
  "kz-csv-0003,43.1,76.8",
  "kz-csv-0004,43.3,76.7,Highway km 12",
  "kz-csv-0001,43.2,76.8,Again",
].join("\n");

describe("sos provision --csv", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it("reports each bad row with its line number, provisions every good one with a certificate, and those kiosks connect over TLS", async () => {
    const dir = tempDir("sos-csv-");
    cleanups.push(() => dir.remove());
    const dataDir = join(dir.path, "gw");
    await initCa(dataDir, { serverNames: ["127.0.0.1"] });
    const csv = join(dir.path, "kiosks.csv");
    writeFileSync(csv, CSV);
    const mqttsPort = await freePort();
    const cli = spawnSos(["provision", "--csv", csv, "--data-dir", dataDir, "--out", join(dir.path, "out"), "--gateway", `mqtts://127.0.0.1:${mqttsPort}`]);
    const exit = await cli.exited;
    expect(exit.code).toBe(1);
    expect(cli.stderr).toEqual([
      "sos: line 3 (kz-csv-0002): location is invalid: lat: Too big: expected number to be <=90",
      "sos: line 4 (not an id): kiosk id 'not an id' is invalid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit",
      "sos: line 5 (kz-csv-0003): has 3 columns: expected id,lat,lon,address[,name]",
      "sos: line 7 (kz-csv-0001): kiosk id kz-csv-0001 is on an earlier line too",
    ]);
    expect(cli.stdout[0]).toMatch(/^provisioned 2 of 6 kiosks \(certificates\) into .*; 4 failed$/);

    const gateway = await startTestGateway(dataDir, { mqtts: { host: "127.0.0.1", port: mqttsPort } });
    cleanups.push(() => gateway.stop());
    expect((await gateway.store.listKiosks()).map((k) => [k.kioskId, k.name, k.location.address])).toEqual([
      ["kz-csv-0001", "Park gate", "Almaty, Abay Ave, park entrance"],
      ["kz-csv-0004", null, "Highway km 12"],
    ]);
    const kiosk = await startTestKiosk(fastTimings(loadKioskConfig(join(dir.path, "out", "kz-csv-0004", "kiosk.json"))));
    cleanups.push(() => kiosk.stop());
    kiosk.button.press();
    await waitFor(() => kiosk.outbox.depth === 0 && kiosk.logs.find("alert acknowledged by gateway").length === 1, "the bulk-provisioned kiosk's alert acknowledged");
    expect((await gateway.store.listAlerts()).map((a) => a.kioskId)).toEqual(["kz-csv-0004"]);
  });
});
