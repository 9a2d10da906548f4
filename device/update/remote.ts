/**
 * The install-release command (`sos release offer` at the gateway): download the archive over
 * HTTP(S) from the gateway into update/incoming/, then the same steps as `sos kiosk update`
 * (apply.ts: verify with the kiosk's own key before unpacking, switch, "trying"). The answer is
 * "ok" once switched, and the agent then restarts into the new release, whose health gate decides.
 *
 * Answered again the same way when the gateway repeats the command: "ok" for a release already
 * running or being tried, "error" for one this kiosk rolled back (it is not tried twice).
 */
import { createWriteStream, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import type { Logger } from "pino";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import type { Command, CommandResult } from "../../shared/contract.js";
import { errorMessage, isSosError } from "../../shared/errors.js";
import { applyRelease } from "./apply.js";
import { readState, updateHomeProblem } from "./update-state.js";
import { makeDir } from "../../shared/make-dir.js";

type InstallRelease = Extract<Command, { type: "install-release" }>;

const IDLE_TIMEOUT_MS = 60_000;

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}

/** Streams url to path, refusing more than maxBytes; over HTTPS the gateway must hold a certificate from the kiosk's CA. */
export function download(url: string, path: string, maxBytes: number, tls: KioskConfig["mqtt"]["tls"]): Promise<void> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith("https:");
    const options = https && tls !== undefined ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {};
    const req = (https ? httpsRequest : httpRequest)(url, { method: "GET", timeout: IDLE_TIMEOUT_MS, ...options }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${res.statusCode ?? "?"}`));
        return;
      }
      let size = 0;
      const out = createWriteStream(path, { mode: 0o600 });
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) res.destroy(new Error(`GET ${url}: more than the ${maxBytes} bytes the manifest promises`));
      });
      res.once("error", (err) => {
        out.destroy();
        reject(err);
      });
      out.once("error", reject);
      out.once("finish", () => resolve());
      res.pipe(out);
    });
    req.once("timeout", () => req.destroy(new Error(`GET ${url}: no data for ${IDLE_TIMEOUT_MS / 1_000} s`)));
    req.once("error", reject);
    req.end();
  });
}

/** Carries out install-release. `installed` is true when the agent must now restart into the new release. */
export async function installFromGateway(config: KioskConfig, command: InstallRelease, log: Logger): Promise<{ result: CommandResult; installed: boolean }> {
  const { commandId, release } = command;
  const ok = (data: Record<string, unknown>, installed = false): { result: CommandResult; installed: boolean } => ({ result: { v: 1, commandId, status: "ok", data }, installed });
  const error = (code: string, message: string): { result: CommandResult; installed: boolean } => ({ result: { v: 1, commandId, status: "error", error: { code, message } }, installed: false });
  const home = config.update.home;
  if (home === undefined) return error("UPDATE_UNSUPPORTED", "this kiosk was not installed as a service (no update home): install it with deploy/install.sh");
  let state;
  try {
    state = readState(home);
  } catch (err) {
    return error("UPDATE_STATE_UNREADABLE", updateHomeProblem(err, home));
  }
  if (state !== null) {
    if (state.current === release.version && state.phase === "confirmed") return ok({ version: release.version, phase: "confirmed" });
    if (state.target === release.version) return ok({ version: release.version, phase: state.phase });
    if (state.phase === "rolled-back" && state.failed === release.version) return error("RELEASE_ROLLED_BACK", `release ${release.version} was tried and rolled back: ${state.reason ?? "?"}`);
  }
  const incoming = join(home, "update", "incoming");
  const archive = join(incoming, release.file);
  try {
    rmSync(incoming, { recursive: true, force: true });
    makeDir(incoming);
    log.info({ version: release.version, url: command.url, size: release.size }, "downloading a new release");
    await download(command.url, archive, release.size, config.mqtt.tls);
    const trying = await applyRelease({
      home,
      archive,
      manifest: release,
      publicKeyPem: readFileSync(config.update.publicKey, "utf8"),
      gateDeadlineMs: config.update.gateDeadlineS * 1_000,
      bootId: bootId(),
      now: () => new Date(),
      onStep: (step) => log.info({ version: release.version, step }, "installing the new release"),
    });
    return ok({ version: release.version, phase: trying.phase, previous: trying.current }, true);
  } catch (err) {
    log.error({ err, version: release.version }, "new release not installed");
    return error(isSosError(err) ? err.code : "UPDATE_FAILED", errorMessage(err));
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}
