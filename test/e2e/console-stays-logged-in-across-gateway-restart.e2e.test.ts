/**
 * A duty officer's console in Chromium stays logged in across a gateway restart (same data dir, same
 * ports, as after a deploy or a crash): its MQTT connection and event stream come back with the same
 * session, the login screen never shows, and an alarm pressed after the restart appears. Real gateway
 * (in-process), real kiosk agent (in-process, fake button), real Chromium.
 */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, type TestKiosk } from "../integration/harness.js";
import { addTestOperator, OPERATOR_PASSWORD } from "../integration/operator-harness.js";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser-harness.js";

const KIOSK = "kz-e2e-restart-01";
const STATUS = '[data-testid="connection-status"]';
const ONLINE = `(() => { const s = document.querySelector('${STATUS}'); return s?.dataset.state === "connected" && s?.dataset.stream === "live"; })()`;

describe("the operator console across a gateway restart", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it("stays logged in without the login screen, reconnects with the same session and shows an alarm pressed after the restart", async () => {
    const dir = tempDir("sos-e2e-restart-");
    cleanups.push(() => dir.remove());
    const dataDir = join(dir.path, "gw");
    const ports = { http: { host: "127.0.0.1", port: await freePort() }, mqtt: { host: "127.0.0.1", port: await freePort() } };
    const startGateway = async (): Promise<TestGateway> => {
      const gateway = await startTestGateway(dataDir, ports);
      cleanups.push(() => gateway.stop());
      return gateway;
    };
    const before = await startGateway();
    await addTestOperator(dataDir, "duty1");
    const kiosk: TestKiosk = await startTestKiosk(await provisionTestKiosk(dataDir, KIOSK, before.mqttUrl, dir.path));
    cleanups.push(() => kiosk.stop());

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    // The page's CSP forbids eval; the test's probes need it.
    const page: Page = await (await browser.newContext({ bypassCSP: true })).newPage();
    await page.goto(`http://127.0.0.1:${before.httpPort}/`);
    await page.getByTestId("login-name").fill("duty1");
    await page.getByTestId("login-password").fill(OPERATOR_PASSWORD);
    await page.getByTestId("login-submit").click();
    await page.waitForFunction(ONLINE, undefined, { timeout: 15_000 });
    // From now on, any showing of the login screen is recorded.
    await page.evaluate(`(() => {
      window.loginShown = false;
      const login = document.getElementById("login");
      new MutationObserver(() => { if (!login.hidden) window.loginShown = true; }).observe(login, { attributes: true });
    })()`);

    await before.stop();
    await page.waitForFunction(`document.querySelector('${STATUS}')?.dataset.state !== "connected"`, undefined, { timeout: 10_000 });
    const after = await startGateway();
    expect(after.httpPort).toBe(before.httpPort);
    await page.waitForFunction(ONLINE, undefined, { timeout: 30_000 });
    expect(after.logs.find("operator sessions restored")).toEqual([expect.objectContaining({ sessions: 1 })]);
    // The page came back on its session's MQTT token, not by logging in again.
    expect(after.logs.find("operator logged in")).toEqual([]);

    kiosk.button.press();
    const card = page.locator(`[data-testid="alarm"]`);
    await card.first().waitFor({ state: "visible", timeout: 15_000 });
    const alertId = (await after.store.listAlerts({ open: true }))[0]?.alertId;
    expect(alertId).toBeDefined();
    expect(await card.first().getAttribute("data-alert-id")).toBe(alertId);
    expect(await page.evaluate("window.loginShown")).toBe(false);
    expect(await page.getByTestId("login").isHidden()).toBe(true);
  });
});
