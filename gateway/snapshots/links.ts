/**
 * Where a snapshot can be fetched. Operator pages use the path (same origin, session cookie).
 * Dispatch gets an absolute URL on the gateway's public URL with a token (an HMAC of the alertId
 * under a key derived from the dispatch secret): it has no session, and the link must stay the
 * same on every retry of the webhook and across gateway restarts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const ALERT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Alert ids are UUIDs (the contract): anything else is never a file name. */
export function isAlertId(value: string): boolean {
  return ALERT_ID.test(value);
}

export function snapshotPath(alertId: string): string {
  return `/api/alerts/${alertId}/snapshot.jpg`;
}

export class SnapshotLinks {
  private readonly key: Buffer | undefined;
  private base: string | undefined;

  /** `publicUrl` may be set later (setBase), once the HTTP port is known. */
  constructor(secret: string | undefined, publicUrl: string | undefined) {
    this.key = secret === undefined ? undefined : createHmac("sha256", secret).update("sos snapshot link v1").digest();
    if (publicUrl !== undefined) this.setBase(publicUrl);
  }

  setBase(publicUrl: string): void {
    this.base = publicUrl.replace(/\/+$/, "");
  }

  /** The link for the dispatch body, or undefined before the public URL is known. */
  dispatchUrl(alertId: string): string | undefined {
    if (this.base === undefined) return undefined;
    const token = this.token(alertId);
    return `${this.base}${snapshotPath(alertId)}${token === undefined ? "" : `?token=${token}`}`;
  }

  tokenValid(alertId: string, token: string): boolean {
    const expected = this.token(alertId);
    if (expected === undefined) return false;
    const a = Buffer.from(token);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private token(alertId: string): string | undefined {
    return this.key === undefined ? undefined : createHmac("sha256", this.key).update(alertId.toLowerCase()).digest("base64url");
  }
}
