/**
 * A fresh PostgreSQL database per use, on the server named by SOS_TEST_PG (default
 * postgres://postgres@127.0.0.1:5432/postgres: trust auth, as on our machines). Its name is unique
 * (pid, time, counter), so parallel test files never share one; drop() removes it, ending any
 * connection still open to it.
 */
import postgres, { type Sql } from "postgres";

export const TEST_PG_SERVER = process.env.SOS_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  readonly name: string;
  /** The database's URL on the test server. */
  readonly url: string;
  drop(): Promise<void>;
}

let counter = 0;

/** The server URL with its database replaced by `name`. */
export function urlOf(name: string, server = TEST_PG_SERVER): string {
  return server.replace(/^(postgres(?:ql)?:\/\/[^/?#]*)(\/[^?#]*)?/, `$1/${name}`);
}

function admin(): postgres.Sql {
  return postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
}

export async function createTestDatabase(): Promise<TestDatabase> {
  counter += 1;
  const name = `sos_test_${process.pid}_${Date.now().toString(36)}_${counter}`;
  const sql = admin();
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`cannot create a test database on ${TEST_PG_SERVER} (set SOS_TEST_PG to a server where user postgres may create databases): ${String(err)}`, { cause: err });
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    name,
    url: urlOf(name),
    drop: async () => {
      const drop = admin();
      try {
        await drop.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await drop.end({ timeout: 5 });
      }
    },
  };
}

/**
 * Ends every connection to database `dbName` except those named `spare` (their application_name):
 * a database that drops its clients. Resolves with how many were ended. `admin` is a connection to
 * another database of the server.
 */
export function connectionKiller(admin: Sql, dbName: string, spare: string): () => Promise<number> {
  return async () => (await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${dbName} AND application_name <> ${spare}`).length;
}

/**
 * Runs `kill` until it finds nothing to end twice running, `everyMs` apart. After ALTER DATABASE …
 * ALLOW_CONNECTIONS false one kill is not enough: a connection whose start had passed the server's
 * check before the ALTER is not yet in pg_stat_activity under the database's name, and lives on.
 */
export async function killUntilNone(kill: () => Promise<number>, everyMs = 100): Promise<number> {
  let killed = 0;
  for (let quiet = 0; quiet < 2; ) {
    const n = await kill();
    killed += n;
    quiet = n === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return killed;
}

/** Runs `kill` every `everyMs` until `stop()`, which resolves with the sum of what the kills returned. */
export function keepKilling(kill: () => Promise<number>, everyMs = 100): { stop: () => Promise<number> } {
  let killing = true;
  let killed = 0;
  const loop = (async () => {
    while (killing) {
      killed += await kill();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      killing = false;
      await loop;
      return killed;
    },
  };
}
