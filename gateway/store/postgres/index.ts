/**
 * PostgreSQL store (skeleton: the API P2's openStore and `sos store` call; the implementation follows).
 */
import type { Logger } from "pino";
import { ErrorCode, SosError } from "../../../shared/errors.js";
import type { GatewayStore } from "../store.js";

export interface PostgresOpenOptions {
  readonly log?: Logger;
  /** Create or upgrade the schema (under the migration lock) before returning; default true. */
  readonly migrate?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- skeleton only: replaced by the implementation
export interface PostgresStore extends GatewayStore {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-extraneous-class -- skeleton only
export class PostgresStore {
  static open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresStore> {
    void url;
    void options;
    return Promise.reject(new SosError(ErrorCode.StoreUnavailable, "the PostgreSQL store is not implemented yet"));
  }
}

/** Creates or upgrades the schema at `url` under a transaction-level advisory lock; returns the versions before and after. */
export function migratePostgres(url: string, log?: Logger): Promise<{ from: number; to: number }> {
  void url;
  void log;
  return Promise.reject(new SosError(ErrorCode.StoreUnavailable, "the PostgreSQL store is not implemented yet"));
}
