/**
 * The gateway's certificate authority, in DATA/pki/: ca.key (0600) and ca.crt, and the gateway's
 * own server certificate (server.key, server.crt) issued by it for MQTT over TLS and HTTPS.
 * `sos ca init` creates them; the gateway loads them at start (TLS is on when they exist).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { writeServerPair } from "./server-pair.js";
import { createCaCertificate, fingerprintOf, generateKeyPair, importKeyPair, issueCertificate, type IssuedCertificate } from "../../shared/pki/x509.js";
import { makeDir } from "../../shared/make-dir.js";

export const PKI_DIR = "pki";

export interface PkiPaths {
  readonly dir: string;
  readonly caKey: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, PKI_DIR);
  return { dir, caKey: join(dir, "ca.key"), caCert: join(dir, "ca.crt"), serverKey: join(dir, "server.key"), serverCert: join(dir, "server.crt") };
}

export function pkiExists(dataDir: string): boolean {
  const p = pkiPaths(dataDir);
  return existsSync(p.caCert) && existsSync(p.caKey) && existsSync(p.serverCert) && existsSync(p.serverKey);
}

/** Writes a file through a temp file and a rename, so a crash never leaves half a key. */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export interface CaInitResult {
  readonly paths: PkiPaths;
  readonly caFingerprint: string;
  readonly serverNames: readonly string[];
}

/** The names the server certificate is valid for when none are given: this host and loopback. */
export function defaultServerNames(): string[] {
  return [...new Set([hostname(), "localhost", "127.0.0.1", "::1"])];
}

export async function initCa(dataDir: string, options: { serverNames?: readonly string[]; force?: boolean; validDays?: number } = {}): Promise<CaInitResult> {
  const paths = pkiPaths(dataDir);
  if (existsSync(paths.caKey) && options.force !== true) {
    throw new SosError(ErrorCode.KioskExists, `${paths.caKey} already exists: this gateway has a CA (pass --force to replace it; every kiosk certificate it issued stops working)`);
  }
  makeDir(paths.dir, 0o700);
  const ca = await generateKeyPair();
  const caCertPem = await createCaCertificate(ca.keys, "SOS gateway CA", options.validDays ?? 3_650);
  writeAtomic(paths.caKey, ca.privateKeyPem, 0o600);
  writeAtomic(paths.caCert, caCertPem, 0o644);
  const serverNames = options.serverNames !== undefined && options.serverNames.length > 0 ? [...options.serverNames] : defaultServerNames();
  await issueServerCertificate(dataDir, serverNames);
  return { paths, caFingerprint: fingerprintOf(caCertPem), serverNames };
}

/** How long a server certificate lasts (the most browsers and many TLS stacks accept). */
export const SERVER_CERT_DAYS = 825;

/**
 * (Re)issues the gateway's server certificate for the given names and writes it with its new key
 * crash-safe (server-pair.ts). A running gateway loads it at its next check (server-renewal.ts).
 */
/** How long before its issue a server certificate is valid from (a kiosk's clock may be behind). */
export const SERVER_CERT_BACKDATE_DAYS = 30;

export async function issueServerCertificate(dataDir: string, serverNames: readonly string[], options: { now?: Date; validDays?: number } = {}): Promise<IssuedCertificate> {
  const paths = pkiPaths(dataDir);
  const ca = loadCa(dataDir);
  const now = options.now ?? new Date();
  const key = await generateKeyPair();
  const issued = await issueCertificate({
    caCertPem: ca.certPem,
    caKeys: await importKeyPair(ca.keyPem, ca.certPem),
    subjectPublicKey: key.keys.publicKey,
    commonName: serverNames[0] ?? "sos-gateway",
    usage: "server",
    altNames: serverNames,
    // Kiosks check it with their own clock: one that booted after a power cut with a saved, older time
    // (no real-time clock, NTP not yet reached) must not find it "not yet valid". The gateway holds the
    // CA, so starting the validity earlier costs nothing.
    notBefore: new Date(now.getTime() - SERVER_CERT_BACKDATE_DAYS * 86_400_000),
    notAfter: new Date(now.getTime() + (options.validDays ?? SERVER_CERT_DAYS) * 86_400_000),
  });
  writeServerPair(paths, { keyPem: key.privateKeyPem, certPem: `${issued.pem}\n` });
  return issued;
}

export interface LoadedCa {
  readonly certPem: string;
  readonly keyPem: string;
}

export function loadCa(dataDir: string): LoadedCa {
  const paths = pkiPaths(dataDir);
  if (!existsSync(paths.caKey) || !existsSync(paths.caCert)) {
    throw new SosError(ErrorCode.ConfigMissing, `no CA in ${paths.dir}: create one with 'sos ca init --data-dir ${dataDir}'`);
  }
  return { certPem: readFileSync(paths.caCert, "utf8"), keyPem: readFileSync(paths.caKey, "utf8") };
}

/** What the TLS listeners need: the server key and certificate chain, and the CA that client certificates must chain to. */
export interface ServerTls {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly caFingerprint: string;
}

export function loadServerTls(dataDir: string): ServerTls {
  const paths = pkiPaths(dataDir);
  const ca = readFileSync(paths.caCert, "utf8");
  // The chain (server, then CA) so a client that pins the CA by fingerprint can see it.
  return { key: readFileSync(paths.serverKey, "utf8"), cert: `${readFileSync(paths.serverCert, "utf8").trim()}\n${ca.trim()}\n`, ca, caFingerprint: fingerprintOf(ca) };
}
