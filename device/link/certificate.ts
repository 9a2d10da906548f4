/**
 * Certificate rotation on the kiosk (commands `renew-certificate`, `install-certificate`): a new key
 * pair is made here and kept in DATA/tls-pending/<commandId>.key (so a repeated command gets the same
 * CSR); only the CSR goes to the gateway. The certificate that comes back is installed over the
 * kiosk's TLS files only if it is for that key and this kiosk, by a crash-safe swap (tls-swap.ts).
 * Loaded only when such a command comes.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { errorMessage } from "../../shared/errors.js";
import { writeFileDurably } from "../lib/durable-file.js";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { importKeyPairFromPrivate } from "../../shared/pki/keys.js";
import { certificateMatchesKey } from "../../shared/pki/pair.js";
import { certificateInfo, createCsr, generateKeyPair } from "../../shared/pki/x509.js";
import { leftoversOf, recoverTlsPair, type SwapIo, SwapNotUndone, swapTlsPair } from "./tls-swap.js";
import { makeDir } from "../../shared/make-dir.js";

export { SwapNotUndone } from "./tls-swap.js";

const pendingDir = (config: KioskConfig): string => join(config.dataDir, "tls-pending");

function tlsFiles(config: KioskConfig): { cert: string; key: string } {
  const tls = config.mqtt.tls;
  if (tls === undefined) throw new Error("this kiosk has no certificate (mqtt.tls in kiosk.json): it uses a password");
  return tls;
}

export async function renewCertificate(config: KioskConfig, commandId: string): Promise<{ csr: string }> {
  tlsFiles(config);
  const dir = pendingDir(config);
  const path = join(dir, `${commandId.replace(/[^0-9a-f-]/gi, "")}.key`);
  let keyPem: string;
  if (existsSync(path)) keyPem = readFileSync(path, "utf8");
  else {
    makeDir(dir, 0o700);
    keyPem = (await generateKeyPair()).privateKeyPem;
    // Durable: the gateway records the certificate it issues for this key as the kiosk's newest.
    writeFileDurably(path, keyPem, 0o600);
  }
  return { csr: await createCsr(await importKeyPairFromPrivate(keyPem), config.kioskId) };
}

/**
 * Rejects with the old key and certificate in place when the swap fails (the gateway then revokes the
 * new certificate), or with SwapNotUndone when even that could not be made sure: not to be answered.
 */
export const installCertificate = (config: KioskConfig, certPem: string, opts: { log?: Logger; io?: SwapIo } = {}): Promise<{ serial: string }> =>
  new Promise((resolve) => resolve(installNow(config, certPem, opts)));

function installNow(config: KioskConfig, certPem: string, opts: { log?: Logger; io?: SwapIo }): { serial: string } {
  const files = tlsFiles(config);
  const info = certificateInfo(certPem);
  if (info.commonName !== config.kioskId) throw new Error(`the certificate is for ${info.commonName ?? "nobody"}, not ${config.kioskId}`);
  const dir = pendingDir(config);
  // A swap that could not be undone (and was not answered) is settled first, as at a start.
  const left = leftoversOf(files);
  if ([left.keyNew, left.certNew, left.keyOld].some((p) => existsSync(p))) {
    let recovered;
    try {
      recovered = recoverTlsPair(files, config.kioskId, opts.io);
    } catch (err) {
      // Half settled: which pair is in place is not sure, so no "error" answer (on which the gateway
      // revokes this certificate, which the next start's recovery may still roll forward to).
      throw new SwapNotUndone(`files of an earlier certificate swap could not be settled (${errorMessage(err)}): left for the next start`);
    }
    opts.log?.warn({ outcome: recovered.outcome }, "files of an earlier certificate swap were left behind: recovered before installing");
  }
  // The same certificate again (its result was lost, or the kiosk restarted after the swap): already installed.
  if (readText(files.cert) === certPem && (certificateMatchesKey(certPem, readText(files.key)))) {
    forgetPending(dir, opts.log);
    return { serial: info.serial };
  }
  const candidates = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".key")) : [];
  for (const file of candidates) {
    const keyPem = readText(join(dir, file));
    if (keyPem === undefined || !(certificateMatchesKey(certPem, keyPem))) continue;
    swapTlsPair(files, { keyPem, certPem }, opts);
    forgetPending(dir, opts.log);
    return { serial: info.serial };
  }
  throw new Error("the certificate matches no key this kiosk made for a renewal");
}

/** The new pair is in place whatever happens here: a failure must not turn the answer into an error. */
function forgetPending(dir: string, log: Logger | undefined): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log?.warn({ dir, reason: errorMessage(err) }, "the renewed certificate is installed; removing its pending key failed");
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

