/**
 * The gateway renews its own server certificate: when it expires every kiosk refuses the gateway at
 * once, so this must not wait for someone to read a log. At start (before the listeners exist) and
 * then every `security.renewCheckMs`:
 *
 * - a certificate on disk that is not the one loaded (`sos ca server-cert` was run) is loaded, when it
 *   matches its key, chains to the gateway's CA and has not expired;
 * - once the loaded certificate expires within `security.serverRenewBeforeDays`, a new one is issued
 *   from the same CA for the same names (its subjectAltNames), written crash-safe (server-pair.ts),
 *   read back and loaded into the listeners (tls.Server#setSecureContext): new handshakes get it,
 *   connected kiosks keep their sessions.
 *
 * A failure is logged as an error, with a warning that the certificate expires soon, at every check
 * until a renewal succeeds.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.js";
import type { GatewayConfig } from "../../shared/config/gateway.js";
import { certificateInfo, issuedBy, subjectAltNames } from "../../shared/pki/x509.js";
import { issueServerCertificate, loadServerTls, pkiPaths, type ServerTls } from "./ca.js";
import { pairMatches } from "./server-pair.js";
import { PeriodicCheck } from "../security/periodic-check.js";

const DAY_MS = 86_400_000;

export interface ServerRenewalDeps {
  readonly clock: Clock;
  readonly log: Logger;
}

/** What a check did ("reloaded": loaded the certificate `sos ca server-cert` put on disk), and the certificate loaded after it. */
export interface ServerCheck {
  readonly outcome: "valid" | "reloaded" | "renewed" | "failed";
  readonly serial: string;
  readonly notAfter: string;
}

/** Loads a renewed certificate into one listener; throws if it cannot. */
export type ServerTlsTarget = (tls: ServerTls) => void;

export class ServerCertificateRenewal {
  private loaded: ServerTls;
  private readonly targets: ServerTlsTarget[] = [];
  private readonly periodic: PeriodicCheck<ServerCheck>;
  private checks = 0;

  constructor(
    private readonly config: Pick<GatewayConfig, "dataDir" | "security">,
    private readonly deps: ServerRenewalDeps,
    initial: ServerTls,
  ) {
    this.loaded = initial;
    this.periodic = new PeriodicCheck(() => this.run(), config.security.renewCheckMs);
  }

  /** The key and certificate chain the listeners serve (after any renewal). */
  get tls(): ServerTls {
    return this.loaded;
  }

  /** Loads every certificate renewed from now on into this listener too. */
  serve(target: ServerTlsTarget): void {
    this.targets.push(target);
  }

  /** Checks on the timer (the first check is the caller's, before the listeners start). */
  start(): void {
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  /** One check (see above). Never rejects. */
  check(): Promise<ServerCheck> {
    return this.periodic.check();
  }

  private async run(): Promise<ServerCheck> {
    const { clock, log } = this.deps;
    const first = this.checks++ === 0;
    const now = clock.now();
    let reloaded = false;
    try {
      reloaded = await this.pickUpFromDisk(now);
    } catch (err) {
      log.error({ err }, "reading the server certificate on disk failed; keeping the one loaded");
    }
    const info = certificateInfo(this.loaded.cert);
    const days = Math.floor((info.notAfter.getTime() - now.getTime()) / DAY_MS);
    const current = { serial: info.serial, notAfter: info.notAfter.toISOString() };
    if (days > this.config.security.serverRenewBeforeDays) {
      if (first) log.info({ ...current, days }, "server certificate valid");
      return { outcome: reloaded ? "reloaded" : "valid", ...current };
    }
    if (days < 0) log.error({ ...current }, "the server certificate has expired: kiosks refuse the gateway until it is renewed");
    try {
      const issued = await this.renew(now);
      log.info({ serial: issued.serial, notAfter: issued.notAfter }, "server certificate renewed and loaded");
      return { outcome: "renewed", serial: issued.serial, notAfter: issued.notAfter };
    } catch (err) {
      log.error({ err }, "renewing the server certificate failed; trying again at the next check");
      log.warn(
        { ...current, days },
        "the gateway's server certificate expires soon and is not renewed: every kiosk will refuse the gateway when it expires; see the error above, or run 'sos ca server-cert'",
      );
      return { outcome: "failed", ...current };
    }
  }

  /** Issues a certificate for the loaded one's names, writes it, reads it back and loads it. */
  private async renew(now: Date): Promise<{ serial: string; notAfter: string }> {
    const names = subjectAltNames(this.loaded.cert);
    if (names.length === 0) throw new Error("the server certificate names no host or address (subjectAltName): run 'sos ca server-cert --name HOST'");
    const issued = await issueServerCertificate(this.config.dataDir, names, { now });
    const tls = loadServerTls(this.config.dataDir);
    const serial = certificateInfo(tls.cert).serial;
    if (serial !== issued.serial) throw new Error(`the server certificate on disk (${serial}) is not the one just issued (${issued.serial}): was 'sos ca server-cert' run at the same moment?`);
    this.load(tls);
    return { serial, notAfter: issued.notAfter };
  }

  /** Loads the certificate on disk when it is not the loaded one and may be served; returns whether it did. */
  private async pickUpFromDisk(now: Date): Promise<boolean> {
    const { log } = this.deps;
    const onDisk = loadServerTls(this.config.dataDir);
    const info = certificateInfo(onDisk.cert);
    if (info.serial === certificateInfo(this.loaded.cert).serial) return false;
    const refuse = (reason: string): false => {
      log.warn({ serial: info.serial, path: pkiPaths(this.config.dataDir).serverCert, reason }, "the server certificate on disk is not loaded; keeping the one loaded");
      return false;
    };
    // A `sos ca server-cert` halfway through its writes, or files copied by hand.
    if (!pairMatches(onDisk.cert, onDisk.key)) return refuse("it is not the certificate of server.key");
    if (!(await issuedBy(onDisk.cert, onDisk.ca))) return refuse("it is not issued by the gateway's CA: kiosks would refuse it");
    if (info.notAfter.getTime() <= now.getTime()) return refuse("it has expired");
    this.load(onDisk);
    log.info({ serial: info.serial, notAfter: info.notAfter.toISOString() }, "server certificate changed on disk: loaded");
    return true;
  }

  /** Every listener first: if one throws, the same files are loaded again at the next check. */
  private load(tls: ServerTls): void {
    for (const target of this.targets) target(tls);
    this.loaded = tls;
  }
}
