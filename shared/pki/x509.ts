/**
 * X.509 with @peculiar/x509 on Node's WebCrypto: ECDSA P-256 keys, a self-signed CA, certificates
 * issued from CSRs, fingerprints. No hand-written ASN.1 and no openssl child process.
 *
 * Shared by the gateway (CA, issuing) and the `sos enroll` command (key pair and CSR on the kiosk).
 * @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
 *
 * The library (about half a second of module loading on a small machine) is loaded on the first
 * call that signs or parses with it, not when this module is imported: reading a certificate's
 * serial, dates, names and fingerprint uses node:crypto, so a gateway opens its listeners, and a
 * kiosk records its first press, without it.
 */
import { createHash, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import type * as X509 from "@peculiar/x509";
import { normaliseSerial } from "./pair.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type { CryptoKey, CryptoKeyPair };

let loading: Promise<typeof X509> | undefined;

/** @peculiar/x509 on Node's WebCrypto, loaded once on first use. */
function lib(): Promise<typeof X509> {
  loading ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return loading;
}

/** The DER bytes of the first PEM block. */
function pemDer(pem: string): Buffer {
  const match = /-----BEGIN [^-]+-----([^-]*)-----END [^-]+-----/.exec(pem);
  if (match === null) throw new Error("not a PEM block");
  return Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64");
}

export const EC_ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface PemKeyPair {
  /** PKCS#8, "-----BEGIN PRIVATE KEY-----". */
  readonly privateKeyPem: string;
  readonly keys: CryptoKeyPair;
}

export async function generateKeyPair(): Promise<PemKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ["sign", "verify"]));
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const x509 = await lib();
  return { privateKeyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), keys };
}

/** Imports a PKCS#8 P-256 private key, with its public key derived from the certificate that goes with it. */
export async function importKeyPair(privateKeyPem: string, certPem: string): Promise<CryptoKeyPair> {
  const x509 = await lib();
  const der = x509.PemConverter.decodeFirst(privateKeyPem);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", der, EC_ALG, false, ["sign"]);
  // @peculiar/x509 types name the DOM's CryptoKey, which this Node project has no lib for.
  const publicKey = (await new x509.X509Certificate(certPem).publicKey.export(EC_ALG, ["verify"])) as unknown as CryptoKey;
  return { privateKey, publicKey };
}

/** A positive, random 128-bit serial as hex (RFC 5280: at most 20 octets, non-negative). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  if (bytes[0] === 0) bytes[0] = 1;
  return bytes.toString("hex");
}

export async function createCaCertificate(keys: CryptoKeyPair, commonName: string, validDays: number): Promise<string> {
  const x509 = await lib();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * 86_400_000),
    signingAlgorithm: EC_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return cert.toString("pem");
}

export interface IssueRequest {
  readonly caCertPem: string;
  readonly caKeys: CryptoKeyPair;
  readonly subjectPublicKey: CryptoKey;
  readonly commonName: string;
  readonly usage: "client" | "server";
  /** DNS names and IP addresses (server certificates). */
  readonly altNames?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter: Date;
}

export interface IssuedCertificate {
  readonly pem: string;
  readonly serial: string;
  readonly fingerprint: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)$/;

export async function issueCertificate(req: IssueRequest): Promise<IssuedCertificate> {
  const x509 = await lib();
  const ca = new x509.X509Certificate(req.caCertPem);
  const serial = randomSerial();
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([req.usage === "client" ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth], false),
    await x509.AuthorityKeyIdentifierExtension.create(ca, false),
  ];
  if (req.altNames !== undefined && req.altNames.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(req.altNames.map((n) => (IP_RE.test(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n }))));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ CN: [req.commonName] }],
    issuer: ca.subject,
    notBefore,
    notAfter: req.notAfter,
    signingAlgorithm: EC_ALG,
    publicKey: req.subjectPublicKey,
    signingKey: req.caKeys.privateKey,
    extensions,
  });
  return { pem: cert.toString("pem"), serial: normaliseSerial(cert.serialNumber), fingerprint: fingerprintOf(cert.toString("pem")), notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString() };
}

export async function createCsr(keys: CryptoKeyPair, commonName: string): Promise<string> {
  const x509 = await lib();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [commonName] }], keys, signingAlgorithm: EC_ALG });
  return csr.toString("pem");
}

export interface ParsedCsr {
  readonly commonName: string | undefined;
  readonly publicKey: CryptoKey;
}

/** Parses a CSR and checks its self-signature and key type (P-256); throws a one-line Error otherwise. */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  const x509 = await lib();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new Error("the CSR is not a PEM PKCS#10 certificate request");
  }
  const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== "ECDSA" || alg.namedCurve !== "P-256") throw new Error("the CSR's key must be ECDSA P-256");
  if (!(await csr.verify())) throw new Error("the CSR's signature does not verify");
  const cn = csr.subjectName.getField("CN")[0];
  const publicKey = (await csr.publicKey.export(EC_ALG, ["verify"])) as unknown as CryptoKey;
  return { commonName: cn, publicKey };
}

/** SHA-256 of the certificate's DER, as uppercase hex pairs joined by ':' (as Node and openssl print it). */
export function fingerprintOf(certPem: string): string {
  const der = pemDer(certPem);
  return createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g)?.join(":") ?? "";
}

/** Normalises a fingerprint typed by a person: any case, with or without ':'. */
export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  return hex.match(/../g)?.join(":") ?? "";
}

export function certificateInfo(pem: string): { commonName: string | undefined; serial: string; notAfter: Date; notBefore: Date } {
  const cert = new X509Certificate(pem);
  const cn = cert.subject.split("\n").find((line) => line.startsWith("CN="));
  return { commonName: cn?.slice(3), serial: normaliseSerial(cert.serialNumber), notAfter: new Date(cert.validTo), notBefore: new Date(cert.validFrom) };
}

/** An IP address in its shortest form (Node prints IPv6 subjectAltNames uncompressed). */
function compactIp(ip: string): string {
  return ip.includes(":") ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/**
 * The DNS names and IP addresses of a certificate's subjectAltName extension (empty without one), in
 * its order: what a server certificate is re-issued for.
 */
export function subjectAltNames(pem: string): string[] {
  const san = new X509Certificate(pem).subjectAltName;
  if (san === undefined) return [];
  return san.split(", ").flatMap((entry) => {
    if (entry.startsWith("DNS:")) return [entry.slice(4)];
    if (entry.startsWith("IP Address:")) return [compactIp(entry.slice(11))];
    return [];
  });
}

/** Whether the certificate's signature verifies with the CA certificate's key (dates are not checked). */
export async function issuedBy(certPem: string, caCertPem: string): Promise<boolean> {
  const x509 = await lib();
  try {
    return await new x509.X509Certificate(certPem).verify({ publicKey: new x509.X509Certificate(caCertPem).publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

export { normaliseSerial };
