/**
 * `npm start`: a gateway, one provisioned demo kiosk whose button is the Enter key, and a built-in
 * dispatch receiver that checks signatures and prints what it receives. Uses free ports, so it runs
 * beside another broker on 1883. Shows each alert's way: pressed → stored → acknowledged → delivered.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { startKiosk } from "../device/main.js";
import { startGateway } from "../gateway/main.js";
import { hashSecret } from "../gateway/registry/credentials.js";
import { parseGatewayConfig } from "../shared/config/gateway.js";
import { loadKioskConfig, parseKioskConfig } from "../shared/config/kiosk.js";
import { dispatchBodySchema } from "../shared/dispatch.js";
import { createLogger, type LogLevel } from "../shared/log.js";
import { verifySignature } from "../shared/signature.js";
import { provisionKiosk } from "./commands/provision.js";
import { fail } from "./lib/cli.js";

const SECRET = "demo-dispatch-secret-not-for-production";
const color = (code: number, s: string): string => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const say = (s: string): void => void process.stdout.write(`${s}\n`);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sos-demo-"));
  const level = (process.env.SOS_DEMO_LOG ?? "error") as LogLevel;
  const pressedAt = new Map<string, number>();
  /** Alerts pressed and not yet at dispatch: piped input that ends waits for them before the demo quits. */
  const undelivered = new Set<string>();
  const since = (alertId: string): string => {
    const t0 = pressedAt.get(alertId);
    return t0 === undefined ? "" : color(2, `+${(performance.now() - t0).toFixed(1)} ms`);
  };
  let dispatchDown = false;

  const receiver = createServer((req, res) => {
    void readBody(req).then((raw) => {
      if (dispatchDown) {
        res.writeHead(503).end();
        return;
      }
      const signed = verifySignature(raw, SECRET, req.headers["x-sos-signature"] as string | undefined);
      let json: unknown = null;
      try {
        json = JSON.parse(raw);
      } catch {
        // not JSON: refused below like any other malformed body
      }
      const body = dispatchBodySchema.safeParse(json);
      if (!signed || !body.success) {
        say(color(31, `  dispatch: refused a request (signature ${signed ? "valid" : "INVALID"}, body ${body.success ? "valid" : "INVALID"})`));
        res.writeHead(400).end();
        return;
      }
      const b = body.data;
      undelivered.delete(b.alertId);
      say(
        `  ${color(32, "4. delivered to dispatch")} ${since(b.alertId)}  attempt ${String(req.headers["x-sos-attempt"])}, signature valid, ` +
          `${b.kioskId} at ${b.location.lat}, ${b.location.lon} (${b.location.address})`,
      );
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverPort = (receiver.address() as { port: number }).port;

  const gatewayConfig = parseGatewayConfig({
    dataDir: join(dir, "gateway"),
    mqtt: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    dispatch: { url: `http://127.0.0.1:${receiverPort}/incidents`, secret: SECRET, agency: "demo.sos", retry: { minMs: 1_000, maxMs: 5_000 } },
    log: { level },
  });
  const gateway = await startGateway(gatewayConfig, { log: createLogger({ name: "gateway", level }) });

  await provisionKiosk("demo-kiosk-1", {
    dataDir: gatewayConfig.dataDir,
    gateway: `mqtt://127.0.0.1:${gateway.mqttPort}`,
    out: join(dir, "kiosk"),
    lat: 43.2389,
    lon: 76.8897,
    address: "Almaty, Abay Avenue, park entrance",
    name: "Demo kiosk",
  });
  const button = new PassThrough();
  const kioskConfig = loadKioskConfig(join(dir, "kiosk", "kiosk.json"));
  // An operator for the console, and video calls when ffmpeg is installed (the kiosk's test picture).
  const operatorPassword = randomBytes(9).toString("base64url");
  await gateway.store.putOperator({ name: "demo", passwordHash: await hashSecret(operatorPassword) }, { replace: true, now: new Date() });
  const hasFfmpeg = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;
  const kioskSettings = parseKioskConfig({
    ...kioskConfig,
    media: hasFfmpeg ? { driver: "wrtc" as const, capture: "test" as const, speaker: process.env.SOS_DEMO_SOUND === "1" ? "aplay" : "none" } : { driver: "none" as const },
    button: { driver: "stdin" as const, enterIsPress: true },
    // Voice prompts through the speaker only when asked: SOS_DEMO_SOUND=1 npm start (needs aplay).
    audio: { ...kioskConfig.audio, player: process.env.SOS_DEMO_SOUND === "1" ? ("aplay" as const) : ("none" as const), language: "en" as const },
  });
  const kiosk = await startKiosk(kioskSettings, {
    log: createLogger({ name: "kiosk", level }),
    stdin: button,
  });

  kiosk.events.on("alert.recorded", "demo", ({ alert, recordMs }) => {
    pressedAt.set(alert.alertId, performance.now() - recordMs);
    undelivered.add(alert.alertId);
    say(`\n${color(33, "SOS pressed")} alert ${alert.alertId}`);
    say(`  ${color(33, "1. recorded on the kiosk's disk")} ${since(alert.alertId)}`);
  });
  gateway.events.on("alert.stored", "demo", (e) => say(`  ${color(36, "2. stored at the gateway")} ${since(e.alertId)}`));
  kiosk.events.on("alert.acked", "demo", (e) => {
    if (!e.duplicate) say(`  ${color(36, "3. acknowledged to the kiosk")} ${since(e.alertId)}  (yellow light on; the kiosk says the centre has received the call)`);
  });
  gateway.events.on("dispatch.failed", "demo", (e) =>
    say(`  ${color(31, "   dispatch attempt failed")} ${since(e.alertId)} (${e.error}); retrying in ${(e.retryInMs / 1000).toFixed(1)} s`),
  );
  kiosk.events.on("link.up", "demo", () => say(color(2, "kiosk connected to the gateway")));
  kiosk.events.on("alarm.press-counted", "demo", (e) => say(`  ${color(33, "pressed again")}: ${e.pressCount} presses on the open alarm (no new alert)`));
  kiosk.events.on("alarm.closed", "demo", (e) => say(`  ${color(32, "alarm closed by the centre")} (${e.outcome}): the kiosk's lights go off`));
  kiosk.events.on("fault.changed", "demo", (e) => say(color(31, `kiosk faults: ${e.faults.length === 0 ? "none" : e.faults.join(", ")}`)));

  say(color(1, "SOS kiosk demo"));
  say(`  gateway   mqtt://127.0.0.1:${gateway.mqttPort}   http://127.0.0.1:${gateway.httpPort}/readyz`);
  say(`  console   http://127.0.0.1:${gateway.httpPort}/  (operator "demo", password ${operatorPassword})${hasFfmpeg ? ": accept a call to see the kiosk's test picture" : "; install ffmpeg for video calls"}`);
  say(`  dispatch  http://127.0.0.1:${receiverPort}/incidents`);
  say(`  data      ${dir}`);
  say(`  Press ${color(1, "Enter")} to press the SOS button (again while the alarm is open: counted on it; ${color(1, "hold 31")}: held past the 30 s bypass).`);
  say(`  Type ${color(1, "close")} to close the open alarm as the centre would, ${color(1, "offline")} / ${color(1, "online")} to take dispatch down / back, ${color(1, "q")} to quit.`);
  say(`  Inspect:  npx sos alerts --data-dir ${gatewayConfig.dataDir}   ·   npx sos kiosks --data-dir ${gatewayConfig.dataDir}`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await kiosk.stop();
    await gateway.stop();
    receiver.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const word = line.trim().toLowerCase();
    if (word === "q" || word === "quit") void stop();
    else if (word === "offline") {
      dispatchDown = true;
      say(color(31, "dispatch now answers 503: alerts wait in the gateway's outbox and are retried"));
    } else if (word === "online") {
      dispatchDown = false;
      say(color(32, "dispatch is back"));
    } else if (word === "close") {
      const open = kiosk.alarm.openAlarm;
      if (open === null) say("no open alarm to close");
      else void gateway.closeAlarm({ alertId: open.alert.alertId, outcome: "help sent", closedBy: "demo operator" });
    } else button.write(`${line}\n`);
  });
  // Input that ends (piped: `printf '\n' | npm start`) quits once what it pressed is at dispatch (at most 10 s).
  rl.on("close", () => {
    void (async () => {
      const deadline = Date.now() + 10_000;
      await sleep(300); // the last line's press goes through the press rules first
      while (undelivered.size > 0 && Date.now() < deadline) await sleep(50);
      await stop();
    })();
  });
}

main().catch(fail);
