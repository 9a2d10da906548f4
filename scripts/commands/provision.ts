import { randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isTlsGatewayUrl } from "../../shared/config/gateway-url.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { kioskIdSchema } from "../../shared/contract.js";
import { SMS_KEY_BYTES } from "../../shared/sms-alert.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { generateSecret, hashSecret } from "../../gateway/registry/credentials.js";
import { argumentError, kioskGateways } from "../lib/cli.js";
import { openCliStore, storeExists } from "../lib/store.js";
import { makeDir } from "../../shared/make-dir.js";

export interface ProvisionOptions {
  dataDir?: unknown;
  /** A PostgreSQL store (--store); the kiosk is registered there instead of in --data-dir. */
  store?: unknown;
  gateway?: unknown;
  out?: unknown;
  lat?: unknown;
  lon?: unknown;
  address?: unknown;
  name?: unknown;
  region?: unknown;
  force?: unknown;
}

export interface ProvisionResult {
  readonly kioskId: string;
  readonly configPath: string;
  readonly replaced: boolean;
  /** True when --data-dir held no gateway store yet (a first kiosk, or a mistyped folder). */
  readonly createdStore: boolean;
}

/** Registers the kiosk and writes its kiosk.json (mode 0600: it holds the kiosk's secret). */
export async function provisionKiosk(kioskId: string, opts: ProvisionOptions): Promise<ProvisionResult> {
  if (!kioskIdSchema.safeParse(kioskId).success) {
    throw argumentError(`kiosk id '${kioskId}' is invalid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  }
  if (typeof opts.lat !== "number" || typeof opts.lon !== "number" || typeof opts.address !== "string") {
    throw argumentError("a kiosk needs its location, since dispatch sends a patrol there: pass --lat, --lon and --address");
  }
  if (opts.address.trim() === "") throw argumentError("--address is empty: give the place a patrol can find (e.g. \"Almaty, Abay Ave, park entrance\")");
  if (typeof opts.name === "string" && opts.name.trim() === "") throw argumentError("--name is empty: leave it out, or give the kiosk a name");
  const region = typeof opts.region === "string" ? opts.region.trim() : undefined;
  if (region !== undefined && (region === "" || region.length > 100)) throw argumentError("--region must be 1-100 characters (e.g. Almaty)");
  const force = opts.force === true;
  const outDir = resolve(String(opts.out));
  const configPath = join(outDir, "kiosk.json");
  if (existsSync(configPath) && !force) {
    throw new SosError(ErrorCode.KioskExists, `${configPath} already exists: choose another --out, or pass --force to overwrite it`);
  }
  const gateways = kioskGateways(opts.gateway);
  const tlsUrl = ("urls" in gateways ? gateways.urls : [gateways.url]).find(isTlsGatewayUrl);
  if (tlsUrl !== undefined) {
    throw argumentError(`--gateway '${tlsUrl}' is MQTT over TLS, which takes kiosks with certificates: give the gateway's mqtt:// address for this password kiosk, or enrol the kiosk with a certificate (sos enroll, or sos provision --csv with a CA)`);
  }
  const secret = generateSecret();
  // The kiosk's SMS key for its second path (docs/fallback.md); the modem and numbers are set on site.
  const smsKey = randomBytes(SMS_KEY_BYTES).toString("base64url");
  const config = parseKioskConfig(
    {
      version: 1,
      kioskId,
      ...(typeof opts.name === "string" ? { name: opts.name } : {}),
      location: { lat: opts.lat, lon: opts.lon, address: opts.address },
      mqtt: { ...gateways, username: kioskId, password: secret },
      dataDir: "data",
      button: { driver: "stdin" },
      fallback: { smsKey },
    },
    "provisioning request",
  );
  // On PostgreSQL the database exists (or the connection fails); only a SQLite folder can be new.
  const storeExisted = await storeExists(opts);
  // The config is written (to a temp name) before the kiosk is registered: a folder that cannot be
  // written must not leave a registration whose secret nobody has.
  const tmp = `${configPath}.tmp`;
  try {
    makeDir(outDir);
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw argumentError(`cannot write ${configPath} (${e.code ?? e.message}): choose an --out folder you can write to`);
  }
  const store = await openCliStore(opts).catch((err: unknown) => {
    rmSync(tmp, { force: true });
    throw err;
  });
  let done = false;
  try {
    const existed = (await store.getKiosk(kioskId)) !== undefined;
    const written = await store.putKiosk(
      { kioskId, secretHash: await hashSecret(secret), name: config.name ?? null, location: config.location, region: region ?? null },
      { replace: force, now: new Date() },
    );
    if (!written) {
      throw new SosError(ErrorCode.KioskExists, `kiosk ${kioskId} is already provisioned: pass --force to replace its registration and secret (its old kiosk.json stops working)`);
    }
    await store.sms.putKey(kioskId, smsKey, new Date());
    renameSync(tmp, configPath);
    done = true;
    return { kioskId, configPath, replaced: existed, createdStore: !storeExisted };
  } finally {
    if (!done) rmSync(tmp, { force: true });
    await store.close();
  }
}

export async function run(kioskId: string, opts: ProvisionOptions): Promise<void> {
  const result = await provisionKiosk(kioskId, opts);
  if (result.createdStore) {
    process.stdout.write(`note: ${String(opts.dataDir)} held no gateway store, so a new one was created there; run the gateway with this --data-dir\n`);
  }
  process.stdout.write(
    `${result.replaced ? "re-provisioned" : "provisioned"} kiosk ${result.kioskId}: wrote ${result.configPath}\n` +
      `copy it to the kiosk and run: sos kiosk --config kiosk.json\n`,
  );
}
