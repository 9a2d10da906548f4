/**
 * The queue's order at 3 a.m.: three kiosks press a few seconds apart and the operator acknowledges
 * the newest (the card on top when it came). The two older ones, escalated and still not
 * acknowledged, must be the top of the queue, the one waiting longest first, and stay so after a
 * reload (the gateway's `/api/alarm-queue` sorts as the page does). Cards are tall (two fill a
 * screen): a newer alarm above them hid them below the fold (audit 04). Real gateway, three
 * in-process kiosks, Debian's Chromium.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionTestKiosk, startTestGateway, startTestKiosk, tempDir, type TestGateway, type TestKiosk, waitFor } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, openConsolePage, waitForConnected } from "./browser-harness.js";

const OPERATOR = { name: "duty1", password: "correct-horse-battery-staple" };
const KIOSKS = ["kz-ord-0001", "kz-ord-0002", "kz-ord-0003"];

let dir: ReturnType<typeof tempDir>;
let gateway: TestGateway;
const kiosks: TestKiosk[] = [];
let browser: Browser;

beforeAll(async () => {
  dir = tempDir("sos-e2e-order-");
  gateway = await startTestGateway(`${dir.path}/gw`, { alarms: { escalateAfterMs: 1_500, escalationRepeatMs: 60_000 } });
  for (const id of KIOSKS) kiosks.push(await startTestKiosk(await provisionTestKiosk(gateway.dataDir, id, gateway.mqttUrl, dir.path)));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const k of kiosks) await k.stop();
  await gateway?.stop();
  dir?.remove();
});

/** The queue, top to bottom: kiosk, acknowledged, escalated. */
const queue = (page: Page): Promise<string[]> =>
  page.evaluate(`[...document.querySelectorAll('[data-testid="alarm"]')].map((c) => c.dataset.kioskId + (c.dataset.acknowledged === "true" ? " ack" : "") + (c.dataset.escalated === "true" ? " escalated" : ""))`);

/** Presses a kiosk until its alarm is stored (an in-process kiosk may miss a press made right after its start). */
async function press(kiosk: TestKiosk, kioskId: string): Promise<string> {
  const stored = async () => (await gateway.store.listAlerts({ open: true })).find((a) => a.kioskId === kioskId)?.alertId;
  return waitFor(async () => {
    const alertId = await stored();
    if (alertId === undefined) kiosk.button.press();
    return alertId;
  }, `${kioskId}'s alarm stored`, 15_000);
}

describe("the alarm queue's order", () => {
  it("puts the escalated alarms nobody acknowledged above a newer acknowledged one, the longest waiting on top, before and after a reload", async () => {
    const page = await openConsolePage(browser, gateway, OPERATOR);
    await page.setViewportSize({ width: 1280, height: 900 });
    const ids: string[] = [];
    for (const [i, kiosk] of kiosks.entries()) {
      ids.push(await press(kiosk, KIOSKS[i]!));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const card = (alertId: string) => page.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`);
    await card(ids[2]!).getByTestId("acknowledge").click();
    await waitFor(async () => (await card(ids[2]!).getAttribute("data-acknowledged")) === "true", "the newest acknowledged");
    await waitFor(async () => (await card(ids[1]!).getAttribute("data-escalated")) === "true", "the older two escalated");

    const expected = ["kz-ord-0001 escalated", "kz-ord-0002 escalated", "kz-ord-0003 ack"];
    expect(await queue(page)).toEqual(expected);
    // The one waiting longest is on screen, at the top of the queue.
    expect(await card(ids[0]!).evaluate((c) => (c as unknown as { getBoundingClientRect(): { top: number } }).getBoundingClientRect().top)).toBeLessThan(900);
    expect(await page.getByTestId("alarm-count").textContent()).toBe("(3)");

    await page.reload();
    await waitForConnected(page);
    await waitFor(async () => (await queue(page)).length === 3 && (await queue(page))[2]?.endsWith("ack"), "the queue reloaded with its lifecycle");
    expect(await queue(page)).toEqual(expected);
  }, 90_000);
});
