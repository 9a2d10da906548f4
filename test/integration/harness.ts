/**
 * The one integration harness: a real gateway (in-process or as a child process), real kiosk agents,
 * real mqtt.js clients, a real store (SQLite files, or a PostgreSQL database in test/pg/) and a real
 * HTTP dispatch receiver, all on ephemeral ports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { type GatewayDeps, type GatewayHandle, startGateway } from "../../gateway/main.js";
import { type KioskDeps, type KioskHandle, startKiosk } from "../../device/main.js";
import { type GatewayConfigInput, parseGatewayConfig } from "../../shared/config/gateway.js";
import { type KioskConfig, loadKioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { provisionKiosk } from "../../scripts/commands/provision.js";
import { openStore } from "../../gateway/store/open.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { findRepoRoot } from "../../scripts/lib/repo-root.js";

/** The folder holding package.json, from the TS sources (vitest) or from dist/ (benchmarks). */
export const REPO_ROOT = findRepoRoot(import.meta.dirname);
export const SOS_BIN = join(REPO_ROOT, "dist/scripts/sos.js");
export const DISPATCH_SECRET = "test-dispatch-secret-0123456789";

export function tempDir(prefix = "sos-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port that was free a moment ago (for restarting a process on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * The store a suite's gateways run on: SQLite in their data folders, or PostgreSQL (test/pg/pg-store.ts).
 * `url()` is the store for a new gateway: none for SQLite (its data folder's own gateway.db), a fresh
 * database at each call on PostgreSQL, so each gateway starts as empty as in a new folder. A gateway
 * restarted on the same store passes its `storeUrl` again (`{ store: { url: gateway.storeUrl } }`).
 */
export interface TestStore {
  readonly name: "sqlite" | "postgres";
  url(): string | undefined;
}

export const sqliteStore: TestStore = { name: "sqlite", url: () => undefined };

/** The gateway config lines that put a new gateway on `store`, to spread into overrides. */
export function onStore(store: TestStore): Partial<GatewayConfigInput> {
  const url = store.url();
  return url === undefined ? {} : { store: { url } };
}

/** Where a gateway keeps its store: its data folder, and the PostgreSQL URL when it has one. */
export interface StoreTarget {
  readonly dataDir: string;
  readonly storeUrl?: string | undefined;
}

/** The CLI arguments that name a gateway's store (`--data-dir DIR [--store URL]`). */
export function storeArgs(target: StoreTarget): string[] {
  return ["--data-dir", target.dataDir, ...(target.storeUrl === undefined ? [] : ["--store", target.storeUrl])];
}

/** A gateway's store opened from outside the gateway (as the CLI does); close it after use. */
export function openTargetStore(target: StoreTarget, options: { readonly?: boolean } = {}): Promise<GatewayStore> {
  return openStore({ url: target.storeUrl, dataDir: target.dataDir, ...(options.readonly === true ? { readonly: true } : { mustExist: true }) });
}

export interface TestGateway extends GatewayHandle, StoreTarget {
  readonly dataDir: string;
  readonly logs: LogCapture;
  readonly mqttUrl: string;
}

/** An in-process gateway on ephemeral ports with its logs captured (on PostgreSQL with `store: { url }`). */
export async function startTestGateway(dataDir: string, overrides: Partial<GatewayConfigInput> = {}, deps: Partial<Omit<GatewayDeps, "log">> = {}): Promise<TestGateway> {
  const logs = new LogCapture();
  const config = parseGatewayConfig({
    dataDir,
    mqtt: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    ...overrides,
    dispatch: { retry: { minMs: 50, maxMs: 500, factor: 2, jitter: 0 }, timeoutMs: 2_000, ...overrides.dispatch },
    shutdown: { graceMs: 1_000 },
  });
  const handle = await startGateway(config, { ...deps, log: logs.logger("gateway") });
  return { ...handle, dataDir, storeUrl: config.store.url, logs, mqttUrl: `mqtt://127.0.0.1:${handle.mqttPort}` };
}

/**
 * Registers a kiosk with the real provisioning code, in a gateway's store (its data folder, or a
 * StoreTarget with its PostgreSQL URL); returns its parsed config with fast test timings.
 */
export async function provisionTestKiosk(gateway: string | StoreTarget, kioskId: string, mqttUrl: string, bundleRoot: string): Promise<KioskConfig> {
  const out = join(bundleRoot, kioskId);
  const target = typeof gateway === "string" ? { dataDir: gateway } : gateway;
  await provisionKiosk(kioskId, { dataDir: target.dataDir, store: target.storeUrl, gateway: mqttUrl, out, lat: 43.25, lon: 76.95, address: `Test road km ${kioskId}`, force: true });
  return fastTimings(loadKioskConfig(join(out, "kiosk.json")));
}

export function fastTimings(config: KioskConfig): KioskConfig {
  return parseKioskConfig({
    ...config,
    reconnect: { minMs: 100, maxMs: 500, factor: 2, jitter: 0 },
    alerts: { ackTimeoutMs: 1_000, resend: { minMs: 500, maxMs: 2_000, factor: 2, jitter: 0 } },
  });
}

export interface TestKiosk extends KioskHandle {
  readonly button: FakeButton;
  readonly indicator: RecordingIndicator;
  readonly player: RecordingPlayer;
  readonly logs: LogCapture;
  readonly config: KioskConfig;
}

/** A real kiosk agent with fakes only at the hardware edge (button, lights, speaker), and any others given. */
export async function startTestKiosk(config: KioskConfig, extra: Partial<Omit<KioskDeps, "log" | "button" | "indicator" | "player">> = {}): Promise<TestKiosk> {
  const button = new FakeButton();
  const indicator = new RecordingIndicator();
  const player = new RecordingPlayer();
  const logs = new LogCapture();
  const handle = await startKiosk(config, { ...extra, log: logs.logger("kiosk"), button, indicator, player });
  await handle.linkReady;
  return { ...handle, button, indicator, player, logs, config };
}

/** A raw mqtt.js client, for tests that misbehave on purpose. */
export async function connectRaw(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
}

export interface SosProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first JSON log line whose msg matches. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Every JSON log line so far (from its log file, when it writes to one). */
  logLines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the built `sos` CLI as a child process (npm test builds dist/ first). `logFile`: its stdout
 * goes to that file instead of a pipe (`stdout` stays empty; `waitForLog` reads the file). A process
 * that logs a lot writes to a pipe only as fast as this process reads it: a busy test process would
 * hold it up, as a stalled log reader would a gateway in service (shared/log.ts logs synchronously).
 */
export function spawnSos(args: readonly string[], options: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): SosProcess {
  if (!existsSync(SOS_BIN)) throw new Error(`${SOS_BIN} is missing: run 'npm run build' first (npm test does)`);
  const { logFile } = options;
  const out = logFile === undefined ? "pipe" : openSync(logFile, "a");
  const child = spawn(process.execPath, [SOS_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ["pipe", out, "pipe"] });
  if (typeof out === "number") closeSync(out);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let buffer = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    stdout.push(...lines);
  });
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(...chunk.toString("utf8").split("\n").filter((l) => l !== "")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on("exit", (code, signal) => resolveExit({ code, signal }));
  });
  const parsed = (): Record<string, unknown>[] =>
    (logFile === undefined ? stdout : readFileSync(logFile, "utf8").split("\n")).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    child,
    stdout,
    stderr,
    exited,
    waitForLog: (msg, timeoutMs = 15_000) => waitFor(() => parsed().find((l) => l.msg === msg), `log line '${msg}' (stderr: ${stderr.join(" | ")})`, timeoutMs),
    logLines: parsed,
  };
}
