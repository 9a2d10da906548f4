/**
 * The outbound webhooks' URLs (`--dispatch-url`, `--ops-url`, `--escalation-url`). Node's fetch
 * refuses a URL with user info (`http://user:password@host/…`) on every attempt, and its error
 * quotes the whole URL, password included: such a URL is refused when the config is read, and any
 * user info that still reaches an error message is cut out of it.
 */
import { z } from "zod";

/** http(s) URL without user info; `secretFlag` names the flag of the HMAC secret in the refusal. */
export function webhookUrlSchema(secretFlag: string) {
  return z.url({ protocol: /^https?$/ }).refine(
    (url) => !hasUserinfo(url),
    `must not carry a user name or password (user:password@host): fetch refuses such a URL, so nothing would ever be delivered. Remove them: the receiver authenticates the gateway by the X-Sos-Signature HMAC under ${secretFlag}; a receiver that also wants HTTP authentication goes behind a proxy that adds it (the gateway sends no other credentials)`,
  );
}

function hasUserinfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== "" || parsed.password !== "";
  } catch {
    return false; // not a URL: z.url says so
  }
}

/** `scheme://user:password@` anywhere in `text` becomes `scheme://` (error messages quoting a URL). */
export function stripUrlUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, "$1");
}
