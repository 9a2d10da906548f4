import { describeStore } from "../../gateway/store/open.js";
import { kioskIdSchema } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { argumentError } from "../lib/cli.js";
import { openCliStore, storeLocation } from "../lib/store.js";

export interface RevokeOptions {
  dataDir?: unknown;
  store?: unknown;
}

/** Revokes every certificate (and the password) of a kiosk; the running gateway cuts its session within a second. */
export async function revokeKiosk(kioskId: string, opts: RevokeOptions): Promise<number> {
  if (!kioskIdSchema.safeParse(kioskId).success) throw argumentError(`kiosk id '${kioskId}' is invalid: use 1-64 letters, digits, '-' or '_'`);
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const revoked = await store.security.revokeKiosk(kioskId, new Date());
    if (revoked === null) throw new SosError(ErrorCode.KioskUnknown, `no kiosk ${kioskId} in ${describeStore(storeLocation(opts))}: check the id with 'sos kiosks'`);
    return revoked;
  } finally {
    await store.close();
  }
}

export async function run(kioskId: string, opts: RevokeOptions): Promise<void> {
  const revoked = await revokeKiosk(kioskId, opts);
  process.stdout.write(
    `revoked kiosk ${kioskId}: ${revoked} certificate(s) and its password; a running gateway cuts its session within a second\n` +
      `to put a replacement in service: 'sos token create' and 'sos enroll' on the new kiosk\n`,
  );
}
