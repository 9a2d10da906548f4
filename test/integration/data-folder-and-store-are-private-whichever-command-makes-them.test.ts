/**
 * The data folder is 0700 and gateway.db with its -wal and -shm 0600, whether `sos operator add`,
 * `sos provision` or the gateway's store made them, and an existing folder that others could read
 * is tightened at the next open (and the opener told, for its log line).
 * Runs dist/scripts/sos.js: `npm run build` first (npm test does).
 */
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Tightened } from "../../gateway/store/data-dir.js";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { spawnSos, tempDir } from "./harness.js";

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

async function sos(args: string[], stdin = ""): Promise<number | null> {
  const run = spawnSos(args);
  run.child.stdin?.end(stdin);
  return (await run.exited).code;
}

function expectPrivate(dataDir: string): void {
  expect(mode(dataDir)).toBe("700");
  const db = join(dataDir, STORE_FILE);
  expect(mode(db)).toBe("600");
  for (const extra of [`${db}-wal`, `${db}-shm`]) if (existsSync(extra)) expect(mode(extra)).toBe("600");
}

describe("the data folder and the store are private", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });
  const dir = (): string => {
    const d = tempDir();
    cleanups.push(() => d.remove());
    return d.path;
  };

  it("made by `sos operator add`: folder 0700, gateway.db 0600", async () => {
    const dataDir = join(dir(), "gw");
    expect(await sos(["operator", "add", "alice", "--data-dir", dataDir, "--password-stdin"], "a long enough password\n")).toBe(0);
    expectPrivate(dataDir);
  });

  it("made by `sos provision`: folder 0700, gateway.db 0600", async () => {
    const root = dir();
    const dataDir = join(root, "gw");
    const code = await sos(["provision", "kz-perm-0001", "--data-dir", dataDir, "--out", join(root, "kiosk"), "--lat", "43", "--lon", "76", "--address", "km 1", "--gateway", "mqtt://127.0.0.1:1883"]);
    expect(code).toBe(0);
    expectPrivate(dataDir);
  });

  it("made by the gateway's store while the store is open (with its -wal and -shm)", async () => {
    const dataDir = join(dir(), "deep", "gw");
    const store = SqliteStore.open(dataDir);
    try {
      await store.putKiosk({ kioskId: "kz-perm-0002", secretHash: "x", name: null, location: { lat: 1, lon: 2, address: "a" } }, { replace: true, now: new Date() });
      expect(existsSync(join(dataDir, `${STORE_FILE}-wal`))).toBe(true);
      expectPrivate(dataDir);
    } finally {
      await store.close();
    }
  });

  it("an existing folder and store others could read are tightened at the next open, and the opener is told", async () => {
    const dataDir = join(dir(), "gw");
    mkdirSync(dataDir, { mode: 0o755 });
    await SqliteStore.open(dataDir).close();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, STORE_FILE), 0o644);
    const told: Tightened[] = [];
    await SqliteStore.open(dataDir, { mustExist: true, tightened: (t) => told.push(t) }).close();
    expectPrivate(dataDir);
    expect(told).toEqual([
      { path: dataDir, was: "755", now: "700" },
      { path: join(dataDir, STORE_FILE), was: "644", now: "600" },
    ]);
    // The CLI tightens too.
    chmodSync(dataDir, 0o750);
    expect(await sos(["operator", "add", "bob", "--data-dir", dataDir, "--password-stdin"], "a long enough password\n")).toBe(0);
    expectPrivate(dataDir);
  });
});
