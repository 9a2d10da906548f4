/**
 * While dispatch is unreachable (failing for dispatch.unreachableAfterMs), every console page shows a
 * banner telling the duty officer alarms are held and to pass SOS alarms by phone; a page loaded
 * during the outage shows it too, and it goes when dispatch answers. Real gateway, real kiosk,
 * Debian's Chromium.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { DISPATCH_SECRET, freePort, provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, type TestKiosk, waitFor } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, openConsolePage } from "./browser-harness.js";

const OPERATOR = { name: "duty2", password: "correct-horse-battery-staple" };

let dir: ReturnType<typeof tempDir>;
let gateway: TestGateway;
let kiosk: TestKiosk;
let browser: Browser;
let port: number;
const receiver = new DispatchReceiver();

beforeAll(async () => {
  dir = tempDir("sos-e2e-banner-");
  port = await freePort();
  gateway = await startTestGateway(`${dir.path}/gw`, {
    dispatch: { url: `http://127.0.0.1:${port}/incidents`, secret: DISPATCH_SECRET, unreachableAfterMs: 500, circuit: { probeMinMs: 100, probeMaxMs: 300, jitter: 0 } },
  });
  kiosk = await startTestKiosk(await provisionTestKiosk(gateway.dataDir, "kz-e2e-0710", gateway.mqttUrl, dir.path));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await kiosk?.stop();
  await gateway?.stop();
  await receiver.stop();
  dir?.remove();
});

const banner = (page: Page) => page.getByTestId("dispatch-banner");

describe("the console's dispatch banner", () => {
  it("shows while dispatch is unreachable, on open pages and on pages loaded meanwhile, and goes when it answers", async () => {
    const page = await openConsolePage(browser, gateway, OPERATOR);
    await expect(banner(page).isVisible()).resolves.toBe(false);

    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    kiosk.button.press();
    await banner(page).waitFor({ state: "visible", timeout: 15_000 });
    const text = await banner(page).textContent();
    expect(text).toMatch(/^Dispatch is not answering since \d\d:\d\d.* \(ECONNREFUSED\)\. Alarms are kept at the gateway and sent when it answers: pass SOS alarms to dispatch by phone\.$/);

    const later = await openConsolePage(browser, gateway, OPERATOR);
    await banner(later).waitFor({ state: "visible", timeout: 10_000 });

    await receiver.start(port);
    await waitFor(() => receiver.requests.length === 1, "the held alarm delivered", 15_000);
    await banner(page).waitFor({ state: "hidden", timeout: 10_000 });
    await banner(later).waitFor({ state: "hidden", timeout: 10_000 });
    // A page loaded now has no banner.
    const after = await openConsolePage(browser, gateway, OPERATOR);
    await new Promise((r) => setTimeout(r, 500));
    expect(await banner(after).isVisible()).toBe(false);
  });
});
