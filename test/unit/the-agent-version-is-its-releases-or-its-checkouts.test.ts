/** The version the agent reports: its release's release.json, else package.json (a checkout), else "unknown"; never a throw. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readAgentVersion, UNKNOWN_VERSION } from "../../shared/agent-version.js";

describe("the agent's version", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const layout = (files: Record<string, string>): string => {
    root = mkdtempSync(join(tmpdir(), "sos-version-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
    const module = join(root, "dist", "device", "alarm");
    mkdirSync(module, { recursive: true });
    return module;
  };

  it("is release.json's in a release", () => {
    expect(readAgentVersion(layout({ "release.json": '{"version":"2.0.1"}', "package.json": '{"version":"2.0.0"}' }))).toBe("2.0.1");
  });
  it("is package.json's in a checkout", () => {
    expect(readAgentVersion(layout({ "package.json": '{"version":"0.4.2"}' }))).toBe("0.4.2");
  });
  it("is 'unknown' when the files say nothing usable", () => {
    expect(readAgentVersion(layout({ "release.json": "{", "package.json": '{"version":42}' }))).toBe(UNKNOWN_VERSION);
  });
});
