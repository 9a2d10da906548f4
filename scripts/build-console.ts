/**
 * Builds the operator console (gateway/console/operator/) with esbuild into static files under
 * dist/console/ that the gateway serves: one JavaScript bundle (mqtt.js included: no CDN, nothing
 * fetched from outside, works offline in a control room), one stylesheet, and the HTML page.
 * Run by `npm run build` after tsc; `node dist/scripts/build-console.js [--watch]`.
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build, type BuildOptions, context } from "esbuild";
import { REPO_ROOT } from "./lib/repo-root.js";

export const CONSOLE_SOURCE = join(REPO_ROOT, "gateway/console/operator");
export const CONSOLE_OUT = join(REPO_ROOT, "dist/console");

const options: BuildOptions = {
  entryPoints: { app: join(CONSOLE_SOURCE, "app.js"), style: join(CONSOLE_SOURCE, "style.css") },
  outdir: CONSOLE_OUT,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome109", "firefox115", "safari16"],
  minify: true,
  // `--no-sourcemap`: a build for production images (the production profile never serves maps anyway).
  sourcemap: process.argv.includes("--no-sourcemap") ? false : "linked",
  legalComments: "linked",
  logLevel: "warning",
};

async function main(): Promise<void> {
  rmSync(CONSOLE_OUT, { recursive: true, force: true });
  mkdirSync(CONSOLE_OUT, { recursive: true });
  copyFileSync(join(CONSOLE_SOURCE, "index.html"), join(CONSOLE_OUT, "index.html"));
  if (process.argv.includes("--watch")) {
    const ctx = await context(options);
    await ctx.watch();
    process.stdout.write(`watching ${CONSOLE_SOURCE} → ${CONSOLE_OUT} (index.html is copied only at start)\n`);
    return;
  }
  const result = await build({ ...options, metafile: true });
  const bytes = Object.values(result.metafile?.outputs ?? {}).reduce((n, o) => n + o.bytes, 0);
  process.stdout.write(`operator console built in ${CONSOLE_OUT} (${Math.round(bytes / 1024)} KiB)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`console build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
