/** Runs the SQLite side of the migrations (gateway/store/migrations.ts); PRAGMA user_version counts those that ran. */
import type Database from "better-sqlite3";
import { migrations } from "../migrations.js";

export function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sqlite);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** The schema version of an open SQLite store. */
export function sqliteVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}
