/**
 * A page cut off from the gateway must not look like a quiet night: while it is not connected (MQTT
 * or the event stream) it shows a red banner saying since when and what to do, and the queue says it
 * is unknown instead of "No alarms."; once the link is back the banner goes and the alarm raised
 * meanwhile is shown. The page reaches the gateway through a TCP proxy (the operator's network), which
 * the test takes down. Real gateway, real kiosk agent, Debian's Chromium.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, type TestKiosk, waitFor } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, waitForConnected } from "./browser-harness.js";

const OPERATOR = { name: "duty3", password: "correct-horse-battery-staple" };

let dir: ReturnType<typeof tempDir>;
let gateway: TestGateway;
let kiosk: TestKiosk;
let browser: Browser;
let proxy: TcpProxy;
let consoleUrl: string;

beforeAll(async () => {
  dir = tempDir("sos-e2e-unlinked-");
  gateway = await startTestGateway(`${dir.path}/gw`);
  kiosk = await startTestKiosk(await provisionTestKiosk(gateway.dataDir, "kz-e2e-0720", gateway.mqttUrl, dir.path));
  await gateway.store.putOperator({ name: OPERATOR.name, passwordHash: await hashSecret(OPERATOR.password) }, { replace: false, now: new Date() });
  proxy = new TcpProxy({ host: "127.0.0.1", port: gateway.httpPort });
  consoleUrl = (await proxy.start()).replace(/^mqtt:/, "http:");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await kiosk?.stop();
  await gateway?.stop();
  dir?.remove();
});

async function logIn(): Promise<Page> {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(`${consoleUrl}/`);
  await page.getByTestId("login-name").fill(OPERATOR.name);
  await page.getByTestId("login-password").fill(OPERATOR.password);
  await page.getByTestId("login-submit").click();
  await waitForConnected(page);
  return page;
}

describe("a console page that is not connected to the gateway", () => {
  it("shows a red banner and an unknown queue (never 'No alarms.') while cut off, and the alarm raised meanwhile once back", async () => {
    const page = await logIn();
    await page.getByTestId("no-alarms").waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.getByTestId("link-banner").isVisible()).toBe(false);

    // The operator's network goes: every connection reset, new ones refused.
    proxy.down("cut");
    await page.getByTestId("queue-unknown").waitFor({ state: "visible", timeout: 5_000 });
    expect(await page.getByTestId("no-alarms").isVisible()).toBe(false);
    const banner = page.getByTestId("link-banner");
    await banner.waitFor({ state: "visible", timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/^Not connected to the gateway since \d\d:\d\d.*: alarms cannot reach this page/);
    expect(await page.evaluate(`getComputedStyle(document.querySelector('[data-testid="link-banner"]')).backgroundColor`)).toBe("rgb(255, 59, 48)");

    // An SOS while the page is cut off: still no "No alarms.", still the banner.
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    kiosk.button.press();
    await waitFor(() => kiosk.logs.find("alert acknowledged by gateway").length > 0, "the alarm stored", 10_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await banner.isVisible()).toBe(true);
    expect(await page.getByTestId("no-alarms").isVisible()).toBe(false);
    expect(await page.getByTestId("alarm").count()).toBe(0);

    // The network is back: the banner goes and the waiting alarm is on the page.
    proxy.heal();
    await banner.waitFor({ state: "hidden", timeout: 30_000 });
    await page.getByTestId("alarm").first().waitFor({ state: "visible", timeout: 10_000 });
    expect(await page.getByTestId("queue-unknown").isVisible()).toBe(false);
    expect(await page.getByTestId("alarm-kiosk").first().textContent()).toContain("kz-e2e-0720");
  }, 90_000);

  it("counts a link that went silent (not closed) as lost within 15 s of the gateway's last ping, and shows the banner", async () => {
    proxy.heal();
    const page = await logIn();
    // Connected and quiet for a while: the stream's pings keep it counted live.
    await new Promise((r) => setTimeout(r, 16_000));
    expect(await page.getByTestId("link-banner").isVisible()).toBe(false);
    // Every byte dropped, both ways, no close: the page hears nothing, and neither side is told.
    proxy.down("blackhole");
    // The event stream's watchdog: three of the gateway's 5 s pings missed, and the stream is counted
    // lost (an EventSource alone never notices: no byte, no close). MQTT's 20 s keepalive is slower.
    await page.waitForFunction(`document.querySelector('[data-testid="connection-status"]').dataset.stream !== "live"`, undefined, { timeout: 16_000 });
    await page.getByTestId("link-banner").waitFor({ state: "visible", timeout: 5_000 });
    expect(await page.getByTestId("connection-status").getAttribute("data-state")).not.toBe("connected");
    proxy.heal();
    await page.getByTestId("link-banner").waitFor({ state: "hidden", timeout: 60_000 });
  }, 120_000);
});
