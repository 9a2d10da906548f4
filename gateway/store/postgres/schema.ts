/**
 * The PostgreSQL side of the migrations (gateway/store/migrations.ts). schema_migrations records each
 * version applied. Pending migrations run in one transaction that first takes a transaction-level
 * advisory lock, so two gateways (or a gateway and `sos store migrate`) starting together run them
 * once: the second waits, then finds nothing to do. No session-level lock: it would not survive a
 * pooler in transaction mode (PgBouncer), and a transaction-level one is released by COMMIT or by the
 * connection's loss.
 */
import type { Logger } from "pino";
import { copyTables, migrations, SCHEMA_VERSION } from "../migrations.js";
import type { PgClient, Q } from "./client.js";

/** pg_advisory_xact_lock key: "sos-gate" as a 64-bit number, shared by every gateway on the database. */
const MIGRATION_LOCK = 0x736f_732d_6761_7465n;

async function versionIn(q: Q): Promise<number> {
  const [exists] = await q<{ t: string | null }[]>`SELECT to_regclass('schema_migrations')::text AS t`;
  if (exists?.t == null) return 0;
  const [row] = await q<{ v: number | null }[]>`SELECT MAX(version) AS v FROM schema_migrations`;
  return row?.v ?? 0;
}

/** The schema version of the database (0: empty). */
export function schemaVersion(client: PgClient): Promise<number> {
  return client.run((q) => versionIn(q));
}

/** Said when the database's schema is newer than this release's: a newer release migrated it (a rollback). */
export const SCHEMA_NEWER = "the PostgreSQL store's schema is newer than this release knows (a newer release migrated it: a rollback?): this release runs on it as it is, nothing is migrated back";

/** Creates or upgrades the schema; returns the versions before and after (`to` above SCHEMA_VERSION: a newer schema, left as it is). */
export async function migrateSchema(client: PgClient, log?: Logger): Promise<{ from: number; to: number }> {
  // Most starts find the schema current: no lock, no transaction.
  const seen = await schemaVersion(client);
  if (seen > SCHEMA_VERSION) log?.warn({ schemaVersion: seen, releaseSchemaVersion: SCHEMA_VERSION }, SCHEMA_NEWER);
  if (seen >= SCHEMA_VERSION) return { from: seen, to: seen };
  return client.tx(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${String(MIGRATION_LOCK)}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, what text NOT NULL, applied_at text NOT NULL)`;
    const from = await versionIn(tx);
    for (const m of migrations) {
      if (m.version <= from) continue;
      await tx.unsafe(m.postgres).simple();
      await tx`INSERT INTO schema_migrations (version, what, applied_at) VALUES (${m.version}, ${m.what}, ${new Date().toISOString()})`;
      log?.info({ version: m.version, what: m.what }, "PostgreSQL store migrated");
    }
    return { from, to: Math.max(from, SCHEMA_VERSION) };
  });
}

/**
 * After rows were copied in with their ids (`sos store copy`), moves each identity column's sequence
 * past the largest id, so the next row inserted does not collide with a copied one.
 */
export async function resetIdentities(client: PgClient): Promise<void> {
  await client.tx(async (tx) => {
    for (const t of copyTables) {
      if (t.identity === undefined) continue;
      await tx.unsafe(
        `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), COALESCE((SELECT MAX(${t.identity}) FROM ${t.name}), 0) + 1, false)`,
      );
    }
  });
}
