/** The operators table (migrations 3 and 5: roles), kept apart from sqlite.ts to keep that file readable. */
import type Database from "better-sqlite3";
import type { OperatorRecord, OperatorRole } from "../store.js";

interface OperatorDbRow {
  name: string;
  password_hash: string;
  role: OperatorRole;
  created_at: string;
}

const toOperator = (row: OperatorDbRow): OperatorRecord => ({ name: row.name, passwordHash: row.password_hash, role: row.role, createdAt: row.created_at });

export function get(db: Database.Database, name: string): OperatorRecord | undefined {
  const row = db.prepare<[string], OperatorDbRow>("SELECT name, password_hash, role, created_at FROM operators WHERE name = ?").get(name);
  return row === undefined ? undefined : toOperator(row);
}

export function put(db: Database.Database, operator: { name: string; passwordHash: string; role?: OperatorRole }, options: { replace: boolean; now: Date }): boolean {
  const role = operator.role ?? "operator";
  const sql = options.replace
    ? `INSERT INTO operators (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role`
    : "INSERT INTO operators (name, password_hash, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING";
  return db.prepare(sql).run(operator.name, operator.passwordHash, role, options.now.toISOString()).changes > 0;
}

export function list(db: Database.Database): OperatorRecord[] {
  return db.prepare<[], OperatorDbRow>("SELECT name, password_hash, role, created_at FROM operators ORDER BY name").all().map(toOperator);
}

export function remove(db: Database.Database, name: string): boolean {
  return db.prepare("DELETE FROM operators WHERE name = ?").run(name).changes > 0;
}
