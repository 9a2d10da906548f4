/**
 * An open alarm never vanishes from the queue: 105 open alarms (a storm, or alarms left open over
 * days), the five oldest acknowledged. The queue answer held at most 100, newest first, and the page
 * drops every card not in the answer (it counts as closed): after a reload or a reconnect of the event
 * stream the oldest alarms were gone from the page and the heading said 100 (audit 14). Every card
 * stays, and the heading and the nav count all 105. Real gateway, the alarms stored as the gateway
 * stores them, Debian's Chromium.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../shared/contract.js";
import { provisionTestKiosk, startTestGateway, tempDir, type TestGateway, waitFor } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, openConsolePage } from "./browser-harness.js";

const OPERATOR = { name: "duty1", password: "correct-horse-battery-staple" };
const OPEN = 105;

let dir: ReturnType<typeof tempDir>;
let gateway: TestGateway;
let browser: Browser;
const ids: string[] = [];

beforeAll(async () => {
  dir = tempDir("sos-e2e-many-");
  gateway = await startTestGateway(`${dir.path}/gw`);
  const t = Date.now() - 3_600_000;
  for (let i = 0; i < OPEN; i += 1) {
    const kioskId = `kz-many-${String(i).padStart(4, "0")}`;
    await provisionTestKiosk(gateway.dataDir, kioskId, gateway.mqttUrl, dir.path);
    const at = new Date(t + i * 10_000);
    const alert: Alert = { v: 1, alertId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, kioskId, kind: "sos", pressedAt: at.toISOString(), location: { lat: 43.2 + i * 0.001, lon: 76.9, address: `Road ${kioskId}` } };
    await gateway.store.recordAlert(alert, at, "{}");
    ids.push(alert.alertId);
  }
  // The five oldest acknowledged: patrols on the way, kept open until they report back.
  for (const alertId of ids.slice(0, 5)) await gateway.store.alarms.acknowledge(alertId, OPERATOR.name, new Date());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  dir?.remove();
});

const cards = (page: Page): Promise<string[]> => page.evaluate(`[...document.querySelectorAll('[data-testid="alarm"]')].map((c) => c.dataset.alertId)`);

describe("the alarm queue with more than 100 open alarms", () => {
  it("shows every one, the oldest acknowledged ones too, after the page loads and after its event stream reconnects, and counts them all", async () => {
    const page = await openConsolePage(browser, gateway, OPERATOR);
    await waitFor(async () => (await cards(page)).length >= 100, "the queue loaded", 15_000);
    // Let any further answer land.
    await page.waitForTimeout(500);
    expect((await cards(page)).sort()).toEqual([...ids].sort());
    expect(await page.getByTestId("alarm-count").textContent()).toBe(`(${OPEN})`);
    expect(await page.getByTestId("nav-alarm-count").textContent()).toBe(`(${OPEN})`);

    // The stream drops and comes back: the page reloads the queue and drops every card not in it.
    const reloaded = page.waitForResponse((r) => r.url().endsWith("/api/alarm-queue"), { timeout: 20_000 });
    gateway.alarms.stream.stop();
    await (await reloaded).finished();
    await page.waitForTimeout(300);
    expect((await cards(page)).sort()).toEqual([...ids].sort());
    expect(await page.getByTestId("alarm-count").textContent()).toBe(`(${OPEN})`);
  }, 120_000);
});
