/**
 * At the kiosk's start, before the link reads the TLS files: an interrupted certificate swap
 * (device/link/tls-swap.ts) is finished or undone first; otherwise the pair is checked in the
 * background, so that a key and certificate that do not match (or cannot be read) get one clear error
 * line. The link retries with backoff meanwhile and connects once the files are put right. Runs after
 * the button is armed and never throws: a press is recorded whatever happens here.
 *
 * The plain check uses Node's own X.509 code (shared/pki/pair.ts, no X.509 library: slow to load on a
 * Pi); tls-swap.js is imported only when files of a swap were left behind, so a normal start loads
 * nothing it does not need while the button's first press is being recorded.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { errorMessage } from "../../shared/errors.js";
import { pairVerdict } from "../../shared/pki/pair.js";
// A type only: erased, so tls-swap.js is not loaded by this import.
import type { TlsRecovery } from "./tls-swap.js";

function reenrolHint(kioskId: string): string {
  return `revoke it at the gateway ('sos revoke ${kioskId}') and enrol it again here ('sos enroll --token-file FILE … --force')`;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Whether the pair in place matches and is this kiosk's (shared/pki/pair.ts, as tls-swap.ts judges it). */
export function checkIntactPair(files: { cert: string; key: string }, kioskId: string): TlsRecovery {
  const certPem = readText(files.cert);
  const keyPem = readText(files.key);
  if (certPem === undefined || keyPem === undefined) return { outcome: "unreadable", reason: "the key or certificate file is missing or unreadable" };
  const verdict = pairVerdict(certPem, keyPem, kioskId);
  return "serial" in verdict ? { outcome: "intact", serial: verdict.serial } : { outcome: "broken", reason: verdict.reason, discarded: [] };
}

function report(result: TlsRecovery, config: KioskConfig, files: { cert: string; key: string }, log: Logger): void {
  switch (result.outcome) {
    case "intact":
      return;
    case "unreadable":
      return log.error(
        { cert: files.cert, key: files.key },
        `the kiosk's TLS key or certificate is missing or unreadable: it cannot connect to the gateway until they are back; check mqtt.tls in kiosk.json, or ${reenrolHint(config.kioskId)}`,
      );
    case "rolled-forward":
      return log.warn({ serial: result.serial, discarded: result.discarded }, "interrupted certificate swap recovered: the new key and certificate are in place");
    case "kept-old":
      return log.warn({ serial: result.serial, discarded: result.discarded, reason: result.reason }, "interrupted certificate swap recovered: the new files were incomplete and are removed; the previous key and certificate are kept");
    case "broken":
      return log.error(
        { cert: files.cert, key: files.key, discarded: result.discarded, reason: result.reason },
        `the kiosk's TLS key and certificate do not match (${result.reason}): it cannot connect to the gateway; ${reenrolHint(config.kioskId)}`,
      );
  }
}

/** Resolves once the TLS files may be read (at once when no swap was interrupted). */
export async function prepareTlsFiles(config: KioskConfig, log: Logger): Promise<void> {
  const files = config.mqtt.tls;
  if (files === undefined) return;
  const failed = (err: unknown): void => log.error({ reason: errorMessage(err) }, "checking the kiosk's TLS files failed; connecting with them as they are");
  const leftovers = [`${files.key}.new`, `${files.cert}.new`, `${files.key}.old`];
  if (leftovers.some((p) => existsSync(p))) {
    // Only an interrupted swap is waited for (and only it loads the X.509 code of the swap).
    try {
      const { recoverTlsPair } = await import("./tls-swap.js");
      report(recoverTlsPair(files, config.kioskId), config, files, log);
    } catch (err) {
      failed(err);
    }
    return;
  }
  // The plain check must not delay the connection.
  setImmediate(() => {
    try {
      report(checkIntactPair(files, config.kioskId), config, files, log);
    } catch (err) {
      failed(err);
    }
  });
}
