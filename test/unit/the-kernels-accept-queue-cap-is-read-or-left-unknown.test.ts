/** acceptQueueCap (gateway/broker/listeners.ts): the gateway warns at start when net.core.somaxconn caps its MQTT accept queue. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acceptQueueCap } from "../../gateway/broker/listeners.js";

const dir = mkdtempSync(join(tmpdir(), "sos-somaxconn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the kernel's accept queue cap", () => {
  it("is read from the sysctl file, and unknown when the file is missing or holds no positive integer", () => {
    writeFileSync(join(dir, "ok"), "4096\n");
    writeFileSync(join(dir, "bad"), "lots\n");
    writeFileSync(join(dir, "zero"), "0\n");
    expect(acceptQueueCap(join(dir, "ok"))).toBe(4096);
    expect(acceptQueueCap(join(dir, "bad"))).toBeUndefined();
    expect(acceptQueueCap(join(dir, "zero"))).toBeUndefined();
    expect(acceptQueueCap(join(dir, "missing"))).toBeUndefined();
  });
});
