/**
 * A webhook URL with user info (`http://cad:PASSWORD@host/…`) is refused by `sos gateway` with one
 * line naming the flag and the fix; and should one reach the sender anyway, the error it records
 * (logs, `sos alerts`, /readyz, the console, the ops webhook) never quotes the password.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignedWebhook } from "../../gateway/outbox/signed-post.js";
import { run } from "../../scripts/commands/gateway.js";
import { ErrorCode, SosError } from "../../shared/errors.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";

const PASSWORD = "Sup3rS3cretPW";
const SECRET = "test-webhook-secret-0123456789";

// The data folder under a plain file: were the URL let through, the gateway would fail at once
// making it (ENOTDIR), not start listening inside the test.
const scratch = mkdtempSync(join(tmpdir(), "sos-webhook-url-"));
const notADir = join(scratch, "file");
writeFileSync(notADir, "");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function refusal(opts: Record<string, unknown>): Promise<SosError> {
  const ports = { mqttPort: 0, mqttsPort: 0, httpPort: 0, mqttHost: "127.0.0.1", mqttsHost: "127.0.0.1", httpHost: "127.0.0.1" };
  const err: unknown = await run({ dataDir: join(notADir, "data"), logLevel: "silent", ...ports, ...opts }).then(
    () => new Error("sos gateway started with a URL carrying a password"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SosError);
  expect((err as SosError).code).toBe(ErrorCode.ConfigInvalid);
  return err as SosError;
}

describe("sos gateway refuses a webhook URL with a user name or password", () => {
  const cases = [
    { flag: "--dispatch-url", path: "dispatch.url", secretFlag: "--dispatch-secret", opts: { dispatchUrl: `http://cad:${PASSWORD}@127.0.0.1:27090/incidents`, dispatchSecret: SECRET } },
    { flag: "--ops-url", path: "ops.url", secretFlag: "--ops-secret", opts: { opsUrl: `https://ops:${PASSWORD}@ops.example/hook`, opsSecret: SECRET } },
    { flag: "--escalation-url", path: "escalation.url", secretFlag: "--escalation-secret", opts: { escalationUrl: `http://esc:${PASSWORD}@cc.example:8443/escalate`, escalationSecret: SECRET } },
  ];

  for (const { flag, path, secretFlag, opts } of cases) {
    it(`${flag}: one line naming the flag and the fix, without the password`, async () => {
      const err = await refusal(opts);
      expect(err.message).toContain(`${flag} [${path}]: must not carry a user name or password`);
      expect(err.message).toContain(`X-Sos-Signature HMAC under ${secretFlag}`);
      expect(err.message).toContain("behind a proxy");
      expect(err.message).not.toContain(PASSWORD);
      expect(err.message.split("\n")).toHaveLength(1);
    });
  }

  it("a user name alone is refused too", async () => {
    const err = await refusal({ dispatchUrl: "http://cad@127.0.0.1:27090/incidents", dispatchSecret: SECRET });
    expect(err.message).toContain("--dispatch-url [dispatch.url]: must not carry a user name or password");
  });
});

describe("the sender's error never quotes a URL's password", () => {
  const receiver = new DispatchReceiver();
  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it("a URL with credentials that got past the config: the attempt fails with an error free of them", async () => {
    const url = receiver.url.replace("http://", `http://cad:${PASSWORD}@`);
    const webhook = new SignedWebhook({ url, secret: SECRET, timeoutMs: 2_000, userAgent: "sos-gateway/test", urlOption: "--dispatch-url" });
    const result = await webhook.post("6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d", "{}", 1, new AbortController().signal);
    expect(result.ok).toBe(false);
    expect(result.error).not.toBeNull();
    expect(result.error).not.toContain(PASSWORD);
    expect(result.error).not.toContain("cad:");
    expect(receiver.requests).toHaveLength(0);
  });
});
