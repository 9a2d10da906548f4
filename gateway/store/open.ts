/**
 * The one place that chooses the store: SQLite in the data folder when no URL is given, PostgreSQL
 * for a postgres:// or postgresql:// URL. Each backend is imported only when chosen, so a SQLite
 * installation never loads the PostgreSQL client and a PostgreSQL one never opens gateway.db.
 */
import type { Logger } from "pino";
import { redactStoreUrl, storeUrlProblem } from "../../shared/config/store-url.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import type { Tightened } from "./data-dir.js";
import type { GatewayStore } from "./store.js";

export interface StoreLocation {
  /** A PostgreSQL URL; absent: SQLite in `dataDir`. */
  readonly url?: string | undefined;
  /** The gateway's data folder (holds gateway.db when there is no URL). */
  readonly dataDir?: string | undefined;
}

export interface OpenStoreOptions extends StoreLocation {
  /** For inspection commands: nothing is created, migrated or (on SQLite) written. */
  readonly readonly?: boolean;
  /** Refuse to create a store that is not there (a mistyped folder must not become an empty store). */
  readonly mustExist?: boolean;
  readonly log?: Logger;
  /** SQLite: told of each data-folder file whose mode was tightened (defaults to a warning on `log`). */
  readonly tightened?: (t: Tightened) => void;
}

export type StoreBackend = "sqlite" | "postgres";

/** Which backend a location names; a URL that cannot be a store is a one-line error saying how to fix it. */
export function storeBackend(location: StoreLocation): StoreBackend {
  if (location.url === undefined || location.url === "") {
    if (location.dataDir === undefined || location.dataDir === "") {
      throw new SosError(ErrorCode.ArgumentInvalid, "no store given: pass --data-dir DIR (SQLite) or --store postgres://… (or set SOS_STORE_URL)");
    }
    return "sqlite";
  }
  const problem = storeUrlProblem(location.url);
  if (problem !== null) throw new SosError(ErrorCode.ConfigInvalid, `the store URL ${redactStoreUrl(location.url)} ${problem}`);
  return "postgres";
}

/** The store for messages: its folder, or its URL without the password. */
export function describeStore(location: StoreLocation): string {
  return storeBackend(location) === "postgres" ? redactStoreUrl(location.url ?? "") : String(location.dataDir);
}

/** The option that names this store on the command line, for hints in messages. */
export function storeArgument(location: StoreLocation): string {
  return storeBackend(location) === "postgres" ? `--store ${redactStoreUrl(location.url ?? "")}` : `--data-dir ${String(location.dataDir)}`;
}

export async function openStore(options: OpenStoreOptions): Promise<GatewayStore> {
  const backend = storeBackend(options);
  const log = options.log;
  if (backend === "sqlite") {
    const { SqliteStore } = await import("./sqlite/index.js");
    const tightened = options.tightened ?? (log === undefined ? undefined : (t: Tightened) => log.warn(t, "data folder or store file was readable by others: permissions tightened"));
    return SqliteStore.open(String(options.dataDir), {
      ...(options.readonly === true ? { readonly: true } : {}),
      ...(options.mustExist === true ? { mustExist: true } : {}),
      ...(tightened === undefined ? {} : { tightened }),
    });
  }
  const { PostgresStore } = await import("./postgres/index.js");
  // As on SQLite, a writable open creates or upgrades the schema (under the migration lock); an
  // inspection leaves it as it is. A mistyped database name fails to connect: nothing is created.
  return PostgresStore.open(String(options.url), { ...(log === undefined ? {} : { log }), migrate: options.readonly !== true });
}
