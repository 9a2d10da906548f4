import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pkiPaths } from "../../gateway/pki/ca.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { certificateInfo } from "../../shared/pki/x509.js";
import { deferCleanups } from "./cleanups.js";
import { spawnSos, startTestGateway, startTestKiosk, tempDir, waitFor } from "./harness.js";
import { enrolTestKiosk, startSecureGateway } from "./security/rig.js";

describe("sos ca server-cert", () => {
  const defer = deferCleanups();

  it("re-issues the gateway's server certificate from the same CA: a kiosk enrolled before connects to the restarted gateway and its press is acknowledged", async () => {
    const dir = tempDir("sos-servercert-");
    defer(() => dir.remove());
    const first = await startSecureGateway(dir.path);
    const enrolled = await enrolTestKiosk(first, "kz-crt-0001", dir.path);
    const oldSerial = certificateInfo(readFileSync(pkiPaths(first.dataDir).serverCert, "utf8")).serial;
    await first.stop();

    const run = spawnSos(["ca", "server-cert", "--data-dir", first.dataDir, "--name", "127.0.0.1", "--name", "localhost"]);
    expect((await run.exited).code).toBe(0);
    expect(run.stdout[0]).toMatch(/^issued a new server certificate for: 127\.0\.0\.1, localhost, valid until /);
    expect(certificateInfo(readFileSync(pkiPaths(first.dataDir).serverCert, "utf8")).serial).not.toBe(oldSerial);

    const gateway = await startTestGateway(first.dataDir, { mqtts: { host: "127.0.0.1", port: 0 } });
    defer(() => gateway.stop());
    expect(gateway.logs.find("server certificate valid")).toHaveLength(1);
    const config = parseKioskConfig({ ...enrolled, mqtt: { ...enrolled.mqtt, url: `mqtts://127.0.0.1:${String(gateway.mqttsPort)}` } });
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected over TLS to the restarted gateway");
    kiosk.button.press(new Date());
    await waitFor(() => kiosk.logs.find("alert acknowledged by gateway").length > 0, "the press acknowledged");
  });
});
