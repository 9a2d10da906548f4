/** The operators table (migration 3), kept apart from sqlite.ts to keep that file readable. */
import type Database from "better-sqlite3";
import type { OperatorRecord } from "./store.js";

interface OperatorDbRow {
  name: string;
  password_hash: string;
  created_at: string;
}

const toOperator = (row: OperatorDbRow): OperatorRecord => ({ name: row.name, passwordHash: row.password_hash, createdAt: row.created_at });

export function get(db: Database.Database, name: string): OperatorRecord | undefined {
  const row = db.prepare<[string], OperatorDbRow>("SELECT name, password_hash, created_at FROM operators WHERE name = ?").get(name);
  return row === undefined ? undefined : toOperator(row);
}

export function put(db: Database.Database, operator: { name: string; passwordHash: string }, options: { replace: boolean; now: Date }): boolean {
  const sql = options.replace
    ? `INSERT INTO operators (name, password_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash`
    : "INSERT INTO operators (name, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING";
  return db.prepare(sql).run(operator.name, operator.passwordHash, options.now.toISOString()).changes > 0;
}

export function list(db: Database.Database): OperatorRecord[] {
  return db.prepare<[], OperatorDbRow>("SELECT name, password_hash, created_at FROM operators ORDER BY name").all().map(toOperator);
}
