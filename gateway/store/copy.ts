/**
 * `sos store copy`: a SQLite installation into PostgreSQL, every table, in one transaction. The
 * tables and columns are read from both catalogs (same names on both sides) and copied parents
 * before children (PostgreSQL's foreign keys decide the order); values are converted where the
 * types differ (SQLite's 0/1 to boolean, epoch milliseconds to a timestamp); sequences behind
 * identity and serial columns are moved past the copied ids. A target that already holds gateway
 * data is refused unless `force`, which empties it first (in the same transaction).
 */
import Database from "better-sqlite3";
import postgres from "postgres";
import type { Logger } from "pino";
import { redactStoreUrl } from "../../shared/config/store-url.js";
import { ErrorCode, SosError, errorMessage } from "../../shared/errors.js";

export interface CopyProgress {
  start(totalRows: number): void;
  /** `rows` more copied, now in `table`. */
  advance(rows: number, table: string): void;
  stop(): void;
}

export interface CopySummary {
  /** Rows copied per table, in copy order. */
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly totalRows: number;
  /** Rows that were in the target before (deleted with `force`). */
  readonly replacedRows: number;
  /** Sequences moved past the copied ids. */
  readonly sequences: number;
}

interface PgColumn {
  readonly table: string;
  readonly column: string;
  readonly type: string;
  readonly identity: "ALWAYS" | "BY DEFAULT" | null;
  readonly serial: boolean;
}

type Sql = postgres.Sql;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Rows per INSERT: under PostgreSQL's 65 535 parameters, and small enough to show progress. */
const batchRows = (columns: number): number => Math.max(1, Math.min(500, Math.floor(60_000 / Math.max(1, columns))));

/**
 * What a running gateway says about itself, not data: not copied, and not counted as data the target
 * holds (a trial start of a node on the new database leaves its clean stop there).
 */
const RUNTIME_TABLES = new Set(["cluster_stopped"]);

function sqliteTables(db: Database.Database): Map<string, string[]> {
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name)
    .filter((name) => !RUNTIME_TABLES.has(name));
  return new Map(tables.map((t) => [t, db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info(${`'${t.replace(/'/g, "''")}'`})`).all().map((c) => c.name)]));
}

async function pgColumns(sql: Sql): Promise<PgColumn[]> {
  const rows = await sql<{ table_name: string; column_name: string; data_type: string; identity_generation: string | null; column_default: string | null }[]>`
    SELECT c.table_name, c.column_name, c.data_type, c.identity_generation, c.column_default
    FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
    ORDER BY c.table_name, c.ordinal_position`;
  return rows.map((r) => ({
    table: r.table_name,
    column: r.column_name,
    type: r.data_type,
    identity: r.identity_generation === "ALWAYS" || r.identity_generation === "BY DEFAULT" ? r.identity_generation : null,
    serial: r.column_default?.startsWith("nextval(") === true,
  }));
}

/** Parents before children, by PostgreSQL's foreign keys; otherwise by name. */
async function copyOrder(sql: Sql, tables: readonly string[]): Promise<string[]> {
  const edges = await sql<{ child: string; parent: string }[]>`
    SELECT c.relname AS child, p.relname AS parent
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype = 'f' AND n.nspname = current_schema()`;
  const wanted = new Set(tables);
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const e of edges) if (wanted.has(e.child) && wanted.has(e.parent) && e.child !== e.parent) parents.get(e.child)?.add(e.parent);
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < tables.length) {
    const ready = [...tables].sort().filter((t) => !placed.has(t) && [...(parents.get(t) ?? [])].every((p) => placed.has(p)));
    if (ready.length === 0) throw new SosError(ErrorCode.StoreUnavailable, `the target's foreign keys form a cycle among ${tables.filter((t) => !placed.has(t)).join(", ")}: it is not a gateway schema`);
    for (const t of ready) {
      placed.add(t);
      order.push(t);
    }
  }
  return order;
}

/** A SQLite value as the PostgreSQL column takes it. */
function convert(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === "boolean") return typeof value === "number" || typeof value === "bigint" ? Number(value) !== 0 : value === "1" || value === "true" || value === true;
  if (type.startsWith("timestamp") && typeof value === "number") return new Date(value);
  if ((type === "text" || type === "character varying") && (typeof value === "number" || typeof value === "bigint")) return String(value);
  return value;
}

export interface CopyOptions {
  readonly force: boolean;
  readonly progress?: CopyProgress;
  readonly log?: Logger;
}

/**
 * Copies every table of the SQLite database at `sqlitePath` into the PostgreSQL database at `url`,
 * whose schema must already be the gateway's (migratePostgres). Returns what was copied.
 */
export async function copySqliteToPostgres(sqlitePath: string, url: string, options: CopyOptions): Promise<CopySummary> {
  const source = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    // One read transaction: every table as of one moment, even if a gateway still writes (WAL).
    source.exec("BEGIN");
    const fromTables = sqliteTables(source);
    const columns = await pgColumns(sql);
    const toTables = new Map<string, PgColumn[]>();
    for (const c of columns) toTables.set(c.table, [...(toTables.get(c.table) ?? []), c]);
    const missing = [...fromTables.keys()].filter((t) => !toTables.has(t));
    if (missing.length > 0) {
      throw new SosError(ErrorCode.StoreUnavailable, `the database ${redactStoreUrl(url)} has no table ${missing.join(", ")} that the SQLite store has: upgrade it with 'sos store migrate --store URL' (and this sos to the gateway's version), then copy again`);
    }
    const tables = await copyOrder(sql, [...fromTables.keys()]);
    const plan = tables.map((table) => {
      const source_ = new Set(fromTables.get(table));
      const target = (toTables.get(table) ?? []).filter((c) => source_.has(c.column));
      const lost = [...source_].filter((c) => !target.some((t) => t.column === c));
      if (lost.length > 0) {
        throw new SosError(ErrorCode.StoreUnavailable, `the database ${redactStoreUrl(url)} lacks column(s) ${lost.join(", ")} of table ${table}: upgrade it with 'sos store migrate --store URL', then copy again`);
      }
      const count = (source.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;
      return { table, columns: target, rows: count };
    });
    const totalRows = plan.reduce((n, p) => n + p.rows, 0);

    const summary = await sql.begin(async (tx) => {
      let replacedRows = 0;
      const present: string[] = [];
      for (const p of plan) {
        const [row] = await tx.unsafe<{ n: string }[]>(`SELECT COUNT(*)::text AS n FROM ${quote(p.table)}`);
        const n = Number(row?.n ?? 0);
        if (n > 0) present.push(`${p.table} ${n}`);
        replacedRows += n;
      }
      if (replacedRows > 0 && !options.force) {
        throw new SosError(
          ErrorCode.StoreUnavailable,
          `the database ${redactStoreUrl(url)} already holds gateway data (${present.join(", ")}): copy into an empty database, or pass --force to delete what it holds and copy over it`,
        );
      }
      if (replacedRows > 0) await tx.unsafe(`TRUNCATE ${plan.map((p) => quote(p.table)).join(", ")} RESTART IDENTITY CASCADE`);
      options.progress?.start(totalRows);
      const copied: { table: string; rows: number }[] = [];
      for (const p of plan) {
        const names = p.columns.map((c) => c.column);
        const overriding = p.columns.some((c) => c.identity === "ALWAYS") ? " OVERRIDING SYSTEM VALUE" : "";
        const insertHead = `INSERT INTO ${quote(p.table)} (${names.map(quote).join(", ")})${overriding} VALUES `;
        const select = source.prepare(`SELECT ${names.map(quote).join(", ")} FROM ${quote(p.table)} ORDER BY rowid`).raw(true);
        // Release chunks are 1 MiB each: a few per INSERT, not 500.
        const size = p.columns.some((c) => c.type === "bytea") ? 4 : batchRows(names.length);
        let batch: unknown[][] = [];
        let rows = 0;
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return;
          const params: unknown[] = [];
          const tuples = batch.map((r) => `(${r.map((v, i) => `$${params.push(convert(v, p.columns[i]?.type ?? "text"))}`).join(", ")})`);
          await tx.unsafe(insertHead + tuples.join(", "), params as postgres.ParameterOrJSON<never>[]);
          rows += batch.length;
          options.progress?.advance(batch.length, p.table);
          batch = [];
        };
        for (const r of select.iterate() as IterableIterator<unknown[]>) {
          batch.push(r);
          if (batch.length >= size) await flush();
        }
        await flush();
        copied.push({ table: p.table, rows });
      }
      let sequences = 0;
      for (const p of plan) {
        for (const c of p.columns.filter((col) => col.identity !== null || col.serial)) {
          // The next id is past the largest copied one (or 1 in an empty table).
          await tx.unsafe(
            `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(COALESCE(MAX(${quote(c.column)}), 0), 1), COALESCE(MAX(${quote(c.column)}), 0) > 0) FROM ${quote(p.table)}`,
            [quote(p.table), c.column],
          );
          sequences += 1;
        }
      }
      return { tables: copied, totalRows, replacedRows, sequences };
    });
    options.log?.info({ totalRows, tables: summary.tables.length }, "store copied");
    return summary;
  } catch (err) {
    if (err instanceof SosError) throw err;
    throw new SosError(ErrorCode.StoreUnavailable, `copying into ${redactStoreUrl(url)} failed, and nothing was written: ${errorMessage(err)}`, { cause: err });
  } finally {
    options.progress?.stop();
    if (source.inTransaction) source.exec("COMMIT");
    source.close();
    await sql.end({ timeout: 5 });
  }
}
