/** Pieces the benchmarks share: percentiles, reading a child's output, a fleet of kiosks with one secret. */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { SqliteStore } from "../../gateway/store/sqlite.js";

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

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

/**
 * Registers `count` kiosks `${prefix}${i}` sharing one secret (one scrypt hash, and one verification
 * at the gateway thanks to its cache), so thousands provision and connect in seconds.
 */
export async function provisionFleet(dataDir: string, prefix: string, count: number, secret: string): Promise<void> {
  const store = SqliteStore.open(dataDir);
  try {
    const secretHash = await hashSecret(secret);
    for (let i = 0; i < count; i += 1) {
      await store.putKiosk({ kioskId: `${prefix}${i}`, secretHash, name: null, location: { lat: 43, lon: 76, address: "bench" } }, { replace: true, now: new Date() });
    }
  } finally {
    await store.close();
  }
}
