/**
 * The store a command works on: `--store URL` (or SOS_STORE_URL) for PostgreSQL, else the SQLite
 * store in `--data-dir`. Commands open it through gateway/store/open.ts, never a backend directly.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Option } from "commander";
import { openStore, type StoreLocation } from "../../gateway/store/open.js";
import type { GatewayStore } from "../../gateway/store/store.js";
import { errorMessage } from "../../shared/errors.js";
import { argumentError } from "./cli.js";

export interface StoreOptions {
  dataDir?: unknown;
  store?: unknown;
}

/** `--store`, also read from SOS_STORE_URL (a password in the URL then stays out of ps). */
export const storeOption = (): Option =>
  new Option("--store <url>", "a PostgreSQL store, postgres://USER@HOST[,HOST2]/DB (default: SQLite in --data-dir)").env("SOS_STORE_URL");

export function storeLocation(opts: StoreOptions): StoreLocation {
  const url = typeof opts.store === "string" && opts.store !== "" ? opts.store : undefined;
  const dataDir = typeof opts.dataDir === "string" ? opts.dataDir : undefined;
  return { ...(url === undefined ? {} : { url }), ...(dataDir === undefined ? {} : { dataDir }) };
}

/** For commands that need only the store: --data-dir or --store, at least one. */
export function requireStore<T extends StoreOptions>(opts: T, command: string): T {
  if (typeof opts.dataDir !== "string" && (typeof opts.store !== "string" || opts.store === "")) {
    throw argumentError(`required option '--data-dir <dir>' or '--store <url>' not specified (see 'sos ${command} --help')`);
  }
  return opts;
}

/**
 * The store is older than this sos (no gateway of this version has started on it yet, and nobody ran
 * `sos store migrate`): a table or column it reads is missing. SQLite: "no such table/column";
 * PostgreSQL: "relation … does not exist" (42P01), "column … does not exist" (42703).
 */
export function isOlderSchema(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return errorMessage(err).startsWith("no such") || code === "42P01" || code === "42703";
}

export function openCliStore(opts: StoreOptions, mode: { readonly?: boolean; mustExist?: boolean } = {}): Promise<GatewayStore> {
  return openStore({ ...storeLocation(opts), ...mode });
}

/** Whether the store is there before it is opened: a PostgreSQL URL always is; a SQLite folder may be new (a first run, or a mistyped --data-dir). */
export async function storeExists(opts: StoreOptions): Promise<boolean> {
  if (storeLocation(opts).url !== undefined) return true;
  const { STORE_FILE } = await import("../../gateway/store/sqlite/index.js");
  return existsSync(join(String(opts.dataDir), STORE_FILE));
}
