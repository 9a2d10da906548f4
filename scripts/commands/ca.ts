import { defaultServerNames, issueServerCertificate, initCa } from "../../gateway/pki/ca.js";

export interface CaInitOptions {
  dataDir?: unknown;
  name?: unknown;
  force?: unknown;
}

/** `sos ca init`: the gateway's CA and its server certificate, in DATA/pki/. */
export async function runInit(opts: CaInitOptions): Promise<void> {
  const names = Array.isArray(opts.name) ? (opts.name as unknown[]).map(String) : [];
  const result = await initCa(String(opts.dataDir), { serverNames: names, force: opts.force === true });
  process.stdout.write(
    `created the gateway CA in ${result.paths.dir} (keep ca.key secret and backed up)\n` +
      `server certificate for: ${result.serverNames.join(", ")}\n` +
      `CA fingerprint (SHA-256), for 'sos enroll --ca-fingerprint':\n${result.caFingerprint}\n`,
  );
}

/** `sos ca server-cert`: a new server certificate from the same CA (before the old one expires, or for new names). */
export async function runServerCert(opts: CaInitOptions): Promise<void> {
  const given = Array.isArray(opts.name) ? (opts.name as unknown[]).map(String) : [];
  const names = given.length > 0 ? given : defaultServerNames();
  const issued = await issueServerCertificate(String(opts.dataDir), names);
  process.stdout.write(`issued a new server certificate for: ${names.join(", ")}, valid until ${issued.notAfter}\na running gateway loads it at its next certificate check (security.renewCheckMs, every 6 h by default; or restart it); kiosk certificates are unchanged\n`);
}
