/**
 * `sos enroll` on a new kiosk: makes the kiosk's key pair here (the private key never leaves it),
 * sends a CSR with a one-time token to the gateway over HTTPS, and writes kiosk.json, the key, the
 * certificate and the CA. The gateway is trusted the first time through its CA: a file (--ca-cert)
 * or its SHA-256 fingerprint (--ca-fingerprint, printed by 'sos ca init'), checked before the token is sent.
 * The token comes from --token-file (a file, or `-` for standard input: kept out of `ps` and the shell
 * history) or --token.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { isTlsGatewayUrl } from "../../shared/config/gateway-url.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { kioskIdSchema } from "../../shared/contract.js";
import { ErrorCode, SosError, errorMessage } from "../../shared/errors.js";
import { createCsr, fingerprintOf, generateKeyPair, normaliseFingerprint } from "../../shared/pki/x509.js";
import { argumentError, checkedGateways, kioskGateways } from "../lib/cli.js";
import { httpsRequest } from "../lib/https.js";
import { makeDir } from "../../shared/make-dir.js";

export interface EnrollOptions {
  gateway?: unknown;
  /** The gateway nodes' MQTT-over-TLS URLs (repeatable --mqtt-url); default: --gateway's host, its mqtts port. */
  mqttUrl?: unknown;
  token?: unknown;
  tokenFile?: unknown;
  id?: unknown;
  lat?: unknown;
  lon?: unknown;
  address?: unknown;
  name?: unknown;
  caCert?: unknown;
  caFingerprint?: unknown;
  out?: unknown;
  force?: unknown;
}

function writeFile(path: string, text: string, mode: number): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  renameSync(`${path}.tmp`, path);
}

/**
 * Exactly one certificate: Node trusts every certificate in a `ca` string, so a pinned first one
 * followed by an attacker's would let the attacker's CA in beside ours.
 */
function singleCertificate(pem: string, what: string): string {
  const count = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (count !== 1) throw new SosError(ErrorCode.ArgumentInvalid, `${what} holds ${count} certificates, not exactly the gateway's CA: not enrolling (someone may be in between)`);
  return pem;
}

async function trustedCa(base: URL, opts: EnrollOptions): Promise<string> {
  if (typeof opts.caCert === "string") {
    let pem: string;
    try {
      pem = readFileSync(opts.caCert, "utf8");
    } catch (err) {
      throw argumentError(`cannot read --ca-cert ${opts.caCert}: ${errorMessage(err)}`);
    }
    return singleCertificate(pem, `--ca-cert ${opts.caCert}`);
  }
  if (typeof opts.caFingerprint !== "string") throw argumentError("say how to trust the gateway: --ca-cert FILE (its pki/ca.crt) or --ca-fingerprint SHA256 (printed by 'sos ca init')");
  const expected = normaliseFingerprint(opts.caFingerprint);
  if (expected.length !== 95) throw argumentError("--ca-fingerprint must be a SHA-256 fingerprint: 64 hex digits, with or without ':'");
  const reply = await httpsRequest(new URL("/api/enroll/ca", base), { method: "GET", insecure: true }).catch((err: unknown) => {
    throw new SosError(ErrorCode.ArgumentInvalid, `cannot reach the gateway at ${base.host} (${errorMessage(err)}): check --gateway, the gateway's HTTPS address (https://HOST:PORT)`);
  });
  if (reply.status !== 200) throw new SosError(ErrorCode.ArgumentInvalid, `the gateway did not give its CA certificate (HTTP ${reply.status}): check --gateway`);
  const actual = fingerprintOf(singleCertificate(reply.text, "the gateway's CA answer"));
  if (actual !== expected) {
    throw new SosError(ErrorCode.ArgumentInvalid, `the gateway's CA fingerprint is ${actual}, not the one given: not enrolling (check the fingerprint; someone may be in between)`);
  }
  return reply.text;
}

/**
 * Standard input up to its first newline (or its end), then no more: a technician types the token and
 * Enter at a terminal, which is never ended. Reading stops there (the stream is paused and, when it
 * can be, destroyed) so that nothing keeps the process waiting on input.
 */
function firstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const decoder = new StringDecoder("utf8");
    let text = "";
    const finish = (err?: Error): void => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      stdin.removeListener("error", finish);
      stdin.pause();
      if ("destroy" in stdin && typeof stdin.destroy === "function") (stdin as Readable).destroy();
      if (err === undefined) resolveLine(text);
      else reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      text += typeof chunk === "string" ? chunk : decoder.write(chunk);
      const newline = text.indexOf("\n");
      if (newline < 0) return;
      text = text.slice(0, newline);
      finish();
    };
    const onEnd = (): void => {
      text += decoder.end();
      finish();
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", finish);
    stdin.resume();
  });
}

/** The enrolment token: exactly one of --token and --token-file (`-`: standard input); its first line, trimmed. */
async function enrolmentToken(opts: EnrollOptions, stdin: NodeJS.ReadableStream): Promise<string> {
  const hasToken = opts.token !== undefined;
  const hasFile = opts.tokenFile !== undefined;
  if (hasToken && hasFile) throw argumentError("give the enrolment token once: --token-file FILE (or - for standard input) or --token TOKEN, not both");
  if (!hasToken && !hasFile) throw argumentError("say which enrolment token to use: --token-file FILE (or - to read it from standard input, which keeps it out of ps) or --token TOKEN");
  if (hasToken) {
    const token = String(opts.token).trim();
    if (token === "") throw argumentError("--token is empty: pass the token 'sos token create' printed, or use --token-file");
    return token;
  }
  const path = String(opts.tokenFile);
  const where = path === "-" ? "standard input (--token-file -)" : `--token-file ${path}`;
  let text: string;
  try {
    text = path === "-" ? await firstLine(stdin) : readFileSync(path, "utf8");
  } catch (err) {
    throw argumentError(`cannot read ${where}: ${errorMessage(err)}`);
  }
  const token = (text.split(/\r?\n/)[0] ?? "").trim();
  if (token === "") throw argumentError(`${where} holds no token on its first line: put the token 'sos token create' printed there`);
  return token;
}

export interface EnrollResult {
  readonly configPath: string;
  readonly kioskId: string;
}

export async function enrollKiosk(opts: EnrollOptions, stdin: NodeJS.ReadableStream = process.stdin): Promise<EnrollResult> {
  const token = await enrolmentToken(opts, stdin);
  const kioskId = String(opts.id);
  if (!kioskIdSchema.safeParse(kioskId).success) throw argumentError(`kiosk id '${kioskId}' is invalid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  if (typeof opts.lat !== "number" || typeof opts.lon !== "number" || typeof opts.address !== "string") {
    throw argumentError("a kiosk needs its location, since dispatch sends a patrol there: pass --lat, --lon and --address");
  }
  let base: URL;
  try {
    base = new URL(String(opts.gateway));
  } catch {
    throw argumentError(`--gateway '${String(opts.gateway)}' is not a URL: use https://HOST:PORT (the gateway's HTTPS port)`);
  }
  if (base.protocol !== "https:") throw argumentError("--gateway must be https://HOST:PORT: enrolment sends a token and never goes over plain HTTP");
  // Checked before the token is spent.
  const nodes = nodeUrls(opts.mqttUrl);
  const outDir = resolve(typeof opts.out === "string" ? opts.out : ".");
  const configPath = join(outDir, "kiosk.json");
  if (existsSync(configPath) && opts.force !== true) throw new SosError(ErrorCode.KioskExists, `${configPath} already exists: choose another --out, or pass --force`);
  const location = { lat: opts.lat, lon: opts.lon, address: opts.address };
  const ca = await trustedCa(base, opts);
  const key = await generateKeyPair();
  const csr = await createCsr(key.keys, kioskId);
  const body = { token, kioskId, location, csr, ...(typeof opts.name === "string" ? { name: opts.name } : {}) };
  let reply;
  try {
    reply = await httpsRequest(new URL("/api/enroll", base), { method: "POST", body, ca });
  } catch (err) {
    throw new SosError(ErrorCode.ArgumentInvalid, `cannot reach the gateway at ${base.host}: ${errorMessage(err)}`);
  }
  let parsed: { status?: string; data?: { certificate: string; caCertificate: string; mqtts: { port: number }; smsKey?: string }; error?: { message?: string } };
  try {
    parsed = JSON.parse(reply.text) as typeof parsed;
  } catch {
    throw new SosError(ErrorCode.ArgumentInvalid, `the gateway answered HTTP ${reply.status} without JSON: is --gateway its HTTPS port?`);
  }
  if (reply.status !== 200 || parsed.data === undefined) throw new SosError(ErrorCode.ArgumentInvalid, `enrolment refused: ${parsed.error?.message ?? `HTTP ${reply.status}`}`);
  // The kiosk keeps trusting the CA it checked, never one the answer names.
  if (fingerprintOf(singleCertificate(parsed.data.caCertificate, "the enrolment answer's CA")) !== fingerprintOf(ca)) {
    throw new SosError(ErrorCode.ArgumentInvalid, "the enrolment answer names another CA than the one checked: not enrolling (someone may be in between)");
  }
  const tlsDir = join(outDir, "tls");
  makeDir(tlsDir, 0o700);
  writeFile(join(tlsDir, "kiosk.key"), key.privateKeyPem, 0o600);
  writeFile(join(tlsDir, "kiosk.crt"), parsed.data.certificate, 0o644);
  writeFile(join(tlsDir, "ca.crt"), ca, 0o644);
  const host = base.hostname.includes(":") ? `[${base.hostname}]` : base.hostname;
  const config = parseKioskConfig(
    {
      version: 1,
      kioskId,
      ...(typeof opts.name === "string" ? { name: opts.name } : {}),
      location,
      mqtt: { ...kioskGateways(nodes ?? `mqtts://${host}:${parsed.data.mqtts.port}`), tls: { ca: "tls/ca.crt", cert: "tls/kiosk.crt", key: "tls/kiosk.key" } },
      dataDir: "data",
      button: { driver: "stdin" },
      // The SMS key of the second path; the centre numbers and the modem are set on site (docs/fallback.md).
      ...(parsed.data.smsKey === undefined ? {} : { fallback: { smsKey: parsed.data.smsKey } }),
    },
    "enrolment",
  );
  writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  return { configPath, kioskId };
}

export async function run(opts: EnrollOptions): Promise<void> {
  const result = await enrollKiosk(opts);
  process.stdout.write(`enrolled kiosk ${result.kioskId}: wrote ${result.configPath} and its key and certificates in tls/\nrun: sos kiosk --config ${result.configPath}\n`);
}

/** --mqtt-url given (once or more), checked: mqtts only, since enrolled kiosks use certificates. */
function nodeUrls(given: unknown): string[] | undefined {
  const list = checkedGateways(given, "--mqtt-url");
  if (list.length === 0) return undefined;
  const bad = list.find((u) => !isTlsGatewayUrl(u));
  if (bad !== undefined) throw argumentError(`--mqtt-url '${bad}' must be mqtts://HOST:PORT: an enrolled kiosk connects with its certificate, over TLS`);
  return list;
}
