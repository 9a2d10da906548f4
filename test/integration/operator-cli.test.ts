/**
 * `sos operator add` and `sos operator list`, run as the built CLI: the password from stdin or
 * generated and printed once, only its scrypt hash stored; the operator can then log in.
 * Runs dist/scripts/sos.js: `npm run build` first (npm test does).
 */
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { spawnSos, startTestGateway, tempDir } from "./harness.js";
import { login } from "./operator-harness.js";

async function run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnSos(args);
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  else child.child.stdin?.end();
  const { code } = await child.exited;
  // Let the last stdout chunk arrive.
  await new Promise((r) => setImmediate(r));
  return { code, stdout: child.stdout.join("\n"), stderr: child.stderr.join("\n") };
}

describe("sos operator", () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it("adds operators with a password from stdin or a generated one, refuses duplicates and bad names, lists them", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const dataDir = `${dir.path}/gw`;

    const fromStdin = await run(["operator", "add", "alice", "--data-dir", dataDir, "--password-stdin"], "a long enough password\n");
    expect(fromStdin).toMatchObject({ code: 0, stderr: "" });
    // The first operator in a folder with no store yet: said in a note, as a mistyped --data-dir would be noticed.
    expect(fromStdin.stdout).toBe(`note: ${dataDir} held no gateway store, so a new one was created there; run the gateway with this --data-dir\nadded operator alice`);

    const generated = await run(["operator", "add", "bob", "--data-dir", dataDir]);
    expect(generated.code).toBe(0);
    const password = generated.stdout.split("\n")[1] ?? "";
    expect(generated.stdout.split("\n")[0]).toBe("added operator bob; password (shown once, give it to them privately):");
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const again = await run(["operator", "add", "alice", "--data-dir", dataDir, "--password-stdin"], "another long password\n");
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("sos: operator alice already exists: pass --force to give them a new password");
    const short = await run(["operator", "add", "carol", "--data-dir", dataDir, "--password-stdin"], "short\n");
    expect(short.stderr).toBe("sos: the password on stdin is too short: use at least 12 characters, or leave out --password-stdin to have one generated");
    const badName = await run(["operator", "add", "Operator:X", "--data-dir", dataDir]);
    expect(badName.stderr).toMatch(/^sos: operator name 'Operator:X' is invalid: /);
    expect((await run(["operator", "list", "--data-dir", `${dir.path}/nowhere`])).stderr).toMatch(/^sos: cannot open the gateway store /);

    const listed = await run(["operator", "list", "--data-dir", dataDir, "--json"]);
    const rows = JSON.parse(listed.stdout) as { name: string; mqttUsername: string }[];
    expect(rows.map((r) => [r.name, r.mqttUsername])).toEqual([["alice", "operator:alice"], ["bob", "operator:bob"]]);
    const table = await run(["operator", "list", "--data-dir", dataDir]);
    expect(table.stdout).toMatch(/^NAME +ROLE +MQTT USERNAME +CREATED/);

    // Only scrypt hashes are stored.
    const store = SqliteStore.open(dataDir, { readonly: true });
    const alice = await store.getOperator("alice");
    await store.close();
    expect(alice?.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(alice?.passwordHash).not.toContain("a long enough password");

    // The generated password logs in; --force replaces alice's.
    const gateway = await startTestGateway(dataDir);
    cleanups.push(() => gateway.stop());
    expect((await login(gateway.httpPort, "bob", password)).status).toBe(200);
    expect((await run(["operator", "add", "alice", "--data-dir", dataDir, "--password-stdin", "--force"], "the replacement password\n")).stdout).toBe("new password for operator alice");
    expect((await login(gateway.httpPort, "alice", "a long enough password")).status).toBe(401);
    expect((await login(gateway.httpPort, "alice", "the replacement password")).status).toBe(200);
  });
});
