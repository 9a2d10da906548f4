/**
 * Issue "two-way audio and video": a press on a real kiosk agent rings the operator page in Chromium;
 * the operator sees the snapshot, accepts, sees and hears the kiosk, the kiosk hears the operator;
 * either side hangs up; a media process killed mid-call is restarted and alerts keep flowing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAMES_DECODED, kioskLogs, REMOTE_TONE_HZ, startSystem, type System, waitFor } from "./browser-harness.js";

let system: System;

beforeAll(async () => {
  system = await startSystem();
}, 90_000);

afterAll(async () => {
  await system?.stop();
});

/** Closes whatever alarm is open, so that the next press raises (and rings) a new one. */
async function closeOpenAlarms(): Promise<void> {
  const open = (await system.gateway.store.listAlerts()).filter((a) => a.closedAt === null);
  const closedBefore = kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length;
  for (const a of open) await system.gateway.closeAlarm({ alertId: a.alertId, outcome: "test", closedBy: "e2e" });
  if (open.length > 0) await waitFor(() => kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length > closedBefore, "kiosk idle again", 10_000);
}

/** Presses the kiosk's button and waits for the new alarm's card on the operator page. */
async function pressForNewAlarm(): Promise<{ alertId: string; card: Locator }> {
  const known = new Set(system.receiver.requests.map((r) => r.body.alertId));
  await system.press();
  const request = await waitFor(() => system.receiver.requests.find((r) => !known.has(r.body.alertId)), "a new alert at dispatch", 10_000);
  const card = system.page.locator(`[data-testid="alarm"][data-alert-id="${request.body.alertId}"]`);
  await card.waitFor({ state: "visible", timeout: 5_000 });
  return { alertId: request.body.alertId, card };
}

async function answerIncomingCall(): Promise<string> {
  await closeOpenAlarms();
  const { card } = await pressForNewAlarm();
  const accept = card.getByTestId("accept-call");
  await accept.waitFor({ state: "visible", timeout: 15_000 });
  await accept.click();
  await system.page.waitForFunction(`window.sosCall.state === "connected"`, undefined, { timeout: 20_000 });
  return String(await system.page.evaluate(`window.sosCall.callId`));
}

describe("an operator answers a kiosk's SOS call in the browser", () => {
  it("shows the alarm with the kiosk's snapshot and location before anyone answers", async () => {
    const { card, alertId } = await pressForNewAlarm();
    await expect(card.getByTestId("alarm-kiosk").textContent()).resolves.toContain(system.kioskId);
    await expect(card.getByTestId("alarm-address").textContent()).resolves.toContain("Test road");
    // The still from the kiosk's camera arrives after the alert and is shown as an image.
    await system.page.waitForFunction(
      `(() => { const img = document.querySelector('[data-alert-id="${alertId}"] [data-testid="alarm-snapshot"]'); return img && img.complete && img.naturalWidth > 0; })()`,
      undefined,
      { timeout: 15_000 },
    );
    const request = await waitFor(() => system.receiver.requests.find((r) => r.body.alertId === alertId), "dispatch request");
    // Dispatch gets a link it can fetch without a session (a signed token).
    expect(request.body.snapshotUrl).toMatch(/\/api\/alerts\/[^/]+\/snapshot\.jpg\?token=[\w-]+$/);
  });

  it("accepting connects video and sound both ways, the kiosk shows green, and the operator's hang-up ends it", async () => {
    const callId = await answerIncomingCall();
    // The browser decodes the kiosk's video…
    await system.page.waitForFunction(`document.querySelector("#remote-video").videoWidth > 0`, undefined, { timeout: 10_000 });
    expect(await system.page.evaluate(`document.querySelector("#remote-video").videoWidth`)).toBe(640);
    const f1 = Number(await system.page.evaluate(FRAMES_DECODED));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(Number(await system.page.evaluate(FRAMES_DECODED))).toBeGreaterThan(f1);
    // …and hears its 440 Hz tone.
    expect(Math.abs(Number(await system.page.evaluate(REMOTE_TONE_HZ)) - 440)).toBeLessThan(30);
    // The kiosk hears the operator (Chromium's fake microphone) on its speaker.
    await waitFor(() => existsSync(system.speakerFile) && statSync(system.speakerFile).size > 48_000, "operator audio on the kiosk speaker", 10_000);
    // The kiosk's indicator shows "connected" (green) while media flows.
    await waitFor(() => kioskLogs(system.kiosk).some((l) => l.msg === "indicator changed" && l.green === "on"), "green light on the kiosk");

    await system.page.getByTestId("hangup").click();
    await waitFor(() => kioskLogs(system.kiosk).some((l) => l.msg === "indicator changed" && l.green === "off" && l.reason === "call ended"), "green off after hang-up");
    await system.page.waitForFunction(`window.sosCall.state !== "connected"`, undefined, { timeout: 10_000 });
    expect(callId.length).toBeGreaterThan(7);
  });

  it("closing the alarm at the centre hangs up the kiosk side, and the page shows why", async () => {
    await answerIncomingCall();
    const alertId = String(await system.page.evaluate(`window.sosCall.alertId`));
    expect(await system.gateway.closeAlarm({ alertId, outcome: "help sent", closedBy: "e2e" })).toBe("closed");
    await system.page.waitForFunction(`window.sosCall.state !== "connected"`, undefined, { timeout: 15_000 });
    await expect(system.page.getByTestId("call-end-reason").textContent()).resolves.toMatch(/alarm closed|ended/i);
  });

  it("another operator closing the alarm during the call is told who is in it and must confirm; 'Close anyway' ends the call", async () => {
    await answerIncomingCall();
    const alertId = String(await system.page.evaluate(`window.sosCall.alertId`));
    const second = await system.openConsole({ name: "duty2", password: "another-long-password-2" });
    try {
      const card = second.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`);
      await card.waitFor({ state: "visible", timeout: 10_000 });
      await card.getByTestId("close-outcome").selectOption("help-sent");
      await card.getByTestId("close-alarm").click();
      await expect.poll(() => card.getByTestId("close-error").textContent(), { timeout: 5_000 }).toMatch(/^duty1 is in a call with this kiosk/);
      await expect(card.getByTestId("close-alarm").textContent()).resolves.toMatch(/close anyway/i);
      expect(await system.page.evaluate(`window.sosCall.state`)).toBe("connected");
      expect((await system.gateway.store.getAlert(alertId))?.closedAt).toBeNull();

      await card.getByTestId("close-alarm").click();
      await card.waitFor({ state: "detached", timeout: 5_000 });
      await system.page.waitForFunction(`window.sosCall.state !== "connected"`, undefined, { timeout: 15_000 });
      expect((await system.gateway.store.getAlert(alertId))?.closedBy).toBe("duty2");
    } finally {
      await second.context().close();
    }
  });

  it.each([
    ["two operators", { name: "duty2", password: "another-long-password-2" }],
    ["one operator in two tabs", { name: "duty1", password: "correct-horse-battery-staple" }],
  ])("%s accept the same ring: the kiosk takes one, the other page stands down at once", async (_case, login) => {
    const second = await system.openConsole(login);
    try {
      await closeOpenAlarms();
      const { alertId } = await pressForNewAlarm();
      const cardIn = (p: typeof second) => p.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`).getByTestId("accept-call");
      await cardIn(second).waitFor({ state: "visible", timeout: 15_000 });
      await cardIn(system.page).waitFor({ state: "visible", timeout: 15_000 });
      // Both click at once. The page that loses may stand down after its click (its call ends,
      // "answered by another operator") or before it (its Accept button is already gone).
      await Promise.all([cardIn(system.page), cardIn(second)].map((b) => b.click({ timeout: 5_000 }).catch(() => undefined)));
      const pages = [system.page, second];
      const states = await waitFor(async () => {
        const now = await Promise.all(pages.map((p) => p.evaluate(`window.sosCall.state`)));
        return now.filter((s) => s === "connected").length === 1 && !now.includes("connecting") ? now : undefined;
      }, "exactly one page connected", 20_000);
      const loser = states[0] === "connected" ? second : system.page;
      expect(await loser.evaluate(`window.sosCall.state`)).not.toBe("connected");
      const lostReason = String(await loser.evaluate(`window.sosCall.reason`));
      const lostCard = await loser.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`).textContent();
      expect(`${lostReason} ${lostCard ?? ""}`).toMatch(/another operator/i);
      // The winner's call is unharmed by the loser standing down.
      await new Promise((r) => setTimeout(r, 1_000));
      const winner = loser === second ? system.page : second;
      expect(await winner.evaluate(`window.sosCall.state`)).toBe("connected");
      await winner.getByTestId("hangup").click();
    } finally {
      await second.context().close();
    }
  });

  it("a media process killed mid-call is restarted, and a press meanwhile still reaches dispatch", async () => {
    await answerIncomingCall();
    const kioskPid = system.kiosk.child.pid;
    const children = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(kioskPid)], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes("media/wrtc/child.js"));
    expect(children).toHaveLength(1);
    const mediaPid = Number(children[0]!.trim().split(/\s+/)[0]);
    process.kill(mediaPid, "SIGKILL");
    // While the media process is down: the centre closes the alarm and the button raises a new one,
    // which reaches dispatch and the operator as usual.
    await closeOpenAlarms();
    await pressForNewAlarm();
    await system.page.waitForFunction(`window.sosCall.state !== "connected"`, undefined, { timeout: 15_000 });
    await waitFor(() => kioskLogs(system.kiosk).some((l) => l.msg === "child process ended: restarting"), "media process restarted");
    // …and once its media is back, the kiosk can be called again.
    await waitFor(() => kioskLogs(system.kiosk).some((l) => l.msg === "media process ready" && l.restarts === 1), "media ready again", 15_000);
    await answerIncomingCall();
  });
});
