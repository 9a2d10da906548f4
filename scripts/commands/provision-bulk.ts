/**
 * `sos provision --csv kiosks.csv`: many kiosks at once, one row each (id,lat,lon,address[,name]; a
 * header row is skipped). With a CA in the data folder, each kiosk gets a key pair and a certificate
 * made here (the bundle in --out/<id>/ is then as secret as a password: ship it to the kiosk only);
 * without one, a password as `sos provision ID` gives. A bad row is reported with its line number and
 * the others go on; a progress bar on a terminal, a summary at the end, exit 1 if any row failed.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SingleBar } from "cli-progress";
import { parse } from "csv-parse/sync";
import { loadCa, pkiExists } from "../../gateway/pki/ca.js";
import { NO_PASSWORD } from "../../gateway/store/security-store.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { isTlsGatewayUrl } from "../../shared/config/gateway-url.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { describeZodError, kioskIdSchema, locationSchema } from "../../shared/contract.js";
import { ErrorCode, SosError, errorMessage } from "../../shared/errors.js";
import { generateKeyPair, importKeyPair, issueCertificate } from "../../shared/pki/x509.js";
import { argumentError, kioskGateways } from "../lib/cli.js";
import { openCliStore } from "../lib/store.js";
import { provisionKiosk } from "./provision.js";
import { makeDir } from "../../shared/make-dir.js";

export interface BulkOptions {
  csv?: unknown;
  dataDir?: unknown;
  store?: unknown;
  gateway?: unknown;
  out?: unknown;
  force?: unknown;
  certDays?: unknown;
}

export interface Row {
  readonly line: number;
  readonly id: string;
  readonly lat: number;
  readonly lon: number;
  readonly address: string;
  readonly name: string | undefined;
}

export interface BulkResult {
  readonly total: number;
  readonly provisioned: string[];
  readonly failed: { line: number; id: string; message: string }[];
  readonly mode: "certificate" | "password";
}

/** Reads the CSV into rows; a row that is not a kiosk is a failure with its line, not an exception. */
export function readRows(text: string): { rows: Row[]; failed: BulkResult["failed"] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw argumentError(`the CSV cannot be read: ${errorMessage(err)} (columns: id,lat,lon,address[,name]; quote fields that hold commas)`);
  }
  const rows: Row[] = [];
  const failed: BulkResult["failed"] = [];
  for (const [index, { record, info }] of records.entries()) {
    const [id = "", lat = "", lon = "", address = "", name] = record;
    if (index === 0 && id.toLowerCase() === "id") continue;
    const fail = (message: string): void => void failed.push({ line: info.lines, id, message });
    if (record.length < 4 || record.length > 5) {
      fail(`has ${record.length} columns: expected id,lat,lon,address[,name]`);
      continue;
    }
    if (!kioskIdSchema.safeParse(id).success) {
      fail(`kiosk id '${id}' is invalid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
      continue;
    }
    const location = locationSchema.safeParse({ lat: lat === "" ? NaN : Number(lat), lon: lon === "" ? NaN : Number(lon), address });
    if (!location.success) {
      fail(`location is invalid: ${describeZodError(location.error)}`);
      continue;
    }
    if (rows.some((r) => r.id === id)) {
      fail(`kiosk id ${id} is on an earlier line too`);
      continue;
    }
    rows.push({ line: info.lines, id, ...location.data, name: name === "" ? undefined : name });
  }
  return { rows, failed };
}

function writeAtomic(path: string, text: string, mode: number): void {
  writeFileSync(`${path}.tmp`, text, { mode });
  renameSync(`${path}.tmp`, path);
}

async function certificateKiosk(store: GatewayStore, row: Row, ca: { certPem: string; keys: Awaited<ReturnType<typeof importKeyPair>> }, opts: BulkOptions, certDays: number): Promise<void> {
  const existing = await store.getKiosk(row.id);
  if (existing !== undefined && opts.force !== true) throw new SosError(ErrorCode.KioskExists, `kiosk ${row.id} is already provisioned: pass --force to replace it (its old certificates are revoked)`);
  if (existing !== undefined) await store.security.revokeKiosk(row.id, new Date());
  const config = parseKioskConfig(
    {
      version: 1,
      kioskId: row.id,
      ...(row.name === undefined ? {} : { name: row.name }),
      location: { lat: row.lat, lon: row.lon, address: row.address },
      mqtt: { ...kioskGateways(opts.gateway), tls: { ca: "tls/ca.crt", cert: "tls/kiosk.crt", key: "tls/kiosk.key" } },
      dataDir: "data",
      button: { driver: "stdin" },
    },
    `line ${row.line}`,
  );
  const key = await generateKeyPair();
  const now = new Date();
  const cert = await issueCertificate({ caCertPem: ca.certPem, caKeys: ca.keys, subjectPublicKey: key.keys.publicKey, commonName: row.id, usage: "client", notAfter: new Date(now.getTime() + certDays * 86_400_000) });
  const dir = join(resolve(String(opts.out)), row.id);
  makeDir(join(dir, "tls"), 0o700);
  writeAtomic(join(dir, "tls", "kiosk.key"), key.privateKeyPem, 0o600);
  writeAtomic(join(dir, "tls", "kiosk.crt"), cert.pem, 0o644);
  writeAtomic(join(dir, "tls", "ca.crt"), ca.certPem, 0o644);
  writeAtomic(join(dir, "kiosk.json"), `${JSON.stringify(config, null, 2)}\n`, 0o600);
  // Registered last: a kiosk whose files could not be written is not left half in the registry.
  await store.putKiosk({ kioskId: row.id, secretHash: NO_PASSWORD, name: row.name ?? null, location: config.location }, { replace: true, now });
  await store.security.recordCertificate({ serial: cert.serial, kioskId: row.id, fingerprint: cert.fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter }, now);
}

export async function provisionBulk(opts: BulkOptions, progress?: { start(total: number): void; tick(): void; stop(): void }): Promise<BulkResult> {
  let text: string;
  try {
    text = readFileSync(String(opts.csv), "utf8");
  } catch (err) {
    throw argumentError(`cannot read --csv ${String(opts.csv)}: ${errorMessage(err)}`);
  }
  const { rows, failed } = readRows(text);
  const unreadable = failed.length;
  const dataDir = String(opts.dataDir);
  const mode = pkiExists(dataDir) ? "certificate" : "password";
  const given = kioskGateways(opts.gateway);
  const gateways = "urls" in given ? given.urls : [given.url];
  if (mode === "certificate" && !gateways.every(isTlsGatewayUrl)) {
    throw argumentError(`${dataDir} has a CA, so kiosks get certificates: --gateway must be the MQTT-over-TLS address, mqtts://HOST:8883`);
  }
  if (mode === "password" && gateways.some(isTlsGatewayUrl)) {
    throw argumentError(`${dataDir} has no CA, so kiosks get passwords: --gateway must be the gateway's mqtt:// address (MQTT over TLS takes kiosks with certificates: 'sos ca init' first)`);
  }
  const provisioned: string[] = [];
  const store = await openCliStore(opts);
  progress?.start(rows.length);
  try {
    const ca = mode === "certificate" ? loadCa(dataDir) : undefined;
    const caKeys = ca === undefined ? undefined : { certPem: ca.certPem, keys: await importKeyPair(ca.keyPem, ca.certPem) };
    for (const row of rows) {
      try {
        if (caKeys !== undefined) await certificateKiosk(store, row, caKeys, opts, typeof opts.certDays === "number" ? opts.certDays : 825);
        else await provisionKiosk(row.id, { dataDir, store: opts.store, gateway: opts.gateway, out: join(String(opts.out), row.id), lat: row.lat, lon: row.lon, address: row.address, name: row.name, force: opts.force });
        provisioned.push(row.id);
      } catch (err) {
        failed.push({ line: row.line, id: row.id, message: errorMessage(err) });
      }
      progress?.tick();
    }
  } finally {
    progress?.stop();
    await store.close();
  }
  failed.sort((a, b) => a.line - b.line);
  return { total: rows.length + unreadable, provisioned, failed, mode };
}

export async function run(opts: BulkOptions): Promise<void> {
  const bar = process.stderr.isTTY ? new SingleBar({ format: "provisioning [{bar}] {value}/{total} kiosks", stream: process.stderr, hideCursor: true }) : undefined;
  const result = await provisionBulk(opts, bar === undefined ? undefined : { start: (total) => bar.start(total, 0), tick: () => bar.increment(), stop: () => bar.stop() });
  for (const f of result.failed) process.stderr.write(`sos: line ${f.line}${f.id === "" ? "" : ` (${f.id})`}: ${f.message}\n`);
  process.stdout.write(
    `provisioned ${result.provisioned.length} of ${result.total} kiosks (${result.mode === "certificate" ? "certificates" : "passwords"}) into ${resolve(String(opts.out))}; ${result.failed.length} failed\n`,
  );
  if (result.failed.length > 0) process.exitCode = 1;
}
