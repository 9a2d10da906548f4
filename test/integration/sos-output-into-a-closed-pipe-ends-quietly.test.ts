/**
 * `sos … | head -1` or `| true`: a reader that stops early closes the CLI's stdout. The CLI then
 * stops quietly, as other Unix tools do — no stack trace, no message, the status SIGPIPE gives them
 * (141) — whether the reader closed before the first write or in the middle of a long listing.
 * Runs the built CLI (dist/scripts/sos.js): `npm run build` first (npm test does).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { EXIT_BROKEN_PIPE } from "../../scripts/lib/cli.js";
import { REPO_ROOT, SOS_BIN, tempDir } from "./harness.js";

/** bash's line giving the status of the pipeline's first command (the CLI). */
const REPORT_STATUS = 'echo "sos exited ${PIPESTATUS[0]}" >&2';

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SOS_DEBUG;
  delete env.SOS_STORE_URL;
  return env;
}

/** Runs `command args…` with its stdout read by nobody: the pipe's reading end is closed at once. */
function runIntoClosedPipe(command: string, args: readonly string[]): Promise<Ended> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** No stack trace, no message: the quiet end of a tool whose reader went away. */
function expectQuietEnd(ended: Ended): void {
  expect(ended.stderr, "nothing on stderr").toBe("");
  expect({ code: ended.code, signal: ended.signal }).toEqual({ code: EXIT_BROKEN_PIPE, signal: null });
}

describe("sos output into a pipe its reader closed", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  beforeAll(async () => {
    // Enough cluster jobs that `sos cluster status` writes far more than a pipe holds (64 KiB).
    const store = SqliteStore.open(dir.path);
    try {
      for (let i = 0; i < 1_500; i++) await store.leases.acquire(`job.${String(i).padStart(4, "0")}.with-a-long-enough-name`, `gw-a/host-${i}/1234/long-enough-holder`, new Date(), 3_600_000);
    } finally {
      await store.close();
    }
  });

  it.each([
    [["cluster", "status"]],
    [["cluster", "status", "--json"]],
    [["kiosks"]],
    [["kiosks", "--json"]],
    [["alerts"]],
  ])("sos %j with its reader gone before it writes: exit 141, nothing on stderr", async (args) => {
    expectQuietEnd(await runIntoClosedPipe(process.execPath, [SOS_BIN, ...args, "--data-dir", dir.path]));
  });

  it.each([["true"], ["head -1"], ["head -c 1"]])("sos cluster status | %s: the listing cut short, no stack trace", async (reader) => {
    // bash reports the CLI's own status (PIPESTATUS); the CLI's stderr is bash's.
    const script = `"$0" "$1" cluster status --data-dir "$2" | ${reader} >/dev/null; ${REPORT_STATUS}`;
    const ended = await runIntoClosedPipe("bash", ["-c", script, process.execPath, SOS_BIN, dir.path]);
    expect(ended.stderr).toBe(`sos exited ${EXIT_BROKEN_PIPE}\n`);
    expect(ended.code).toBe(0);
  });
});
