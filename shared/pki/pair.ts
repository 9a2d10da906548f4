/**
 * Whether a private key and a certificate make a pair, with node:crypto only: it reads every key form
 * Node's TLS serves (PKCS#8 or SEC1 EC, RSA), and it loads no X.509 library, so the kiosk can check its
 * files at start while its first press is being recorded. One check for the kiosk's TLS files (its
 * start, its certificate swap) and the gateway's server pair.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** A serial as the store keeps it: lowercase hex without leading zeros (Node's TLS prints uppercase). */
export function normaliseSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

/** The pair's certificate serial, or why it is no pair. */
export type PairVerdict = { readonly serial: string } | { readonly reason: string };

/**
 * Whether `certPem` is the certificate of `keyPem` and, with `commonName`, issued to it. "missing"
 * when either is undefined (a file that could not be read).
 */
export function pairVerdict(certPem: string | undefined, keyPem: string | undefined, commonName?: string): PairVerdict {
  if (certPem === undefined || keyPem === undefined) return { reason: "missing" };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return { reason: "the certificate is not a readable PEM certificate" };
  }
  if (commonName !== undefined) {
    const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
    if (cn !== commonName) return { reason: `the certificate is for ${cn ?? "nobody"}, not ${commonName}` };
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { reason: "the private key is not a readable PEM key" };
  }
  if (!cert.checkPrivateKey(key)) return { reason: "the certificate is not for the private key" };
  return { serial: normaliseSerial(cert.serialNumber) };
}

/** Whether the certificate is for the key; false when either is missing or unreadable. */
export function certificateMatchesKey(certPem: string | undefined, keyPem: string | undefined): boolean {
  return "serial" in pairVerdict(certPem, keyPem);
}
