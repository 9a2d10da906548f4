/**
 * The whole system for browser tests: a real gateway (in-process), a real kiosk agent (`sos kiosk`
 * from dist/, with its real wrtc media process on ffmpeg's test picture and 440 Hz tone, its speaker
 * written to a file), a logged-in operator page in Debian's headless Chromium (fake camera and
 * microphone), and a real dispatch receiver.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { hashSecret } from "../../gateway/registry/credentials.js";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import { DISPATCH_SECRET, provisionTestKiosk, type SosProcess, spawnSos, startTestGateway, tempDir, type TestGateway, waitFor } from "../integration/harness.js";

export const CHROMIUM = process.env.SOS_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
];

export interface System {
  readonly dir: string;
  readonly gateway: TestGateway;
  readonly receiver: DispatchReceiver;
  readonly browser: Browser;
  readonly page: Page;
  /** Logs another operator in, in a page of its own. */
  openConsole(operator: { name: string; password: string }): Promise<Page>;
  readonly kioskId: string;
  readonly speakerFile: string;
  kiosk: SosProcess;
  startKiosk(): Promise<SosProcess>;
  /** Writes `press` to the kiosk's stdin button (a 100 ms tap), spaced from the previous one like a hand would. */
  press(): Promise<void>;
  stop(): Promise<void>;
}

const OPERATOR = { name: "duty1", password: "correct-horse-battery-staple" };

export async function startSystem(kioskId = "kz-e2e-0001", overrides: Partial<GatewayConfigInput> = {}): Promise<System> {
  const dir = tempDir("sos-e2e-");
  const receiver = await new DispatchReceiver().start();
  const gateway = await startTestGateway(join(dir.path, "gw"), { ...overrides, dispatch: { url: receiver.url, secret: DISPATCH_SECRET } });

  const provisioned = await provisionTestKiosk(gateway.dataDir, kioskId, gateway.mqttUrl, dir.path);
  const configPath = join(dir.path, kioskId, "kiosk.json");
  const speakerFile = join(dir.path, "speaker.raw");
  const raw = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  writeFileSync(
    configPath,
    JSON.stringify({
      ...raw,
      reconnect: provisioned.reconnect,
      alerts: provisioned.alerts,
      audio: { player: "none" },
      media: { driver: "wrtc", capture: "test", speaker: `file:${speakerFile}`, noMediaTimeoutMs: 10_000 },
    }),
  );

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const openConsole = (operator: { name: string; password: string }): Promise<Page> => openConsolePage(browser, gateway, operator);
  const page = await openConsole(OPERATOR);

  let lastPress = 0;
  const system: System = {
    dir: dir.path,
    gateway,
    receiver,
    browser,
    page,
    openConsole,
    kioskId,
    speakerFile,
    kiosk: undefined as unknown as SosProcess,
    async startKiosk() {
      const kiosk = spawnSos(["kiosk", "--config", configPath, "--button", "stdin", "--log-level", "debug"]);
      await kiosk.waitForLog("connected to gateway", 20_000);
      // The camera is up (a press before it still raises the alarm, only without a snapshot).
      await kiosk.waitForLog("media process ready", 20_000);
      system.kiosk = kiosk;
      return kiosk;
    },
    async press() {
      const wait = lastPress + 300 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastPress = Date.now();
      system.kiosk.child.stdin?.write("press\n");
    },
    async stop() {
      await browser.close().catch(() => undefined);
      if (system.kiosk !== undefined && system.kiosk.child.exitCode === null) {
        system.kiosk.child.kill("SIGTERM");
        await Promise.race([system.kiosk.exited, new Promise((r) => setTimeout(r, 5_000))]);
        system.kiosk.child.kill("SIGKILL");
      }
      await gateway.stop();
      await receiver.stop();
      dir.remove();
    },
  };
  await system.startKiosk();
  return system;
}

/** Logs an operator (added if missing) into the console in a page of its own; resolves once it is connected. */
export async function openConsolePage(browser: Browser, gateway: TestGateway, operator: { name: string; password: string }): Promise<Page> {
  // Added once: replacing an operator (a new password hash) ends every session it has, pages included.
  if ((await gateway.store.getOperator(operator.name)) === undefined) {
    await gateway.store.putOperator({ name: operator.name, passwordHash: await hashSecret(operator.password) }, { replace: false, now: new Date() });
  }
  // The page's CSP forbids eval; the test's own probes (waitForFunction, evaluate) need it.
  const context = await browser.newContext({ bypassCSP: true });
  const p = await context.newPage();
  await p.goto(`http://127.0.0.1:${gateway.httpPort}/`);
  await p.getByTestId("login-name").fill(operator.name);
  await p.getByTestId("login-password").fill(operator.password);
  await p.getByTestId("login-submit").click();
  await waitForConnected(p);
  return p;
}

/** Until the page says it is connected to the gateway. */
export async function waitForConnected(p: Page): Promise<void> {
  // Page code is passed as text: the project's TypeScript has no DOM types (it runs on Node).
  await p.waitForFunction(`/connected/i.test(document.querySelector('[data-testid="connection-status"]')?.textContent ?? "")`, undefined, { timeout: 15_000 });
}

/** JSON log lines the kiosk printed so far. */
export function kioskLogs(kiosk: SosProcess): Record<string, unknown>[] {
  return kiosk.stdout.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export { waitFor, DISPATCH_SECRET };

/** Page script: decoded frames of the call's inbound video, from the page's RTCPeerConnection stats. */
export const FRAMES_DECODED = `(async () => {
  const stats = await window.sosCall.pc.getStats();
  let frames = 0;
  stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded ?? 0; });
  return frames;
})()`;

/** Page script: dominant frequency of the page's remote audio, measured with a WebAudio analyser. */
export const REMOTE_TONE_HZ = `(async () => {
  const stream = document.querySelector("#remote-video").srcObject;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise((r) => setTimeout(r, 1500));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  const hz = (best * ctx.sampleRate) / analyser.fftSize;
  await ctx.close();
  return hz;
})()`;
