/**
 * Certificate rotation on the kiosk (commands `renew-certificate`, `install-certificate`): a new key
 * pair is made here and kept in DATA/tls-pending/<commandId>.key (so a repeated command gets the same
 * CSR); only the CSR goes to the gateway. The certificate that comes back is installed over the
 * kiosk's TLS files only if it is for that key and this kiosk. Loaded only when such a command comes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { certificateMatchesKey, importKeyPairFromPrivate } from "../../shared/pki/keys.js";
import { certificateInfo, createCsr, generateKeyPair } from "../../shared/pki/x509.js";

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
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    keyPem = (await generateKeyPair()).privateKeyPem;
    writeFileSync(`${path}.tmp`, keyPem, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
  return { csr: await createCsr(await importKeyPairFromPrivate(keyPem), config.kioskId) };
}

export async function installCertificate(config: KioskConfig, certPem: string): Promise<{ serial: string }> {
  const files = tlsFiles(config);
  const info = certificateInfo(certPem);
  if (info.commonName !== config.kioskId) throw new Error(`the certificate is for ${info.commonName ?? "nobody"}, not ${config.kioskId}`);
  const dir = pendingDir(config);
  const candidates = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".key")) : [];
  for (const file of candidates) {
    const keyPem = readFileSync(join(dir, file), "utf8");
    if (!(await certificateMatchesKey(certPem, keyPem))) continue;
    // Both written beside their targets first, then renamed: the pair is swapped in two renames.
    writeFileSync(`${files.key}.new`, keyPem, { mode: 0o600 });
    writeFileSync(`${files.cert}.new`, certPem, { mode: 0o644 });
    renameSync(`${files.key}.new`, files.key);
    renameSync(`${files.cert}.new`, files.cert);
    rmSync(dir, { recursive: true, force: true });
    return { serial: info.serial };
  }
  throw new Error("the certificate matches no key this kiosk made for a renewal");
}
