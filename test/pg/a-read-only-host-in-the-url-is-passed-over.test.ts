/**
 * A multi-host URL whose first host is read-only (a standby, or a primary demoted in a switchover) and
 * target_session_attrs=read-write: the store passes it over and writes on the writable host. Without
 * the attribute it would land on the read-only one, where every write is refused as unavailable.
 * The read-only host is a second PostgreSQL cluster this test makes (initdb, run as the postgres user
 * when the test runs as root: initdb refuses root), with default_transaction_read_only on.
 */
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { ErrorCode } from "../../shared/errors.js";
import { newAlert } from "../contracts/gateway-store-fixtures.js";
import { createTestDatabase, TEST_PG_SERVER, type TestDatabase } from "./pg-database.js";

const BIN = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
const server = /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^:/,]+)(?::(\d+))?/.exec(TEST_PG_SERVER);
const WRITABLE = `${server?.[1] ?? "127.0.0.1"}:${server?.[2] ?? "5432"}`;

let db: TestDatabase;
let dir: string;
let port: number;

/** Runs a PostgreSQL program as the postgres user when we are root (initdb and postgres refuse root). */
function pg(program: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(BIN, program), ...args]] : [join(BIN, program), args];
  execFileSync(cmd, argv, { stdio: "pipe" });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

describe("a read-only host in a multi-host URL", () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), "sos-readonly-pg-"));
    if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })));
    port = await freePort();
    pg("initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync"]);
    const settings = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c default_transaction_read_only=on`;
    pg("pg_ctl", ["-D", join(dir, "data"), "-o", settings, "-l", join(dir, "log"), "-w", "start"]);
    // The same database name on the read-only host (made with read-only off for this one session).
    const admin = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe("SET default_transaction_read_only = off"); // max 1: the next statement runs on this session
      await admin.unsafe(`CREATE DATABASE ${db.name}`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  }, 60_000);
  afterAll(async () => {
    try {
      pg("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  it("is passed over with target_session_attrs=read-write: the alert is stored on the writable host", async () => {
    const store = await PostgresStore.open(`postgres://postgres@127.0.0.1:${port},${WRITABLE}/${db.name}?target_session_attrs=read-write`);
    try {
      const alert = newAlert("kz-ro");
      expect((await store.recordAlert(alert, new Date(), "{}")).outcome).toBe("stored");
      const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
      try {
        expect(await sql`SELECT alert_id FROM alerts WHERE alert_id = ${alert.alertId}`).toHaveLength(1);
      } finally {
        await sql.end({ timeout: 5 });
      }
    } finally {
      await store.close();
    }
  });

  it("without the attribute the store lands on it, and a write there is refused as unavailable (not acknowledged)", async () => {
    await expect(PostgresStore.open(`postgres://postgres@127.0.0.1:${port},${WRITABLE}/${db.name}`)).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
  });
});
