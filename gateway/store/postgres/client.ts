/**
 * The PostgreSQL connection pool (postgres 4.2.0, porsager) and what the store does when the database
 * cannot be reached. The pool connects lazily and again after any loss (a restart, a switchover, a
 * killed backend); with several hosts and target_session_attrs=read-write in the URL it finds the
 * writable one. The library reports errors only to the query that failed, never as a process-wide
 * event, so a lost connection cannot end the process: each store call rejects instead, with SosError
 * STORE_UNAVAILABLE, which the alert path turns into "no ack" (the kiosk keeps the alert and resends).
 * Saying so in the log, once per outage, is the gateway's (store/availability.ts, for either backend);
 * status() tells this pool's own view.
 */
import postgres, { type ISql, type PendingQuery, type Sql, type TransactionSql } from "postgres";
import { redactStoreUrl } from "../../../shared/config/store-url.js";
import { ErrorCode, SosError, errorMessage } from "../../../shared/errors.js";

export type Q = ISql;
export type Tx = TransactionSql;

/** Options the URL may set itself; these are our defaults when it does not. */
const URL_DEFAULTS: Readonly<Record<string, number>> = {
  // A host that does not answer is given up on after 5 s (the next host is tried; a call rejects).
  connect_timeout: 5,
  // A query that hangs on a dead link (no RST after a switchover) rejects rather than waiting for TCP.
  query_timeout: 30,
  // Calls wait for a free connection at most this long.
  queue_timeout: 15,
  keep_alive: 10,
};

/** Connection-level failures: the database is not reachable (or not writable, or not accepting us) now. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN",
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "QUERY_TIMEOUT", "QUEUE_TIMEOUT", "CANCEL_UNANSWERED",
  // SQLSTATE: admin/crash shutdown (pg_terminate_backend, a restart), starting up, too many connections,
  // read-only transaction (a standby after a switchover), no such database, authentication failed.
  "57P01", "57P02", "57P03", "53300", "25006", "3D000", "28000", "28P01",
]);

export function isUnavailable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
  // A FATAL error ends the session: whatever its code (a database not accepting connections is
  // 55000), the server cannot be used through this connection now.
  const severity = (err as { severity?: unknown }).severity;
  if (severity === "FATAL" || severity === "PANIC") return true;
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.some((e) => isUnavailable(e));
}

export interface PgStatus {
  readonly available: boolean;
  /** When the current outage began (its first failed call). */
  readonly downSince: string | null;
  readonly lastError: string | null;
}

function withDefaults(url: string): Record<string, number> {
  const query = /\?([^#]*)/.exec(url)?.[1] ?? "";
  const given = new Set(query.split("&").map((kv) => decodeURIComponent(kv.split("=")[0] ?? "")));
  return Object.fromEntries(Object.entries(URL_DEFAULTS).filter(([k]) => !given.has(k)));
}

/**
 * Seconds before the pool's next connection attempt after `retries` failed ones: 50 ms doubling to
 * 1 s, jittered. The library's own (3^retries / 100 s, to 20 s) left a node that had lost the
 * database for 20 s waiting 8–13 s more after it was back, acknowledging no alert meanwhile; one
 * attempt a second per node is nothing to a database server.
 */
export function reconnectBackoffS(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1);
}

export function connect(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    ...withDefaults(url),
    max: options.max ?? 10,
    onnotice: () => undefined,
    connection: { application_name: "sos-gateway" },
    backoff: reconnectBackoffS,
    // Every bigint column holds a count, an id or epoch milliseconds: all within 2^53.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
  });
}

/** A pool with the store's error handling: every call either resolves or rejects with STORE_UNAVAILABLE (or a bug's own error). */
export class PgClient {
  private downSince: Date | null = null;
  private lastError: string | null = null;
  readonly where: string;

  constructor(
    readonly sql: Sql,
    url: string,
  ) {
    this.where = redactStoreUrl(url);
  }

  status(): PgStatus {
    return { available: this.downSince === null, downSince: this.downSince?.toISOString() ?? null, lastError: this.lastError };
  }

  /** Runs `fn` on the pool (one statement, or several without a transaction). */
  async run<T>(fn: (sql: Q) => Promise<T>, statements = 1): Promise<T> {
    try {
      const result = await this.guarded(fn(this.sql), statements);
      this.reachable();
      return result;
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** Runs `fn` in a transaction: resolves only once COMMIT has been answered. */
  async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(async (sql) => (await (sql as Sql).begin((tx) => fn(tx))) as T, 4);
  }

  /**
   * The client's query_timeout does not cover a statement's first run on a connection whose link
   * died silently (measured with postgres 4.2.0: its describe step waited for TCP to give up, many
   * minutes). So each call also has a deadline of its own: query_timeout per statement, plus the
   * cancel's wait, plus 5 s. A call past it is refused as unavailable; if the statement still
   * completes later (an alert committed after all), the kiosk's resend finds it a duplicate.
   */
  private guarded<T>(call: Promise<T>, statements: number): Promise<T> {
    const { query_timeout: queryS, cancel_timeout: cancelS } = this.sql.options;
    if (!(queryS > 0)) return call;
    const ms = (queryS * statements + (cancelS > 0 ? cancelS : 0) + 5) * 1_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "QUERY_TIMEOUT" })), ms);
    });
    call.catch(() => undefined); // settled after the deadline: nobody is waiting for it any more
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
  }

  /**
   * Runs one statement whose effect need not survive the server's crash (a claim's lease: lost, it
   * only frees the job), committed without waiting for the WAL flush (synchronous_commit off for
   * that transaction alone), pipelined with its BEGIN and SET in one round trip.
   */
  async light<T extends readonly object[]>(statement: (tx: Q) => PendingQuery<T>): Promise<T> {
    return this.run(async (sql) => {
      const [, result] = (await (sql as Sql).begin((tx) => [tx`SET LOCAL synchronous_commit = off`, statement(tx)])) as unknown as [unknown, T];
      return result;
    });
  }

  private reachable(): void {
    this.downSince = null;
  }

  private failed(err: unknown): unknown {
    if (!isUnavailable(err)) return err;
    this.lastError = errorMessage(err);
    this.downSince ??= new Date();
    return new SosError(ErrorCode.StoreUnavailable, `the PostgreSQL store ${this.where} is unreachable: ${this.lastError}`, { cause: err });
  }
}
