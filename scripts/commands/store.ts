/**
 * `sos store migrate`: creates or upgrades a PostgreSQL store's schema (the gateway also does at
 * start, under the same lock). `sos store copy`: moves a SQLite installation into PostgreSQL.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SingleBar } from "cli-progress";
import { copySqliteToPostgres, type CopyProgress, type CopySummary } from "../../gateway/store/copy.js";
import { SCHEMA_VERSION } from "../../gateway/store/migrations.js";
import { storeBackend } from "../../gateway/store/open.js";
import { redactStoreUrl } from "../../shared/config/store-url.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { argumentError } from "../lib/cli.js";
import { formatTable } from "../lib/table.js";

export interface MigrateOptions {
  store?: unknown;
}

export interface CopyOptions {
  from?: unknown;
  to?: unknown;
  force?: unknown;
}

function postgresUrl(value: unknown, option: string): string {
  if (typeof value !== "string" || value === "") throw argumentError(`required option '${option} <url>' not specified: give the PostgreSQL store, postgres://USER@HOST/DB (or set SOS_STORE_URL)`);
  storeBackend({ url: value }); // a URL that is not a PostgreSQL store: a one-line error saying how to write it
  return value;
}

export async function migrateStore(opts: MigrateOptions): Promise<{ from: number; to: number }> {
  const url = postgresUrl(opts.store, "--store");
  const { migratePostgres } = await import("../../gateway/store/postgres/index.js");
  return migratePostgres(url);
}

export async function runMigrate(opts: MigrateOptions): Promise<void> {
  const { from, to } = await migrateStore(opts);
  const where = redactStoreUrl(String(opts.store));
  if (to > SCHEMA_VERSION) {
    // Not "up to date": a newer release migrated it, and this one does not know what it added.
    process.stdout.write(`the store ${where} has schema version ${to}, newer than this release's ${SCHEMA_VERSION} (a newer release migrated it: a rollback?): left as it is, nothing migrated back\n`);
    return;
  }
  process.stdout.write(from === to ? `the store ${where} is up to date (schema version ${to})\n` : `migrated the store ${where} from schema version ${from} to ${to}\n`);
}

/** Copies the SQLite store in `--from` into the PostgreSQL store `--to` (created or upgraded first). */
export async function copyStore(opts: CopyOptions, progress?: CopyProgress): Promise<CopySummary> {
  if (typeof opts.from !== "string" || opts.from === "") throw argumentError("required option '--from <dir>' not specified: give the gateway's data folder (it holds gateway.db)");
  const url = postgresUrl(opts.to, "--to");
  const { SqliteStore, STORE_FILE } = await import("../../gateway/store/sqlite/index.js");
  const path = join(opts.from, STORE_FILE);
  if (!existsSync(path)) throw new SosError(ErrorCode.StoreUnavailable, `${opts.from} holds no gateway store (${STORE_FILE}): check --from, the data folder the gateway ran with`);
  // Brought to the current schema first, as a gateway start would, so every column has a place to go.
  await (SqliteStore.open(opts.from, { mustExist: true })).close();
  const { migratePostgres } = await import("../../gateway/store/postgres/index.js");
  await migratePostgres(url);
  return copySqliteToPostgres(path, url, { force: opts.force === true, ...(progress === undefined ? {} : { progress }) });
}

export async function runCopy(opts: CopyOptions): Promise<void> {
  const bar = process.stderr.isTTY ? new SingleBar({ format: "copying [{bar}] {value}/{total} rows {table}", stream: process.stderr, hideCursor: true }) : undefined;
  const progress: CopyProgress | undefined =
    bar === undefined ? undefined : { start: (total) => bar.start(total, 0, { table: "" }), advance: (rows, table) => bar.increment(rows, { table }), stop: () => bar.stop() };
  const summary = await copyStore(opts, progress);
  process.stdout.write(`${formatTable(["TABLE", "ROWS"], summary.tables.map((t) => [t.table, String(t.rows)]))}\n`);
  process.stdout.write(
    `copied ${summary.totalRows} rows in ${summary.tables.length} tables from ${String(opts.from)} to ${redactStoreUrl(String(opts.to))} in one transaction` +
      `${summary.replacedRows > 0 ? ` (replacing ${summary.replacedRows} rows it held)` : ""}; ${summary.sequences} id sequences moved past the copied ids\n` +
      `run the gateway with --store (or SOS_STORE_URL) and the same --data-dir: its certificates and snapshots stay in the folder\n`,
  );
}
