/**
 * At the kiosk's start, before the link reads the TLS files: an interrupted certificate swap
 * (device/link/tls-swap.ts) is finished or undone first; otherwise the pair is checked in the
 * background, so that a key and certificate that do not match (or cannot be read) get one clear error
 * line. The link retries with backoff meanwhile and connects once the files are put right. Runs after
 * the button is armed and never throws: a press is recorded whatever happens here.
 */
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { errorMessage } from "../../shared/errors.js";

function reenrolHint(kioskId: string): string {
  return `revoke it at the gateway ('sos revoke ${kioskId}') and enrol it again here ('sos enroll --token-file FILE … --force')`;
}

async function recover(config: KioskConfig, files: { cert: string; key: string }, log: Logger): Promise<void> {
  const { recoverTlsPair } = await import("./tls-swap.js");
  const result = await recoverTlsPair(files, config.kioskId);
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
  const leftovers = [`${files.key}.new`, `${files.cert}.new`, `${files.key}.old`];
  const check = recover(config, files, log).catch((err: unknown) => log.error({ reason: errorMessage(err) }, "checking the kiosk's TLS files failed; connecting with them as they are"));
  // Only an interrupted swap is waited for; the plain check must not delay the connection.
  if (leftovers.some((p) => existsSync(p))) await check;
}
