/**
 * How the self-tests run their programs (ffmpeg, aplay, arecord): a small port, so unit tests feed
 * synthetic output and the e2e tests real ffmpeg on synthetic sources. The real one spawns the
 * program, collects stdout (bounded) and the tail of stderr, and kills it at the timeout or when
 * the run is aborted (an alarm needs the camera and the speaker). It never rejects.
 */
import { spawn } from "node:child_process";

export interface RunOptions {
  readonly timeoutMs: number;
  /** Written to the program's stdin, which is then closed. */
  readonly stdin?: Uint8Array;
  readonly signal?: AbortSignal;
  /** stdout beyond this is dropped and the program killed (default 16 MiB). */
  readonly maxStdoutBytes?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  /** The last lines of stderr, trimmed. */
  readonly stderr: string;
  /** Why it did not run to its end: "spawn: ENOENT", "timeout", "aborted", "output too large". */
  readonly failure?: string;
}

export interface CommandRunner {
  run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult>;
}

const STDERR_KEEP = 2_000;

/** One line for a log or a technician: why a program failed. */
export function describeRun(command: string, r: RunResult): string {
  const why = r.failure ?? (r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`);
  const tail = r.stderr.split("\n").filter((l) => l.trim() !== "").slice(-2).join(" | ");
  return `${command}: ${why}${tail === "" ? "" : ` (${tail.slice(0, 300)})`}`;
}

export const spawnRunner: CommandRunner = {
  run(command, args, options) {
    return new Promise((resolve) => {
      const limit = options.maxStdoutBytes ?? 16 * 1_048_576;
      const out: Buffer[] = [];
      let size = 0;
      let stderr = "";
      let failure: string | undefined;
      let settled = false;
      const child = spawn(command, args, { stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
      const kill = (why: string): void => {
        failure ??= why;
        child.kill("SIGKILL");
      };
      const timer = setTimeout(() => kill("timeout"), options.timeoutMs);
      const onAbort = (): void => kill("aborted");
      if (options.signal?.aborted === true) onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve({ code, signal, stdout: Buffer.concat(out), stderr: stderr.trim(), ...(failure === undefined ? {} : { failure }) });
      };
      child.stdout?.on("data", (data: Buffer) => {
        size += data.length;
        if (size > limit) kill("output too large");
        else out.push(data);
      });
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (text: string) => (stderr = (stderr + text).slice(-STDERR_KEEP)));
      child.on("error", (err: NodeJS.ErrnoException) => {
        failure ??= `spawn: ${err.code ?? err.message}`;
        if (child.pid === undefined) finish(null, null);
      });
      child.on("close", (code, signal) => finish(code, signal));
      if (options.stdin !== undefined && child.stdin !== null) {
        child.stdin.on("error", () => undefined); // EPIPE when the program fails early: its exit says why.
        child.stdin.end(options.stdin);
      }
    });
  },
};
