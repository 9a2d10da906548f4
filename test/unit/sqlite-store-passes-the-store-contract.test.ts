import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteStore, STORE_FILE } from "../../gateway/store/sqlite/index.js";
import { describeGatewayStoreContract } from "../contracts/gateway-store.contract.js";

// A fresh data folder per test; another() opens a second SqliteStore on the same file (as a second process would).
let dir: string | undefined;
let opened: SqliteStore[] = [];
const open = (): SqliteStore => {
  const store = SqliteStore.open(String(dir));
  opened.push(store);
  return store;
};
const inspect = <T>(read: (db: Database.Database) => T): T => {
  const db = new Database(join(String(dir), STORE_FILE), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
};

describeGatewayStoreContract("sqlite", {
  fresh: () => {
    dir = mkdtempSync(join(tmpdir(), "sos-store-contract-"));
    return Promise.resolve(open());
  },
  another: () => Promise.resolve(open()),
  columns: (table) => Promise.resolve(inspect((db) => db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`).all().map((c) => c.name))),
  version: () => Promise.resolve(inspect((db) => db.pragma("user_version", { simple: true }) as number)),
  closeAll: async () => {
    for (const store of opened) await store.close();
    opened = [];
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  },
});
