/**
 * Failed logins on one account slow its next attempts, from whatever address (the per-address limit
 * cannot see guesses spread over many): past the free failures, each attempt waits twice as long as
 * the one before, up to a maximum. A slowdown, not a lockout: the right password still logs in (and
 * clears the account), and other accounts are not slowed. Real gateway, real HTTP logins.
 */
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { startTestGateway, tempDir } from "./harness.js";
import { addTestOperator, login, OPERATOR_PASSWORD } from "./operator-harness.js";

describe("failed logins on one account slow it down", () => {
  const defer = deferCleanups();

  it("waits 0, 0, 300, 600 ms, then 1 200 (the cap) for the right password, which logs in; bob and the cleared account are not slowed", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      operators: { maxFailedLoginsPerMinute: 100, accountSlowdown: { freeFailures: 2, baseDelayMs: 300, maxDelayMs: 1_200, windowMs: 60_000 } },
    });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    await addTestOperator(gateway.dataDir, "bob");

    const timed = async (name: string, password: string): Promise<{ status: number; ms: number }> => {
      const started = Date.now();
      const reply = await login(gateway.httpPort, name, password);
      return { status: reply.status, ms: Date.now() - started };
    };
    const tries = [];
    for (let i = 0; i < 4; i += 1) tries.push(await timed("alice", `wrong-${i}`));
    expect(tries.map((t) => t.status)).toEqual([401, 401, 401, 401]);
    expect(gateway.logs.find("login refused").map((l) => l.slowedMs)).toEqual([undefined, undefined, 300, 600]);
    expect(tries[2]?.ms).toBeGreaterThanOrEqual(300);
    expect(tries[3]?.ms).toBeGreaterThanOrEqual(600);

    // Another account is not slowed by alice's failures.
    expect((await timed("bob", OPERATOR_PASSWORD)).status).toBe(200);
    expect(gateway.logs.find("operator logged in", (l) => l.operator === "bob")).toEqual([expect.not.objectContaining({ slowedMs: expect.anything() as unknown })]);

    // Not a lockout: the right password waits the (capped) delay and logs in.
    const right = await timed("alice", OPERATOR_PASSWORD);
    expect(right.status).toBe(200);
    expect(right.ms).toBeGreaterThanOrEqual(1_200);
    expect(gateway.logs.find("operator logged in", (l) => l.operator === "alice")).toEqual([expect.objectContaining({ slowedMs: 1_200 })]);

    // The success cleared the account: the next failure is free again.
    expect((await timed("alice", "wrong-again")).status).toBe(401);
    expect(gateway.logs.find("login refused").at(-1)?.slowedMs).toBeUndefined();
  });

  it("guesses sent in parallel are checked one after another, the rest refused at once (429); the operator's own browser, known by its cookie, is not held up", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, {
      operators: { maxFailedLoginsPerMinute: 1_000, accountSlowdown: { freeFailures: 2, baseDelayMs: 300, maxDelayMs: 1_200, windowMs: 60_000 } },
    });
    defer(() => gateway.stop());
    await addTestOperator(gateway.dataDir, "alice");
    const base = `http://127.0.0.1:${gateway.httpPort}`;
    const post = (password: string, cookie?: string) =>
      fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/json", ...(cookie === undefined ? {} : { cookie }) }, body: JSON.stringify({ name: "alice", password }) });

    // The operator's browser logged in once: it holds the account's known-device cookie.
    const first = await post(OPERATOR_PASSWORD);
    expect(first.status).toBe(200);
    const known = first.headers.getSetCookie().find((c) => c.startsWith("sos_known_alice="));
    expect(known).toMatch(/; Path=\/api\/login; HttpOnly; SameSite=Strict; Max-Age=\d+/);
    const knownCookie = (known ?? "").split(";")[0] ?? "";

    // 20 guesses at once: a few are checked, one after another; the rest are refused without a check.
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`guess-${i}`)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(16);
    expect(Date.now() - started).toBeLessThan(5_000);
    const busy = replies.find((r) => r.status === 429);
    expect(await busy?.json()).toMatchObject({ error: { code: "TOO_MANY_ATTEMPTS", message: expect.stringMatching(/^too many failed logins on this name just now: try again in \d+ s$/) as unknown } });
    expect(Number(busy?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    // Meanwhile the operator's own browser logs in at once; a new browser is slowed or told to wait.
    const own = Date.now();
    expect((await post(OPERATOR_PASSWORD, knownCookie)).status).toBe(200);
    expect(Date.now() - own).toBeLessThan(300);
    // A forged or another account's cookie counts for nothing.
    expect([401, 429]).toContain((await post("guess-forged", "sos_known_alice=forged")).status);
  });
});
