/**
 * The Call panel says which kiosk is calling and where it stands, not just "A kiosk is calling": the
 * duty officer must know who they are about to talk to before they accept, and during the call.
 * Real gateway, real kiosk agent with its wrtc media, Debian's Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSystem, type System } from "./browser-harness.js";

const KIOSK_ID = "kz-e2e-0740";
let system: System;

beforeAll(async () => {
  system = await startSystem(KIOSK_ID);
}, 90_000);

afterAll(async () => {
  await system?.stop();
});

describe("the Call panel", () => {
  it("names the ringing kiosk (name, id) with its address, and the kiosk in the call", async () => {
    const { page, gateway } = system;
    // The kiosk's name, as an admin gives it in the registry.
    const kiosk = await gateway.store.getKiosk(KIOSK_ID);
    if (kiosk === undefined) throw new Error("kiosk not registered");
    const { createdAt: _c, updatedAt: _u, ...record } = kiosk;
    await gateway.store.putKiosk({ ...record, name: "Abai Ave at Dostyk" }, { replace: true, now: new Date() });
    expect(await page.getByTestId("call-kiosk").textContent()).toBe("");
    await system.press();
    const card = page.getByTestId("alarm").first();
    await card.getByTestId("accept-call").waitFor({ state: "visible", timeout: 15_000 });
    const address = String(await card.getByTestId("alarm-address").textContent());
    expect(address).toContain("Test road");

    expect(await page.getByTestId("call-state").textContent()).toBe("A kiosk is calling");
    expect(await page.getByTestId("call-kiosk").textContent()).toBe(`: kiosk Abai Ave at Dostyk (${KIOSK_ID}), ${address}`);

    await card.getByTestId("accept-call").click();
    await page.waitForFunction(`window.sosCall.state === "connected"`, undefined, { timeout: 20_000 });
    expect(await page.getByTestId("call-kiosk").textContent()).toBe(`with kiosk Abai Ave at Dostyk (${KIOSK_ID}), ${address}`);
  }, 90_000);
});
