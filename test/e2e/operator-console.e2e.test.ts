/**
 * Issue "operator and operations console": the console in Chromium against a running gateway with a
 * real kiosk agent (`sos kiosk`, stdin button) and a second simulated kiosk in-process. The alarm
 * queue with sound, map and health; acknowledge, answer, close with an outcome and the kiosk back to
 * idle; escalation after a short timeout to the signed escalation webhook, highlighted; the fleet page
 * following a kiosk offline and back. Saves screenshots of the main pages to docs/screenshots/.
 */
import { join } from "node:path";
import { type APIResponse, chromium, type Locator, type Page, type Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EscalationEvent, escalationEventSchema } from "../../shared/escalation.js";
import { verifySignature } from "../../shared/signature.js";
import { WebhookReceiver } from "../fixtures/webhook-receiver.js";
import { connectRaw, provisionTestKiosk, REPO_ROOT, startTestKiosk, type TestKiosk } from "../integration/harness.js";
import { CHROMIUM, CHROMIUM_ARGS, kioskLogs, startSystem, type System, waitFor } from "./browser-harness.js";

const ESCALATION_SECRET = "e2e-escalation-secret-0123456789";
const ESCALATE_AFTER_MS = 2_000;
const SCREENSHOTS = join(REPO_ROOT, "docs/screenshots");
const SECOND = "kz-e2e-0002";

let system: System;
let escalations: WebhookReceiver<EscalationEvent>;
let second: TestKiosk | undefined;
let page: Page;

beforeAll(async () => {
  escalations = await new WebhookReceiver((j) => escalationEventSchema.parse(j), "/escalate").start();
  system = await startSystem("kz-e2e-0001", {
    alarms: { escalateAfterMs: ESCALATE_AFTER_MS, escalationRepeatMs: 3_000 },
    escalation: { url: escalations.url, secret: ESCALATION_SECRET },
    supervision: { registryPollMs: 200 },
  });
  page = system.page;
  await page.setViewportSize({ width: 1400, height: 900 });
  await system.gateway.store.alarms.setRegion(system.kioskId, "Almaty", new Date());
  second = await startSecondKiosk();
}, 120_000);

afterAll(async () => {
  await second?.stop();
  await system?.stop();
  await escalations?.stop();
});

async function startSecondKiosk(): Promise<TestKiosk> {
  const config = await provisionTestKiosk(system.gateway.dataDir, SECOND, system.gateway.mqttUrl, system.dir);
  await system.gateway.store.putKiosk(
    { ...(await system.gateway.store.getKiosk(SECOND))!, location: { lat: 43.31, lon: 76.87, address: "Almaty, Al-Farabi Ave, bus stop" }, region: "Almaty North" },
    { replace: true, now: new Date() },
  );
  return startTestKiosk({ ...config, location: { lat: 43.31, lon: 76.87, address: "Almaty, Al-Farabi Ave, bus stop" } });
}

const cardOf = (alertId: string): Locator => page.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`);

async function closeOpenAlarms(): Promise<void> {
  const open = (await system.gateway.store.listAlerts()).filter((a) => a.closedAt === null);
  const closedBefore = kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length;
  for (const a of open) await system.gateway.closeAlarm({ alertId: a.alertId, outcome: "test", closedBy: "e2e" });
  if (open.length > 0) await waitFor(() => kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length > closedBefore, "kiosk idle again", 10_000);
}

/** Presses the kiosk's button; resolves once its alarm card is visible, with the press → visible time. */
async function pressForNewAlarm(): Promise<{ alertId: string; card: Locator; visibleMs: number }> {
  await closeOpenAlarms();
  const before = await page.locator('[data-testid="alarm"]').evaluateAll((cards) => cards.map((c) => (c as unknown as { dataset: { alertId: string } }).dataset.alertId));
  const pressedAt = Date.now();
  await system.press();
  const handle = await page.waitForFunction(
    `(() => [...document.querySelectorAll('[data-testid="alarm"]')].find((c) => !${JSON.stringify(before)}.includes(c.dataset.alertId) && c.offsetParent !== null)?.dataset.alertId)()`,
    undefined,
    { timeout: 10_000, polling: "raf" },
  );
  const visibleMs = Date.now() - pressedAt;
  const alertId = String(await handle.jsonValue());
  return { alertId, card: cardOf(alertId), visibleMs };
}

describe("the operator console in the browser", () => {
  it("a press puts the alarm at the top of the queue with sound, map, the kiosk's health and its press count", async () => {
    const { alertId, card, visibleMs } = await pressForNewAlarm();
    // The ≤ 1 s target is measured by `npm run bench:console`; here it is only reported.
    process.stdout.write(`press → alarm visible in the console: ${visibleMs} ms\n`);
    await expect(card.getByTestId("alarm-kiosk").textContent()).resolves.toContain(system.kioskId);
    await page.waitForFunction(`window.sosConsole.sound.alarming === true`, undefined, { timeout: 5_000 });
    await waitFor(async () => (await card.getByTestId("alarm-health").textContent())?.includes("online"), "health at the alarm");
    await expect(card.getByTestId("alarm-map").locator(`circle.map-focus[data-kiosk-id="${system.kioskId}"]`).count()).resolves.toBe(1);
    // The second kiosk is on the same map, as a neighbour.
    await waitFor(async () => (await card.getByTestId("alarm-map").locator(`circle[data-kiosk-id="${SECOND}"]`).count()) === 1, "neighbour on the map");
    await waitFor(async () => (await card.getAttribute("data-status")) === "delivered", "delivered to dispatch");
    // More presses on the open alarm: the count is pushed to the page.
    await system.press();
    await system.press();
    await waitFor(async () => /pressed ×[23]/.test((await card.getByTestId("alarm-presses").textContent()) ?? ""), "press count on the card", 10_000);
    await page.locator('[data-testid="alarm"]').first().waitFor();
    expect(await page.locator('[data-testid="alarm"]').first().getAttribute("data-alert-id")).toBe(alertId);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SCREENSHOTS, "alarm-queue.png"), fullPage: true });
  });

  it("acknowledge stops the sound; answer connects the call; closing with an outcome returns the kiosk to idle and the timeline shows every step", async () => {
    const { alertId, card } = await pressForNewAlarm();
    await page.waitForFunction(`window.sosConsole.sound.alarming === true`, undefined, { timeout: 5_000 });
    await card.getByTestId("acknowledge").click();
    await waitFor(async () => (await card.getAttribute("data-acknowledged")) === "true", "acknowledged on the card");
    await page.waitForFunction(`window.sosConsole.sound.alarming === false`, undefined, { timeout: 5_000 });
    // The alarm tone repeats no more (it sounds every 2.5 s while an alarm waits).
    const beeps = Number(await page.evaluate(`window.sosConsole.sound.alarmBeeps`));
    await page.waitForTimeout(2_700);
    expect(Number(await page.evaluate(`window.sosConsole.sound.alarmBeeps`))).toBe(beeps);
    await expect(card.getByTestId("alarm-ack").textContent()).resolves.toContain("duty1");

    const accept = card.getByTestId("accept-call");
    await accept.waitFor({ state: "visible", timeout: 15_000 });
    await accept.click();
    await page.waitForFunction(`window.sosCall.state === "connected"`, undefined, { timeout: 20_000 });
    await waitFor(async () => (await card.getAttribute("data-status")) === "call-connected", "call connected on the card", 10_000);

    await card.getByTestId("close-outcome").selectOption("help-sent");
    await card.getByTestId("close-note").fill("patrol 12 on site");
    const closedBefore = kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length;
    await card.getByTestId("close-alarm").click();
    await card.waitFor({ state: "detached", timeout: 10_000 });
    await waitFor(() => kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length > closedBefore, "the kiosk told", 10_000);
    await waitFor(() => kioskLogs(system.kiosk).findLast((l) => l.msg === "indicator changed")?.yellow === "off", "the kiosk's yellow light off", 10_000);

    await page.goto(`${page.url().split("#")[0]}#/alarm/${alertId}`);
    const timeline = page.getByTestId("alarm-detail-timeline");
    await waitFor(async () => (await timeline.locator('[data-testid="timeline-step"]').count()) >= 6, "the timeline", 10_000);
    const steps = await timeline.locator('[data-testid="timeline-step"]').evaluateAll((li) => li.map((l) => (l as unknown as { dataset: { step: string } }).dataset.step));
    for (const step of ["pressed", "received", "delivered", "acknowledged", "call-connected", "closed"]) expect(steps).toContain(step);
    expect(steps.indexOf("acknowledged")).toBeLessThan(steps.indexOf("closed"));
    await expect(page.getByTestId("alarm-detail-status").textContent()).resolves.toContain("help-sent: patrol 12 on site");
    await page.screenshot({ path: join(SCREENSHOTS, "alarm-timeline.png"), fullPage: true });
    await page.goto(`${page.url().split("#")[0]}#/alarms`);
  });

  it("an alarm nobody acknowledges is escalated after the timeout to the signed escalation webhook and highlighted until acknowledged", async () => {
    const { alertId, card } = await pressForNewAlarm();
    const request = await waitFor(() => escalations.requests.find((r) => r.body.alertId === alertId), "escalation webhook", 10_000);
    expect(verifySignature(request.raw, ESCALATION_SECRET, String(request.headers["x-sos-signature"]))).toBe(true);
    expect(request.body.unacknowledgedForS).toBeGreaterThanOrEqual(ESCALATE_AFTER_MS / 1_000);
    await waitFor(async () => (await card.getAttribute("data-escalated")) === "true", "escalation highlighted", 5_000);
    await expect(card.getByTestId("alarm-escalated").textContent()).resolves.toContain("ESCALATED");
    await card.getByTestId("acknowledge").click();
    await waitFor(async () => (await card.getAttribute("data-escalated")) === "false", "highlight gone after the acknowledgement", 5_000);
  });

  it("the fleet page shows every kiosk, filters by region, and follows a kiosk going offline and coming back", async () => {
    await page.getByTestId("nav-fleet").click();
    const row = page.locator(`[data-testid="fleet-row"][data-kiosk-id="${SECOND}"]`);
    await waitFor(async () => (await row.getAttribute("data-state")) === "online", "second kiosk online", 10_000);
    await expect(page.locator('[data-testid="fleet-row"]').count()).resolves.toBe(2);
    await page.getByTestId("fleet-region").selectOption("Almaty North");
    await expect(page.locator('[data-testid="fleet-row"]').count()).resolves.toBe(1);
    await page.getByTestId("fleet-region").selectOption("");

    await second?.stop();
    second = undefined;
    await waitFor(async () => (await row.getAttribute("data-state")) === "offline", "offline on the page", 10_000);
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(SCREENSHOTS, "fleet.png"), fullPage: true });
    await page.getByTestId("fleet-state").selectOption("offline");
    await expect(page.locator('[data-testid="fleet-row"]').count()).resolves.toBe(1);
    await page.getByTestId("fleet-state").selectOption("");

    second = await startSecondKiosk();
    await waitFor(async () => (await row.getAttribute("data-state")) === "online", "back online on the page", 15_000);
    // The kiosk page: its state history shows the round trip.
    await row.locator("a").click();
    const history = page.getByTestId("kiosk-history");
    await waitFor(async () => ((await history.textContent({ timeout: 1_000 }).catch(() => "")) ?? "").includes("offline"), "state history", 10_000);
    // A kiosk run from a checkout reports no update state: its agent version, once a heartbeat is stored.
    await expect(page.getByTestId("kiosk-software").textContent()).resolves.toMatch(/^Software: (\d+\.\d+\.\d+|not reported yet)\.$/);
    await page.screenshot({ path: join(SCREENSHOTS, "kiosk.png"), fullPage: true });
  });
});

describe("the console with a large fleet", () => {
  it("with 2 000 kiosks and a burst of kiosk updates on the stream, an alarm still appears and an acknowledge click is handled", async () => {
    const now = new Date();
    for (let i = 0; i < 1_998; i++) {
      const kioskId = `kz-fleet-${String(i).padStart(4, "0")}`;
      const location = { lat: 43.0 + (i % 50) * 0.1, lon: 76.5 + Math.floor(i / 50) * 0.1, address: `Fleet road ${i}` };
      await system.gateway.store.putKiosk({ kioskId, secretHash: "x", name: null, location, region: `Region ${i % 7}` }, { replace: true, now });
    }
    await page.goto(`${page.url().split("#")[0]}#/fleet`);
    await page.reload();
    await waitFor(async () => ((await page.getByTestId("fleet-count").textContent()) ?? "").includes("of 2000"), "2 000 kiosks on the fleet page", 20_000);
    await expect(page.locator('[data-testid="fleet-row"]').count()).resolves.toBe(2_000);
    await page.goto(`${page.url().split("#")[0]}#/alarms`);

    // 5 rounds of an update for every kiosk, and heartbeat batches, while the kiosk's button is pressed.
    const rows = await system.gateway.alarms.fleet();
    const states = ["offline", "degraded", "online", "offline", "degraded"] as const;
    let burst = true;
    const bursting = (async () => {
      for (const state of states) {
        for (const row of rows) if (row.kioskId.startsWith("kz-fleet-")) system.gateway.alarms.stream.send("kiosk", { ...row, state, components: state === "degraded" ? ["camera"] : [] });
        system.gateway.alarms.stream.send("heartbeats", { kiosks: rows.map((r) => ({ kioskId: r.kioskId, lastHeartbeatAt: new Date().toISOString() })) });
        await new Promise((r) => setTimeout(r, 50));
      }
      burst = false;
    })();
    const { card } = await pressForNewAlarm();
    await card.getByTestId("acknowledge").click({ timeout: 5_000 });
    await waitFor(async () => (await card.getAttribute("data-acknowledged")) === "true", "acknowledged on the card", 5_000);
    await bursting;
    expect(burst).toBe(false);
    // The last update of each kiosk is on its row (updated in place, drawn when the fleet page is shown).
    await page.getByTestId("nav-fleet").click();
    const last = page.locator('[data-testid="fleet-row"][data-kiosk-id="kz-fleet-0007"]');
    await waitFor(async () => (await last.getAttribute("data-state")) === "degraded", "the kiosk's last state on its row", 10_000);
    await expect(page.locator('[data-testid="fleet-row"]').count()).resolves.toBe(2_000);
    // An alarm card's map draws only the neighbours inside its view, not the whole fleet.
    await page.goto(`${page.url().split("#")[0]}#/alarms`);
    const drawn = Number(await card.getByTestId("alarm-map").getAttribute("data-points"));
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(2_000);
  }, 120_000);
});

describe("the alarm sound in a browser that blocks autoplay", () => {
  it("the login click starts the sound; a session resumed without a gesture shows a large banner asking for a click until the sound runs", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS.filter((a) => !a.startsWith("--autoplay-policy")) });
    try {
      let p = await (await browser.newContext({ bypassCSP: true })).newPage();
      await p.goto(`http://127.0.0.1:${system.gateway.httpPort}/`);
      await p.getByTestId("login-name").fill("duty1");
      await p.getByTestId("login-password").fill("correct-horse-battery-staple");
      await p.getByTestId("login-submit").click();
      // Logged in (the session cookie is set) and the click started the audio.
      await p.waitForFunction(`/connected/i.test(document.querySelector('[data-testid="connection-status"]')?.textContent ?? "")`, undefined, { timeout: 15_000 });
      await p.waitForFunction(`window.sosConsole.sound.context === "running"`, undefined, { timeout: 10_000, polling: 100 }).catch(async (err: unknown) => {
        process.stdout.write(`sound never ran after the login click; sound: ${JSON.stringify(await p.evaluate("window.sosConsole.sound"))}\n`);
        throw err;
      });
      expect(await p.getByTestId("alarm-sound").isHidden()).toBe(true);
      // The session resumed without a gesture (a reload, a restarted browser; a fresh context with the
      // session cookie: Chromium may carry a same-origin reload's activation over): audio stays suspended.
      const resumed = await browser.newContext({ bypassCSP: true });
      await resumed.addCookies(await p.context().cookies());
      await p.close();
      p = await resumed.newPage();
      await p.goto(`http://127.0.0.1:${system.gateway.httpPort}/`);
      await p.waitForFunction(`/connected/i.test(document.querySelector('[data-testid="connection-status"]')?.textContent ?? "")`, undefined, { timeout: 10_000 }).catch(async (err: unknown) => {
        process.stdout.write(`resumed page: ${await p.getByTestId("connection-status").textContent()} login hidden=${await p.getByTestId("login").isHidden()} cookies=${JSON.stringify((await resumed.cookies()).map((c) => c.name))}\n`);
        throw err;
      });
      // The sound is not running (suspended, or any other state than running) and the banner is up. Polled
      // on a timer, not on animation frames, which a loaded machine may skip.
      await p.waitForFunction(`window.sosConsole.sound.context !== "running" && window.sosConsole.sound.banner === true`, undefined, { timeout: 10_000, polling: 100 }).catch(async (err: unknown) => {
        process.stdout.write(`sound banner never shown; sound: ${JSON.stringify(await p.evaluate("window.sosConsole.sound"))} url=${p.url()} title=${await p.title()}\n`);
        throw err;
      });
      // Chromium now and then lets the page's audio start after all, without a gesture (seen in CI: the
      // banner's flag up, then the context running and the banner hidden before the click). Either way
      // the banner must say the truth: up while the sound is blocked, gone once it runs.
      const settled = await p.waitForFunction(
        `(() => { const s = window.sosConsole.sound; const shown = !document.querySelector('[data-testid="alarm-sound"]').hidden;
                  return (s.context !== "running" && shown && s.banner) || (s.context === "running" && !shown && !s.banner) ? s.context : false; })()`,
        undefined,
        { timeout: 5_000, polling: 100 },
      ).then((h) => h.jsonValue()).catch(async (err: unknown) => {
        process.stdout.write(`the banner and the sound disagree; sound: ${JSON.stringify(await p.evaluate("window.sosConsole.sound"))} banner hidden=${await p.getByTestId("alarm-sound").isHidden()}\n`);
        throw err;
      });
      if (settled === "running") process.stdout.write("the browser let the resumed page's audio run without a gesture: the banner went away by itself\n");
      else await p.getByTestId("alarm-sound").click();
      await p.waitForFunction(`window.sosConsole.sound.context === "running"`, undefined, { timeout: 5_000, polling: 100 }).catch(async (err: unknown) => {
        process.stdout.write(`sound never ran after the banner click; sound: ${JSON.stringify(await p.evaluate("window.sosConsole.sound"))}\n`);
        throw err;
      });
      await p.getByTestId("alarm-sound").waitFor({ state: "hidden", timeout: 5_000 });
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe("stale cards and a failing event stream", () => {
  it("a 502 on the event stream is shown and retried; acknowledging an alarm closed meanwhile removes its card; the queue reloaded after the stream is back drops alarms closed meanwhile", async () => {
    await page.goto(`${page.url().split("#")[0]}#/alarms`);
    const a = await pressForNewAlarm();
    const status = page.getByTestId("connection-status");
    await page.route("**/api/events", (route) => route.fulfill({ status: 502, contentType: "text/plain", body: "bad gateway" }));
    system.gateway.alarms.stream.stop();
    await waitFor(async () => (await status.getAttribute("data-stream")) === "down", "stream down in the connection status", 10_000);
    await expect(status.textContent()).resolves.toContain("live updates interrupted");

    // Closed elsewhere while the page hears nothing: the card stays until the acknowledge answers 409.
    await closeOpenAlarms();
    await expect(a.card.count()).resolves.toBe(1);
    await a.card.getByTestId("acknowledge").click();
    await a.card.waitFor({ state: "detached", timeout: 5_000 });

    const b = await pressForNewAlarm();
    await closeOpenAlarms();
    await expect(b.card.count()).resolves.toBe(1);
    await page.unroute("**/api/events");
    await waitFor(async () => (await status.getAttribute("data-stream")) === "live", "stream reopened", 40_000);
    await b.card.waitFor({ state: "detached", timeout: 5_000 });
    expect(await status.textContent()).not.toContain("interrupted");
  }, 90_000);
});

describe("a queue answer made before an alarm was closed", () => {
  it("does not bring back the card the close removed while the answer was on its way", async () => {
    await page.goto(`${page.url().split("#")[0]}#/alarms`);
    const { alertId, card } = await pressForNewAlarm();
    // The stream reopens, so the page reloads the queue: its answers are made at once and held. The
    // first (made while the alarm was open) is handed over last, after any made since the close.
    const answers: { route: Route; response: Promise<APIResponse> }[] = [];
    let madeFirst!: () => void;
    const made = new Promise<void>((resolve) => (madeFirst = resolve));
    let holding = true;
    await page.route("**/api/alarm-queue", async (route) => {
      if (!holding) return route.continue();
      const response = route.fetch();
      answers.push({ route, response });
      await response;
      madeFirst();
    });
    const handOver = async (answer: { route: Route; response: Promise<APIResponse> }): Promise<void> => {
      const delivered = page.waitForResponse((r) => r.request() === answer.route.request());
      await answer.route.fulfill({ response: await answer.response });
      await (await delivered).finished();
    };
    try {
      system.gateway.alarms.stream.stop();
      await made;
      const idleBefore = kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length;
      await system.gateway.closeAlarm({ alertId, outcome: "test", closedBy: "e2e" });
      await card.waitFor({ state: "detached", timeout: 10_000 });
      // Everything the close sets off (the kiosk's answer and its events) is over before the old answer lands.
      await waitFor(() => kioskLogs(system.kiosk).filter((l) => l.msg === "alarm closed by the centre").length > idleBefore, "kiosk idle again", 10_000);
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
      holding = false;
      const [stale, ...fresh] = answers;
      for (const answer of fresh) await handOver(answer);
      await handOver(stale!);
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
      await expect(card.count()).resolves.toBe(0);
    } finally {
      await page.unroute("**/api/alarm-queue");
    }
  }, 90_000);
});

/** The second kiosk's own identity, its agent stopped: call/up published by hand. */
async function rawSecondKiosk(): Promise<Awaited<ReturnType<typeof connectRaw>>> {
  const config = (second ?? (second = await startSecondKiosk())).config;
  await second.stop();
  second = undefined;
  return connectRaw(system.gateway.mqttUrl, { clientId: SECOND, username: config.mqtt.username, password: config.mqtt.password });
}

describe("a ringing card whose alarm was closed while the page heard nothing", () => {
  it("is dropped with its ring when the queue is reloaded after the stream is back", async () => {
    await page.goto(`${page.url().split("#")[0]}#/alarms`);
    const kiosk = await rawSecondKiosk();
    const status = page.getByTestId("connection-status");
    try {
      const alertId = crypto.randomUUID();
      await system.gateway.store.recordAlert({ v: 1, alertId, kioskId: SECOND, kind: "sos", pressedAt: new Date().toISOString(), location: { lat: 43.31, lon: 76.87, address: "x" } }, new Date(), "{}");
      await page.route("**/api/events", (route) => route.fulfill({ status: 502, contentType: "text/plain", body: "bad gateway" }));
      system.gateway.alarms.stream.stop();
      await waitFor(async () => (await status.getAttribute("data-stream")) === "down", "stream down", 10_000);
      await kiosk.publishAsync(`sos/v1/kiosks/${SECOND}/call/up`, JSON.stringify({ v: 1, type: "ring", callId: "ring-stale-0001", alertId, at: new Date().toISOString() }), { qos: 1 });
      await waitFor(async () => (await cardOf(alertId).getAttribute("data-ringing")) === "true", "the alarm's card ringing", 10_000);
      // Closed at the centre; the kiosk's hangup never comes (lost), and the page hears nothing of the close.
      await system.gateway.closeAlarm({ alertId, outcome: "false-alarm", closedBy: "e2e" });
      await expect(cardOf(alertId).count()).resolves.toBe(1);
      await page.unroute("**/api/events");
      await waitFor(async () => (await status.getAttribute("data-stream")) === "live", "stream back", 40_000);
      await cardOf(alertId).waitFor({ state: "detached", timeout: 5_000 });
      await page.waitForFunction(`window.sosConsole.sound.ringing === false`, undefined, { timeout: 5_000, polling: 100 });
    } finally {
      await kiosk.endAsync(true);
    }
  }, 90_000);
});

describe("many console tabs in one browser", () => {
  it("eight tabs share one event stream: requests in the eighth are answered, every tab follows an alarm's acknowledgement, and closing the streaming tab hands the stream on", async () => {
    const baseline = system.gateway.alarms.stream.size;
    const first = await system.openConsole({ name: "duty1", password: "correct-horse-battery-staple" });
    const context = first.context();
    const connected = `/connected/i.test(document.querySelector('[data-testid="connection-status"]')?.textContent ?? "")`;
    try {
      const tabs = [first];
      for (let i = 1; i < 8; i += 1) {
        const tab = await context.newPage();
        // Each more tab resumes the session (the cookie): without a shared stream the seventh would hang here.
        await tab.goto(first.url().split("#")[0] ?? "");
        await tab.waitForFunction(connected, undefined, { timeout: 15_000, polling: 100 });
        tabs.push(tab);
      }
      // One stream for the eight tabs (the browser's six connections per host stay free).
      await waitFor(() => system.gateway.alarms.stream.size === baseline + 1, "one event stream for the browser", 10_000);
      const streaming = async () => (await Promise.all(tabs.map((t) => t.evaluate(`window.sosConsole.feed.streaming`)))).filter(Boolean).length;
      expect(await streaming()).toBe(1);

      const { alertId } = await pressForNewAlarm();
      const cardIn = (t: Page): Locator => t.locator(`[data-testid="alarm"][data-alert-id="${alertId}"]`);
      for (const t of tabs) await cardIn(t).waitFor({ state: "visible", timeout: 10_000 });
      const last = tabs[7]!;
      await cardIn(last).getByTestId("acknowledge").click({ timeout: 5_000 });
      // The acknowledgement reaches every tab through the one stream.
      for (const t of tabs) await waitFor(async () => (await cardIn(t).getAttribute("data-acknowledged")) === "true", "acknowledged in every tab", 10_000);

      // The streaming tab closes: another takes the stream over, and the tabs left still follow the alarm.
      const holders = await Promise.all(tabs.map((t) => t.evaluate(`window.sosConsole.feed.streaming`)));
      const holder = tabs[holders.indexOf(true)]!;
      await holder.close();
      const left = tabs.filter((t) => t !== holder);
      await waitFor(async () => system.gateway.alarms.stream.size === baseline + 1 && (await Promise.all(left.map((t) => t.evaluate(`window.sosConsole.feed.streaming`)))).filter(Boolean).length === 1, "the stream taken over by another tab", 10_000);
      await system.gateway.closeAlarm({ alertId, outcome: "test", closedBy: "e2e" });
      for (const t of left) await cardIn(t).waitFor({ state: "detached", timeout: 10_000 });
    } finally {
      await context.close();
    }
    await waitFor(() => system.gateway.alarms.stream.size === baseline, "the browser's stream closed with it", 10_000);
  }, 120_000);
});
