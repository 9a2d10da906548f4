/**
 * Writes docs/asyncapi.yaml from the zod contract (scripts/lib/asyncapi.ts): `npm run gen:asyncapi`.
 * The unit test asyncapi-document-matches-the-contract fails until it is run after a contract change.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderAsyncApi } from "./lib/asyncapi.js";
import { REPO_ROOT } from "./lib/repo-root.js";

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
const out = join(REPO_ROOT, "docs", "asyncapi.yaml");
writeFileSync(out, renderAsyncApi(version));
process.stdout.write(`wrote ${out}\n`);
