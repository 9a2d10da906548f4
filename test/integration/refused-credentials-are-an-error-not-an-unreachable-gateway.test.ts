/**
 * A kiosk whose password the gateway refuses (re-provisioned with --force, revoked) reaches the
 * gateway; no retry mends it. It says so at error level with what to check, not "gateway
 * unreachable" at info, and keeps its presses on disk meanwhile. `sos kiosk doctor` on the spot says
 * it too (its "gateway login" row, from what the agent found: state/link.json), and passes once the
 * kiosk has its right kiosk.json again.
 */
import { describe, expect, it } from "vitest";
import { readLinkStatus } from "../../device/link/link-status.js";
import { loginCheck } from "../../device/service/doctor-login.js";
import { KIOSK_UNIT } from "../../device/service/doctor.js";
import { type KioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { deferCleanups } from "./cleanups.js";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, waitFor } from "./harness.js";

const REFUSED = "gateway refused this kiosk's credentials: retrying; check kiosk.json's mqtt username and password (re-provisioned or revoked at the gateway?)";

describe("refused credentials", () => {
  const defer = deferCleanups();

  /** A gateway, a kiosk registered at it, and that kiosk's config with a password the gateway no longer takes. */
  async function kioskWithAnOldPassword(kioskId: string): Promise<{ gateway: TestGateway; provisioned: KioskConfig; wrong: KioskConfig }> {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`);
    defer(() => gateway.stop());
    const provisioned = await provisionTestKiosk(gateway.dataDir, kioskId, gateway.mqttUrl, dir.path);
    const wrong = parseKioskConfig({ ...provisioned, mqtt: { ...provisioned.mqtt, password: "not-the-kiosks-password-any-more" }, reconnect: { minMs: 100, maxMs: 200, urgentMaxMs: 200 } });
    return { gateway, provisioned, wrong };
  }

  it("are logged as an error naming what to check, not as an unreachable gateway; presses wait in the outbox", async () => {
    const { gateway, wrong } = await kioskWithAnOldPassword("kz-cred-0001");
    const kiosk = await startTestKiosk(wrong);
    defer(() => kiosk.stop());
    kiosk.button.press(new Date());
    await waitFor(() => gateway.logs.find("connection refused", (l) => l.clientId === "kz-cred-0001").length >= 3, "three refused connects");
    const refused = kiosk.logs.find(REFUSED);
    expect(refused[0]).toMatchObject({ level: "error", attempt: 1 });
    expect(String(refused[0]?.reason)).toMatch(/Bad username or password/);
    expect(kiosk.logs.find("gateway unreachable: retrying")).toEqual([]);
    expect(kiosk.outbox.depth).toBe(1);
  });

  it("fail the doctor's \"gateway login\" row with the gateway's reason and the fix, which passes once the right kiosk.json is back", async () => {
    const { gateway, provisioned, wrong } = await kioskWithAnOldPassword("kz-cred-0002");
    const kiosk = await startTestKiosk(wrong);
    await waitFor(() => {
      const read = readLinkStatus(wrong.dataDir);
      return read.found === "value" && read.value.state === "refused";
    }, "the refusal in state/link.json");
    const row = loginCheck(wrong, true, KIOSK_UNIT);
    expect(row.result).toBe("fail");
    expect(row.detail).toMatch(new RegExp(`^${gateway.mqttUrl.replace(/[.]/g, "\\.")} refuses this kiosk's credentials since \\S+: .*Bad username or password$`));
    expect(row.fix).toMatch(/sos provision kz-cred-0002 --force/);
    await kiosk.stop();

    const again = await startTestKiosk(parseKioskConfig(provisioned));
    defer(() => again.stop());
    await waitFor(() => again.logs.find("connected to gateway").length > 0, "the kiosk connected with its own password");
    await waitFor(() => loginCheck(wrong, true, KIOSK_UNIT).result === "pass", "the doctor's login row passing");
    expect(loginCheck(wrong, true, KIOSK_UNIT).detail).toMatch(/took this kiosk's credentials at /);
  });
});
