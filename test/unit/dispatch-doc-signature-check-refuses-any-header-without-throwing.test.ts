/**
 * The signature check docs/dispatch-webhook.md gives receivers to copy, run as written: it accepts
 * the gateway's signature and refuses any other header, a non-ASCII one of the right length in
 * characters and a missing one included, without throwing (a throw there crashes a receiver).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { signBody } from "../../shared/signature.js";

const DOC = join(import.meta.dirname, "../../docs/dispatch-webhook.md");
const SECRET = "test-dispatch-secret-0123456789";
const RAW_BODY = Buffer.from(JSON.stringify({ schema: "sos.dispatch.alert/v1", alertId: "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d" }));

/** The ```js block that follows "Verify the signature" in the doc. */
function snippet(): string {
  const doc = readFileSync(DOC, "utf8");
  const at = doc.indexOf("**Verify the signature**");
  expect(at, "the doc's 'Verify the signature' rule").toBeGreaterThan(-1);
  const code = /```js\n([\s\S]*?)```/.exec(doc.slice(at))?.[1];
  expect(code, "a js block after it").toBeDefined();
  return code ?? "";
}

/** Runs the doc's snippet with `header` as the X-Sos-Signature value; returns its `ok`. */
function docCheck(header: unknown): unknown {
  return runInNewContext(`${snippet()}\nok;`, { createHmac, timingSafeEqual, Buffer, secret: SECRET, rawBody: RAW_BODY, header });
}

describe("docs/dispatch-webhook.md's signature check", () => {
  const good = signBody(RAW_BODY, SECRET);

  it("accepts the gateway's own signature", () => {
    expect(docCheck(good)).toBe(true);
  });

  it("refuses a non-ASCII header as long as a signature in characters, without throwing", () => {
    const bad = `${good.slice(0, -1)}é`;
    expect(bad).toHaveLength(good.length);
    expect(docCheck(bad)).toBe(false);
  });

  it("refuses a wrong, short or missing header without throwing", () => {
    expect(docCheck(good.replace(/.$/, (c) => (c === "0" ? "1" : "0")))).toBe(false);
    expect(docCheck(good.slice(0, -1))).toBe(false);
    expect(docCheck("")).toBe(false);
    expect(docCheck(undefined)).toBe(false);
  });
});
