/**
 * Call hijack (issue 11, item 3), in the page: the console in Chromium against a real gateway, kiosks
 * as raw mqtt.js clients with their real credentials. A ring is shown only on the card of an open
 * alarm of the kiosk that rings: rings naming a closed, an unknown or another kiosk's alarm never ring
 * a card (the gateway drops them; the page would not show them either). A retained ring costs the kiosk
 * its connection at the broker before anything is kept (retained-publish-is-refused-except-status.test.ts);
 * the page ignores retained call messages as well, should a broker ever replay one.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRaw, provisionTestKiosk, startTestGateway, tempDir, type TestGateway } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, openConsolePage, waitFor } from "./browser-harness.js";

const CALLER = "kz-e2e-ring-0001";
const OTHER = "kz-e2e-ring-0002";
const OPERATOR = { name: "duty1", password: "correct-horse-battery-staple" };

let dir: ReturnType<typeof tempDir>;
let gateway: TestGateway;
let browser: Browser;
let page: Page;
const kiosks = new Map<string, MqttClient>();

beforeAll(async () => {
  dir = tempDir("sos-e2e-");
  gateway = await startTestGateway(join(dir.path, "gw"));
  for (const kioskId of [CALLER, OTHER]) {
    const config = await provisionTestKiosk(gateway.dataDir, kioskId, gateway.mqttUrl, dir.path);
    kiosks.set(kioskId, await connectRaw(gateway.mqttUrl, { clientId: kioskId, username: config.mqtt.username, password: config.mqtt.password }));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await openConsolePage(browser, gateway, OPERATOR);
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const client of kiosks.values()) await client.endAsync(true);
  await gateway?.stop();
  dir?.remove();
});

const cardOf = (alertId: string): Locator => page.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`);
/** Whether the alarm's card is on the page and ringing (false without a card). */
const ringing = async (alertId: string): Promise<boolean> => (await page.evaluate(`document.querySelector('[data-testid="alarm"][data-alert-id="${alertId}"]')?.dataset.ringing === "true"`)) === true;

/** An open SOS alarm of the kiosk, stored as the alert path stores it (no page is told: a ring comes first). */
async function openAlarm(kioskId: string): Promise<string> {
  const alertId = randomUUID();
  await gateway.store.recordAlert({ v: 1, alertId, kioskId, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.31, lon: 76.87, address: `${kioskId}'s bus stop` } }, new Date(), "{}");
  return alertId;
}

function callUp(kioskId: string, message: Record<string, unknown>): Promise<unknown> {
  const client = kiosks.get(kioskId);
  if (client === undefined) throw new Error(`no kiosk ${kioskId}`);
  return client.publishAsync(`sos/v1/kiosks/${kioskId}/call/up`, JSON.stringify({ v: 1, ...message }), { qos: 1 });
}

const ring = (kioskId: string, callId: string, alertId: string): Promise<unknown> => callUp(kioskId, { type: "ring", callId, alertId, at: new Date().toISOString() });

describe("rings the console must not show", () => {
  it("rings naming a closed, an unknown or another kiosk's alarm never ring a card; the kiosk's own ring does", async () => {
    const own = await openAlarm(CALLER);
    const others = await openAlarm(OTHER);
    const closed = await openAlarm(CALLER);
    await gateway.closeAlarm({ alertId: closed, outcome: "false-alarm", closedBy: "e2e" });
    const unknown = randomUUID();
    await ring(CALLER, "ring-closed-0001", closed);
    await ring(CALLER, "ring-unknown-0001", unknown);
    await ring(CALLER, "ring-others-0001", others);
    // A ring on its own open alarm rings.
    await ring(CALLER, "ring-own-0001", own);
    await waitFor(() => ringing(own), "the caller's own alarm ringing", 10_000);
    // Published before it on the same connection: had they reached the page, they would be in by now.
    for (const alertId of [closed, unknown]) await expect(cardOf(alertId).count(), alertId).resolves.toBe(0);
    // The other kiosk's alarm is open: its card may be on the page (from the alarm queue), never ringing.
    expect(await ringing(others)).toBe(false);
    expect(await cardOf(own).getAttribute("data-kiosk-id")).toBe(CALLER);

    await callUp(CALLER, { type: "state", callId: "ring-own-0001", state: "ended", reason: "the caller left" });
    await page.waitForFunction(`window.sosConsole.sound.ringing === false`, undefined, { timeout: 5_000, polling: 100 });
  }, 90_000);
});
