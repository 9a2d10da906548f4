import { randomBytes } from "node:crypto";
import { hashSecret } from "../../gateway/registry/credentials.js";
import { operatorNameSchema, operatorUsername } from "../../gateway/operators/names.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { argumentError } from "../lib/cli.js";
import { openCliStore, storeExists } from "../lib/store.js";
import { formatTable } from "../lib/table.js";

export interface OperatorAddOptions {
  dataDir?: unknown;
  store?: unknown;
  passwordStdin?: unknown;
  force?: unknown;
  role?: unknown;
}

export interface OperatorListOptions {
  dataDir?: unknown;
  store?: unknown;
  json?: unknown;
}

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1_000;

/** The first line of stdin (a password piped in, so it never appears in ps or the shell history). */
async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return (Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "");
}

export interface AddResult {
  readonly name: string;
  /** Set when the password was generated (to show once). */
  readonly generated: string | undefined;
  readonly replaced: boolean;
  /** True when --data-dir held no gateway store yet (a first operator, or a mistyped folder). */
  readonly createdStore: boolean;
}

export async function addOperator(name: string, opts: OperatorAddOptions, stdin: NodeJS.ReadableStream = process.stdin): Promise<AddResult> {
  if (!operatorNameSchema.safeParse(name).success) {
    throw argumentError(`operator name '${name}' is invalid: use 1-32 lowercase letters, digits, '.', '-' or '_', starting with a letter or digit`);
  }
  let password: string;
  let generated: string | undefined;
  if (opts.passwordStdin === true) {
    password = await readPasswordFromStdin(stdin);
    if (password.length < MIN_PASSWORD) throw argumentError(`the password on stdin is ${password.length === 0 ? "empty" : "too short"}: use at least ${MIN_PASSWORD} characters, or leave out --password-stdin to have one generated`);
    if (password.length > MAX_PASSWORD) throw argumentError(`the password on stdin is over ${MAX_PASSWORD} characters`);
  } else {
    generated = randomBytes(18).toString("base64url");
    password = generated;
  }
  // Created when missing, as `sos provision` does: operators may be added before the first start.
  const storeExisted = await storeExists(opts);
  const store = await openCliStore(opts);
  try {
    const existed = (await store.getOperator(name)) !== undefined;
    const role = opts.role === "admin" ? "admin" : "operator";
    const written = await store.putOperator({ name, passwordHash: await hashSecret(password), role }, { replace: opts.force === true, now: new Date() });
    if (!written) throw new SosError(ErrorCode.OperatorExists, `operator ${name} already exists: pass --force to give them a new password`);
    return { name, generated, replaced: existed, createdStore: !storeExisted };
  } finally {
    await store.close();
  }
}

export async function runAdd(name: string, opts: OperatorAddOptions): Promise<void> {
  const result = await addOperator(name, opts);
  if (result.createdStore) process.stdout.write(`note: ${String(opts.dataDir)} held no gateway store, so a new one was created there; run the gateway with this --data-dir\n`);
  const verb = result.replaced ? "new password for operator" : "added operator";
  if (result.generated === undefined) {
    process.stdout.write(`${verb} ${result.name}\n`);
    return;
  }
  process.stdout.write(`${verb} ${result.name}; password (shown once, give it to them privately):\n${result.generated}\n`);
}

export async function runList(opts: OperatorListOptions): Promise<void> {
  const store = await openCliStore(opts, { mustExist: true });
  try {
    const operators = (await store.listOperators()).map((o) => ({ name: o.name, role: o.role, mqttUsername: operatorUsername(o.name), createdAt: o.createdAt }));
    if (opts.json === true) {
      process.stdout.write(`${JSON.stringify(operators, null, 2)}\n`);
      return;
    }
    if (operators.length === 0) {
      process.stdout.write("no operators yet: add one with 'sos operator add NAME --data-dir DIR'\n");
      return;
    }
    process.stdout.write(`${formatTable(["NAME", "ROLE", "MQTT USERNAME", "CREATED"], operators.map((o) => [o.name, o.role, o.mqttUsername, o.createdAt]))}\n`);
  } finally {
    await store.close();
  }
}

export async function runRemove(name: string, opts: { dataDir?: unknown; store?: unknown }): Promise<void> {
  const store = await openCliStore(opts, { mustExist: true });
  try {
    if (!(await store.removeOperator(name))) throw new SosError(ErrorCode.OperatorUnknown, `no operator ${name}: see 'sos operator list'`);
    process.stdout.write(`removed operator ${name}\n`);
  } finally {
    await store.close();
  }
}
