/**
 * The kiosk release's dependency list (scripts/lib/kiosk-dependencies.ts) is exactly what the kiosk's
 * code imports: device/, shared/, `sos` and the kiosk's commands, lazily loaded drivers included; none
 * of the gateway's packages; every native module let through without a binary says why; and a build
 * that meets a native module without an arm64 binary fails with one line naming each.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nativeFailure } from "../../scripts/commands/release-build.js";
import { KIOSK_DEPENDENCIES, NATIVE_WITHOUT_PREBUILT_BINARY } from "../../scripts/lib/kiosk-dependencies.js";
import { kioskGraph, packageOf } from "../../scripts/lib/kiosk-files.js";
import { REPO_ROOT, tempDir } from "../integration/harness.js";

describe("the kiosk release lists every package the kiosk imports", () => {
  it("KIOSK_DEPENDENCIES is exactly what device/, shared/ and the kiosk's commands import", () => {
    const graph = kioskGraph(REPO_ROOT, ".ts");
    const imported = [...graph.packages.keys()].sort();
    const missing = imported.filter((p) => !KIOSK_DEPENDENCIES.includes(p)).map((p) => `${p} (imported by ${graph.packages.get(p)?.join(", ") ?? "?"})`);
    expect(missing, "imported by the kiosk but missing from KIOSK_DEPENDENCIES").toEqual([]);
    expect(KIOSK_DEPENDENCIES.filter((p) => !imported.includes(p)), "listed but no longer imported by the kiosk").toEqual([]);
  });

  it("takes every listed package from package.json's dependencies and none of the gateway's", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const name of KIOSK_DEPENDENCIES) expect(pkg.dependencies[name], name).toBeDefined();
    for (const gatewayOnly of ["aedes", "better-sqlite3", "postgres", "ioredis", "mqemitter", "mqemitter-redis", "prom-client", "ws", "csv-parse", "cli-progress"]) {
      expect(KIOSK_DEPENDENCIES).not.toContain(gatewayOnly);
    }
  });

  it("reaches the kiosk's commands and lazily loaded drivers, but not the gateway's lazily loaded stores", () => {
    const graph = kioskGraph(REPO_ROOT, ".ts");
    expect(graph.modules).toEqual(expect.arrayContaining(["scripts/sos.ts", "scripts/commands/enroll.ts", "scripts/commands/kiosk-update.ts", "device/media/wrtc/wrtc-api.ts"]));
    expect(graph.packages.get("onoff")).toEqual(["device/gpio/onoff.ts"]); // import("onoff")
    expect(graph.packages.get("@roamhq/wrtc")).toEqual(["device/media/wrtc/wrtc-api.ts"]); // createRequire(…)("@roamhq/wrtc")
    expect(graph.modules.filter((m) => m.startsWith("gateway/store/sqlite") || m.startsWith("gateway/store/postgres") || m.startsWith("gateway/broker"))).toEqual([]);
    expect(graph.modules).not.toContain("scripts/commands/gateway.ts");
  });

  describe("on a tree of its own", () => {
    let dir: { path: string; remove(): void };
    const put = (path: string, text: string): void => {
      mkdirSync(dirname(join(dir.path, path)), { recursive: true });
      writeFileSync(join(dir.path, path), text);
    };
    beforeEach(() => {
      dir = tempDir();
      put("scripts/sos.js", `import { Command } from "commander";\nconst gw = () => import("./commands/gateway.js");\n`);
      put("scripts/commands/gateway.js", `import "aedes";\n`);
      for (const c of ["enroll", "kiosk", "kiosk-selftest", "kiosk-doctor", "kiosk-update"]) put(`scripts/commands/${c}.js`, `import { a } from "../../device/a.js";\n`);
      put("device/a.js", `import type { Logger } from "pino";\nimport { x } from "./b.js";\nexport const a = () => import("left-pad/sub.js");\n`);
      put("device/b.js", `export { x } from "@scope/pkg/deep";\nimport { createRequire } from "node:module";\nconst addon = createRequire(import.meta.url)("native-thing");\n`);
      put("shared/c.js", `import "node:fs";\n`);
    });
    afterEach(() => dir.remove());

    it("finds static, dynamic and createRequire imports, skips type-only ones and the gateway behind `sos`'s lazy imports", () => {
      const graph = kioskGraph(dir.path, ".js");
      expect([...graph.packages.keys()].sort()).toEqual(["@scope/pkg", "commander", "left-pad", "native-thing"]);
      expect(graph.modules).not.toContain("scripts/commands/gateway.js");
    });

    it("names a module the kiosk imports but the tree lacks", () => {
      put("device/d.js", `import "./gone.js";\n`);
      expect(() => kioskGraph(dir.path, ".js")).toThrow(/device\/gone\.js is imported by the kiosk but missing/);
    });
  });

  it("reads package names from specifiers", () => {
    expect([packageOf("@a/b/c"), packageOf("x/y"), packageOf("node:fs"), packageOf("zod")]).toEqual(["@a/b", "x", null, "zod"]);
  });

  it("lets a native module through without an arm64 binary only with a reason written next to it", () => {
    for (const [name, reason] of Object.entries(NATIVE_WITHOUT_PREBUILT_BINARY)) expect(reason.length, name).toBeGreaterThan(40);
  });

  it("fails the build with one line naming each native module without an arm64 binary", () => {
    const line = nativeFailure(
      [
        { name: "@roamhq/wrtc-linux-arm64", ok: true, detail: "arm64 binary (wrtc.node)" },
        { name: "better-sqlite3", ok: false, detail: "no binary (binding.gyp: needs a compiler on the Pi or a cross build)" },
        { name: "x-addon", ok: false, detail: "binaries for x64 only" },
      ],
      "arm64",
    );
    expect(line).not.toContain("\n");
    expect(line).toMatch(/^release build: native module\(s\) without a linux-arm64 binary: better-sqlite3: no binary \(binding\.gyp: .*\); x-addon: binaries for x64 only — use /);
    expect(line).not.toContain("wrtc");
    expect(nativeFailure([{ name: "a", ok: true, detail: "arm64 binary (a.node)" }], "arm64")).toBeNull();
  });
});
