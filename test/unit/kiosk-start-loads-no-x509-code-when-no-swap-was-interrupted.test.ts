/**
 * The button works first: a kiosk start whose TLS files were left intact checks them with Node's own
 * X.509 code and does not load the swap's (tls-swap.js, with @peculiar/x509 and reflect-metadata),
 * which would hold up the main thread while the first press is being recorded. Real files in a temp
 * folder; the import of tls-swap.js is watched through vitest's module mock (the real module is used).
 */
import { rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { prepareTlsFiles } from "../../device/link/tls-recovery.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { type KioskTlsDir, kioskTlsDir, makeTestCa, type Pair, pairFor } from "../fixtures/kiosk-tls.js";
import { LogCapture } from "../fixtures/log-capture.js";

const loaded = vi.hoisted(() => ({ swap: 0 }));
vi.mock("../../device/link/tls-swap.js", async (importOriginal) => {
  loaded.swap += 1;
  return importOriginal();
});

const KIOSK = "kz-tls-0001";
const HINT = `revoke it at the gateway ('sos revoke ${KIOSK}') and enrol it again here ('sos enroll --token-file FILE … --force')`;

describe("a kiosk start loads no X.509 code when no certificate swap was interrupted", () => {
  let pair: Pair;
  let other: Pair;
  let foreign: Pair;
  let tls: KioskTlsDir;
  let config: KioskConfig;
  let files: { cert: string; key: string };

  /** prepareTlsFiles, and the lines it logged once its background check has run. */
  async function start(): Promise<LogCapture> {
    const logs = new LogCapture();
    await prepareTlsFiles(config, logs.logger("kiosk"));
    await new Promise((r) => setTimeout(r, 100));
    return logs;
  }

  beforeAll(async () => {
    const ca = await makeTestCa();
    [pair, other, foreign] = await Promise.all([pairFor(ca, KIOSK), pairFor(ca, KIOSK), pairFor(ca, "kz-tls-0002")]);
  });
  beforeEach(() => {
    tls = kioskTlsDir(KIOSK, pair, "sos-tls-start-");
    ({ files, config } = tls);
  });
  afterEach(() => tls.remove());

  it("an intact matching pair is checked without loading tls-swap.js, and nothing is logged", async () => {
    const logs = await start();
    expect(logs.lines).toEqual([]);
    expect(loaded.swap).toBe(0);
  });

  it("an intact pair that does not match, is another kiosk's or cannot be read still gets its one error line, without tls-swap.js", async () => {
    writeFileSync(files.key, other.keyPem);
    let logs = await start();
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ["error", `the kiosk's TLS key and certificate do not match (the certificate is not for the private key): it cannot connect to the gateway; ${HINT}`],
    ]);

    writeFileSync(files.key, foreign.keyPem);
    writeFileSync(files.cert, foreign.certPem);
    logs = await start();
    expect(logs.lines.map((l) => [l.level, l.msg])).toEqual([
      ["error", `the kiosk's TLS key and certificate do not match (the certificate is for kz-tls-0002, not ${KIOSK}): it cannot connect to the gateway; ${HINT}`],
    ]);

    writeFileSync(files.cert, pair.certPem);
    writeFileSync(files.key, "\0garbage");
    logs = await start();
    expect(logs.lines.map((l) => l.msg)).toEqual([`the kiosk's TLS key and certificate do not match (the private key is not a readable PEM key): it cannot connect to the gateway; ${HINT}`]);

    rmSync(files.cert);
    logs = await start();
    expect(logs.lines.map((l) => l.level)).toEqual(["error"]);
    expect(logs.lines[0]?.msg).toMatch(/^the kiosk's TLS key or certificate is missing or unreadable/);
    expect(loaded.swap).toBe(0);
  });

  it("files left by an interrupted swap load tls-swap.js and are recovered before the start goes on", async () => {
    writeFileSync(`${files.key}.new`, other.keyPem);
    writeFileSync(`${files.cert}.new`, other.certPem);
    const logs = new LogCapture();
    await prepareTlsFiles(config, logs.logger("kiosk"));
    expect(logs.find("interrupted certificate swap recovered: the new key and certificate are in place")).toHaveLength(1);
    expect(loaded.swap).toBe(1);
  });
});
