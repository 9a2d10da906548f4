/**
 * An update keeps what was compiled on the kiosk (onoff's epoll, built by install.sh): the new
 * release takes the running release's build of the same package version, never another version's,
 * and never over a build the new release brings itself.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { carryBuiltAddons } from "../../device/update/built-addons.js";
import { tempDir } from "../integration/harness.js";

describe("an update keeps addons built on the kiosk", () => {
  let dir: { path: string; remove(): void };
  const put = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir.path, path)), { recursive: true });
    writeFileSync(join(dir.path, path), text);
  };
  const epoll = (release: string, version: string, built: string | null): void => {
    put(`${release}/node_modules/epoll/package.json`, JSON.stringify({ name: "epoll", version }));
    if (built !== null) put(`${release}/node_modules/epoll/build/Release/epoll.node`, built);
  };
  const from = (): string => join(dir.path, "old");
  const to = (): string => join(dir.path, "new");
  const built = (): string | null => (existsSync(join(to(), "node_modules/epoll/build/Release/epoll.node")) ? readFileSync(join(to(), "node_modules/epoll/build/Release/epoll.node"), "utf8") : null);

  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it("copies the running release's build into a new release of the same version", () => {
    epoll("old", "4.0.2", "arm64 build");
    epoll("new", "4.0.2", null);
    expect(carryBuiltAddons(from(), to())).toEqual(["epoll"]);
    expect(built()).toBe("arm64 build");
  });

  it("does not copy a build of another version", () => {
    epoll("old", "4.0.1", "old build");
    epoll("new", "4.0.2", null);
    expect(carryBuiltAddons(from(), to())).toEqual([]);
    expect(built()).toBeNull();
  });

  it("keeps a build the new release brings, and does nothing without epoll or without a build", () => {
    epoll("old", "4.0.2", "old build");
    epoll("new", "4.0.2", "new build");
    expect(carryBuiltAddons(from(), to())).toEqual([]);
    expect(built()).toBe("new build");
    expect(carryBuiltAddons(from(), join(dir.path, "no-epoll"))).toEqual([]);
    epoll("plain", "4.0.2", null);
    expect(carryBuiltAddons(join(dir.path, "plain"), to())).toEqual([]);
  });
});
