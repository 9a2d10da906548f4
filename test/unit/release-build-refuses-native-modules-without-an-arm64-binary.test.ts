/**
 * `sos release check-native`'s rule on a node_modules tree with real ELF headers: a native module
 * passes with a Linux binary for the kiosk's CPU (arm64), or when allowed; x64-only, Android-only
 * and binding.gyp-only modules fail.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkArch, elfArch, findNativePackages } from "../../scripts/lib/native-modules.js";
import { tempDir } from "../integration/harness.js";

/** The first bytes of a 64-bit little-endian ELF shared object for this e_machine. */
function elf(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(machine, 18);
  return b;
}

describe("the release build refuses native modules without an arm64 binary", () => {
  let dir: { path: string; remove(): void };
  const put = (path: string, content: string | Buffer): void => {
    const full = join(dir.path, "node_modules", path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  };
  const pkg = (name: string, folder = name): void => put(`${folder}/package.json`, JSON.stringify({ name }));

  beforeEach(() => {
    dir = tempDir();
    pkg("@roamhq/wrtc-linux-arm64");
    put("@roamhq/wrtc-linux-arm64/wrtc.node", elf(0xb7));
    pkg("@serialport/bindings-cpp");
    put("@serialport/bindings-cpp/prebuilds/linux-arm64/bindings.glibc.node", elf(0xb7));
    put("@serialport/bindings-cpp/prebuilds/linux-x64/bindings.glibc.node", elf(0x3e));
    pkg("epoll");
    put("epoll/binding.gyp", "{}");
    put("epoll/build/Release/epoll.node", elf(0x3e));
    pkg("only-android");
    put("only-android/prebuilds/android-arm64/x.node", elf(0xb7));
    pkg("gyp-only");
    put("gyp-only/binding.gyp", "{}");
    pkg("plain-js");
    put("plain-js/index.js", "module.exports = 1;");
    pkg("parent");
    pkg("nested-native", "parent/node_modules/nested-native");
    put("parent/node_modules/nested-native/n.node", elf(0x28));
  });
  afterEach(() => dir.remove());

  it("reads the CPU from the ELF header", () => {
    expect(elfArch(join(dir.path, "node_modules/@roamhq/wrtc-linux-arm64/wrtc.node"))).toBe("arm64");
    expect(elfArch(join(dir.path, "node_modules/epoll/build/Release/epoll.node"))).toBe("x64");
    expect(elfArch(join(dir.path, "node_modules/plain-js/index.js"))).toBe("not-elf");
  });

  it("passes modules with a Linux arm64 binary and allowed ones; fails the rest, saying why", () => {
    const packages = findNativePackages(dir.path);
    expect(packages.map((p) => p.name)).toEqual(["@roamhq/wrtc-linux-arm64", "@serialport/bindings-cpp", "epoll", "gyp-only", "nested-native", "only-android"]);
    const verdicts = checkArch(packages, "arm64", new Set(["epoll"]));
    expect(verdicts.map((v) => [v.name, v.ok])).toEqual([
      ["@roamhq/wrtc-linux-arm64", true],
      ["@serialport/bindings-cpp", true],
      ["epoll", true],
      ["gyp-only", false],
      ["nested-native", false],
      ["only-android", false],
    ]);
    const detail = new Map(verdicts.map((v) => [v.name, v.detail]));
    expect(detail.get("gyp-only")).toBe("no binary (binding.gyp: needs a compiler on the Pi or a cross build)");
    expect(detail.get("nested-native")).toBe("binaries for arm only");
    expect(detail.get("only-android")).toBe("binaries for android-arm64 only");
    expect(detail.get("epoll")).toBe("binaries for x64 only: allowed (built on the Pi or not loaded by the kiosk)");
  });
});
