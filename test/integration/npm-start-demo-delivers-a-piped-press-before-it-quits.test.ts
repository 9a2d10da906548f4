/**
 * `npm start` (the demo) read from a pipe: `printf '\n' | npm start` presses once and its input ends at
 * once. The demo quits only after that press is at dispatch, and exits 0 (it used to quit first).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./harness.js";

describe("npm start with piped input", () => {
  it("a press piped in reaches dispatch before the demo quits at the end of its input", async () => {
    const demo = spawn(process.execPath, [join(REPO_ROOT, "dist/scripts/demo.js")], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    demo.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    demo.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
    demo.stdin.end("\n");
    const code = await new Promise<number | null>((resolve) => demo.once("exit", (c) => resolve(c)));
    expect(code, out).toBe(0);
    expect(out).toContain("1. recorded on the kiosk's disk");
    expect(out).toContain("4. delivered to dispatch");
  }, 30_000);
});
