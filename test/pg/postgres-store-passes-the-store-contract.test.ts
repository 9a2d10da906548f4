import postgres from "postgres";
import { copyTables } from "../../gateway/store/migrations.js";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { describeGatewayStoreContract } from "../contracts/gateway-store.contract.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

// One database for the file, emptied before each test (faster than one per test); another() opens a
// second PostgresStore (its own pool) on it, as a second gateway process would.
let db: TestDatabase | undefined;
let opened: PostgresStore[] = [];
const open = async (): Promise<PostgresStore> => {
  const store = await PostgresStore.open(String(db?.url));
  opened.push(store);
  return store;
};
const inspect = async <T>(read: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
  const sql = postgres(String(db?.url), { max: 1, onnotice: () => undefined });
  try {
    return await read(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
};

describeGatewayStoreContract("postgres", {
  fresh: async () => {
    if (db === undefined) {
      db = await createTestDatabase();
      await (await open()).close(); // migrates
      opened = [];
    }
    await inspect((sql) => sql.unsafe(`TRUNCATE ${copyTables.map((t) => t.name).join(", ")} RESTART IDENTITY CASCADE`));
    return open();
  },
  another: open,
  columns: (table) => inspect(async (sql) => (await sql<{ column_name: string }[]>`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = current_schema()`).map((r) => r.column_name)),
  version: () => inspect(async (sql) => (await sql<{ v: number }[]>`SELECT MAX(version) AS v FROM schema_migrations`)[0]?.v ?? 0),
  closeAll: async () => {
    for (const store of opened) await store.close();
    opened = [];
  },
  cleanup: async () => {
    await db?.drop();
    db = undefined;
  },
});
