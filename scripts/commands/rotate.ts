import { renewCommand } from "../../gateway/security/rotation.js";
import { kioskIdSchema } from "../../shared/contract.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { argumentError } from "../lib/cli.js";
import { openCliStore } from "../lib/store.js";

/** Queues a certificate renewal for the kiosk; the running gateway sends it through the command outbox. */
export async function rotateKiosk(kioskId: string, opts: { dataDir?: unknown; store?: unknown }): Promise<string> {
  if (!kioskIdSchema.safeParse(kioskId).success) throw argumentError(`kiosk id '${kioskId}' is invalid: use 1-64 letters, digits, '-' or '_'`);
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const active = (await store.security.certificatesOf(kioskId)).filter((c) => c.revokedAt === null);
    if (active.length === 0) throw new SosError(ErrorCode.KioskUnknown, `kiosk ${kioskId} has no valid certificate to rotate (a password kiosk, revoked, or unknown): enrol it with 'sos enroll'`);
    const { commandId, payload } = renewCommand();
    await store.security.queueCommand(kioskId, commandId, payload, new Date());
    return commandId;
  } finally {
    await store.close();
  }
}

export async function run(kioskId: string, opts: { dataDir?: unknown; store?: unknown }): Promise<void> {
  const commandId = await rotateKiosk(kioskId, opts);
  process.stdout.write(
    `queued certificate renewal ${commandId} for kiosk ${kioskId}: the gateway sends it when the kiosk is connected; ` +
      `its old certificate is revoked once it connects with the new one ('sos kiosks' / the gateway log)\n`,
  );
}
