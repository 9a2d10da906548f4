import { initCa } from "../../gateway/pki/ca.js";

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
