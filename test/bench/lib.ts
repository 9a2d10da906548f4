/** Pieces the benchmarks share: percentiles, reading a child's output, a fleet of kiosks with one secret. */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { provisionKiosk } from "../../scripts/commands/provision.js";
import { loadKioskConfig, parseKioskConfig } from "../../shared/config/kiosk.js";
import { createLogger } from "../../shared/log.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { openStore } from "../../gateway/store/open.js";
import { redactStoreUrl, storeUrlProblem } from "../../shared/config/store-url.js";

/** A store a benchmark runs the gateway on: SQLite in its data folder, or a PostgreSQL URL. */
export interface BenchStore {
  readonly name: "SQLite" | "PostgreSQL";
  readonly url: string | undefined;
}

/**
 * SQLite, and PostgreSQL beside it when the bench is given `--store postgres://…` (npm run bench:x --
 * --store URL), so both are measured in the same run on the same machine. The database should be a
 * fresh one: the bench fills it.
 */
export function benchStores(argv: readonly string[] = process.argv.slice(2)): BenchStore[] {
  const i = argv.indexOf("--store");
  const url = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--store="))?.slice("--store=".length);
  if (url === undefined) return [{ name: "SQLite", url: undefined }];
  const problem = storeUrlProblem(url);
  if (problem !== null) throw new Error(`--store ${redactStoreUrl(url)} ${problem}`);
  return [
    { name: "SQLite", url: undefined },
    { name: "PostgreSQL", url },
  ];
}

/** The `sos gateway` arguments for a bench store. */
export const storeArgs = (store: BenchStore): string[] => (store.url === undefined ? [] : ["--store", store.url]);

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** How many, the median, the 99th percentile and the largest of some measurements. */
export interface Spread {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function spread(xs: readonly number[]): Spread {
  const s = sorted(xs);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN };
}

/** Resolves with the first line of the child's stdout that matches; rejects if it exits first. */
export function waitLine(child: ChildProcess, match: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    if (child.stdout === null) return reject(new Error("no stdout"));
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      if (match(line)) {
        rl.removeAllListeners("line");
        resolveLine(line);
      }
    });
    child.once("exit", (code) => reject(new Error(`${what}: process exited with ${code}`)));
  });
}

/** Sends SIGTERM to a helper process of a benchmark and waits for it to exit (at once when it has). */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/**
 * Registers `count` kiosks `${prefix}${i}` sharing one secret (one scrypt hash, and one verification
 * at the gateway thanks to its cache), so thousands provision and connect in seconds.
 */
export async function provisionFleet(dataDir: string, prefix: string, count: number, secret: string, storeUrl?: string): Promise<void> {
  const store = await openStore({ url: storeUrl, dataDir });
  try {
    const secretHash = await hashSecret(secret);
    for (let i = 0; i < count; i += 1) {
      await store.putKiosk({ kioskId: `${prefix}${i}`, secretHash, name: null, location: { lat: 43, lon: 76, address: "bench" } }, { replace: true, now: new Date() });
    }
  } finally {
    await store.close();
  }
}

/**
 * The one real kiosk agent a bench presses, provisioned at the gateway in `gwDir` and connected.
 * Every press a new alarm (no coalescing), recorded on the edge (no debounce), no speaker: benches
 * measure the alert path, from the press the agent recognises to the dispatch receiver.
 */
export async function startBenchKiosk(dir: string, gwDir: string, mqttUrl: string, storeUrl?: string): Promise<{ kiosk: KioskHandle; button: FakeButton }> {
  await provisionKiosk("bench-kiosk", { dataDir: gwDir, store: storeUrl, gateway: mqttUrl, out: join(dir, "kiosk"), lat: 43.2389, lon: 76.8897, address: "bench", force: true });
  const config = parseKioskConfig({
    ...loadKioskConfig(join(dir, "kiosk", "kiosk.json")),
    log: { level: "warn" },
    press: { debounceMs: 0, coalesceWhileOpen: false },
    audio: { player: "none" },
  });
  const button = new FakeButton();
  const kiosk = await startKiosk(config, { log: createLogger({ name: "kiosk", level: "warn" }), button });
  await new Promise<void>((r) => kiosk.events.on("link.up", "bench", () => r()));
  return { kiosk, button };
}

