/**
 * Who this process is when it claims work in the store (GatewayStore.claimDispatches and the other
 * outboxes), and how long a claim lasts. A claim outlives the work it covers (a send is cut off at
 * its receiver's timeout), so a live process never loses a job to another; a process that died
 * leaves claims that lapse after the lease, and another process (or this one restarted) sends them.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/** Unique per process: a restarted gateway is a new owner (its predecessor's claims lapse). */
export const PROCESS_OWNER = `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;

/**
 * The lease for work whose attempt is cut off after `timeoutMs`: that, plus 5 s to record it. A job a
 * crashed process held is sent again by the next one (or by itself restarted) at most this long after.
 */
export function leaseFor(timeoutMs: number): number {
  return timeoutMs + 5_000;
}
