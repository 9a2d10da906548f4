/**
 * An operator's page that goes away mid-call (reloaded, closed) must not cut the caller off for good:
 * the page's last word (pagehide) says the page is going, not that the operator ended the call, and
 * the kiosk rings again for its open alarm, so the reloaded page (or another operator) can answer.
 * Real gateway, real kiosk agent with its wrtc media, Debian's Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kioskLogs, startSystem, type System, waitFor, waitForConnected } from "./browser-harness.js";

let system: System;

beforeAll(async () => {
  system = await startSystem("kz-e2e-0730");
}, 90_000);

afterAll(async () => {
  await system?.stop();
});

const rings = () => kioskLogs(system.kiosk).filter((l) => l.msg === "ringing the operators");

describe("the operator's page goes away during a call", () => {
  it("a reload mid-call ends the call and the kiosk rings again; the reloaded page can answer it", async () => {
    const { page } = system;
    await system.press();
    const card = page.getByTestId("alarm").first();
    const accept = card.getByTestId("accept-call");
    await accept.waitFor({ state: "visible", timeout: 15_000 });
    await accept.click();
    await page.waitForFunction(`window.sosCall.state === "connected"`, undefined, { timeout: 20_000 });
    const firstCall = String(await page.evaluate(`window.sosCall.callId`));
    expect(rings()).toHaveLength(1);

    await page.reload();
    await waitFor(() => kioskLogs(system.kiosk).some((l) => l.msg === "call over" && l.callId === firstCall), "the call over at the kiosk", 10_000);
    await waitFor(() => rings().length === 2, "the kiosk rings again", 10_000);

    // The reloaded page hears the new ring and can take it.
    await waitForConnected(page);
    await accept.waitFor({ state: "visible", timeout: 15_000 });
    await accept.click();
    await page.waitForFunction(`window.sosCall.state === "connected"`, undefined, { timeout: 20_000 });
    expect(await page.evaluate(`window.sosCall.callId`)).not.toBe(firstCall);
  }, 120_000);
});
