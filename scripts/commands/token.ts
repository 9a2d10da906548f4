import { createTokens, parseDuration } from "../../gateway/security/tokens.js";
import { argumentError } from "../lib/cli.js";
import { openCliStore } from "../lib/store.js";

export interface TokenCreateOptions {
  dataDir?: unknown;
  store?: unknown;
  count?: unknown;
  expires?: unknown;
  site?: unknown;
  json?: unknown;
}

export async function createEnrolmentTokens(opts: TokenCreateOptions): Promise<{ tokens: string[]; expiresAt: Date }> {
  const count = opts.count === undefined ? 1 : Number(opts.count);
  if (!Number.isInteger(count) || count < 1 || count > 1_000) throw argumentError("--count must be a whole number from 1 to 1000");
  const expires = typeof opts.expires === "string" ? opts.expires : "7d";
  const expiresMs = parseDuration(expires);
  if (expiresMs === undefined) throw argumentError(`--expires '${expires}' is not a duration: use a number and m, h or d, such as 30m, 12h or 7d`);
  const store = await openCliStore(opts, { mustExist: true });
  try {
    return await createTokens(store.security, { count, expiresMs, site: typeof opts.site === "string" ? opts.site : null, now: new Date() });
  } finally {
    await store.close();
  }
}

export async function runCreate(opts: TokenCreateOptions): Promise<void> {
  const { tokens, expiresAt } = await createEnrolmentTokens(opts);
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ tokens, expiresAt: expiresAt.toISOString() })}\n`);
    return;
  }
  process.stderr.write(`${tokens.length} one-time enrolment token(s), valid until ${expiresAt.toISOString()} (shown once; each enrols one kiosk):\n`);
  process.stdout.write(`${tokens.join("\n")}\n`);
}
