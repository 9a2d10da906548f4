import { describe, expect, it } from "vitest";
import { describeStore, openStore, storeArgument, storeBackend } from "../../gateway/store/open.js";
import { parseGatewayConfig } from "../../shared/config/gateway.js";
import { redactStoreUrl, storeUrlProblem } from "../../shared/config/store-url.js";
import { ErrorCode } from "../../shared/errors.js";

describe("a store URL that cannot be a store is refused in one line", () => {
  it("takes postgres:// and postgresql:// URLs, with several hosts and ports and libpq's options", () => {
    for (const url of [
      "postgres://sos@db1,db2/sos",
      "postgresql://sos:secret@db1:5432,db2:5433/sos?target_session_attrs=read-write",
      "postgres://postgres@127.0.0.1:5432/postgres",
      "postgres://sos@[::1]:5432/sos",
    ]) {
      expect(storeUrlProblem(url), url).toBeNull();
      expect(storeBackend({ url, dataDir: "/var/lib/sos" })).toBe("postgres");
    }
  });

  it("says what is wrong and how to write it: not a URL, another scheme, no host, no database", () => {
    expect(storeUrlProblem("db1/sos")).toMatch(/^is not a URL: give a PostgreSQL URL such as postgres:\/\/.*leave --store out to use SQLite/);
    expect(storeUrlProblem("mysql://sos@db1/sos")).toMatch(/^has the scheme 'mysql:', and only postgres:\/\/ or postgresql:\/\/ are stores/);
    expect(storeUrlProblem("postgres:///sos")).toMatch(/^names no host/);
    expect(storeUrlProblem("postgres://sos@db1,/sos")).toMatch(/^names no host, or a host it cannot read \('db1,'\)/);
    expect(storeUrlProblem("postgres://sos@db1")).toMatch(/^names no database: add it after the host/);
    for (const url of ["db1/sos", "mysql://sos@db1/sos", "postgres:///sos", "postgres://sos@db1"]) expect(storeUrlProblem(url)).not.toContain("\n");
  });

  it("the gateway's config, the factory and the CLI refuse it with the reason and never print the password", async () => {
    expect(() => parseGatewayConfig({ dataDir: "/d", store: { url: "mysql://sos:hunter2@db1/sos" } })).toThrow(/^gateway config is invalid: store\.url: has the scheme 'mysql:'/);
    await expect(openStore({ url: "postgres://sos:hunter2@db1", dataDir: "/d" })).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringMatching(/^the store URL postgres:\/\/sos:\*\*\*@db1 names no database/) as unknown,
    });
    await expect(openStore({ url: "postgres://sos:hunter2@db1", dataDir: "/d" })).rejects.not.toMatchObject({ message: expect.stringContaining("hunter2") as unknown });
    await expect(openStore({})).rejects.toMatchObject({ code: ErrorCode.ArgumentInvalid, message: expect.stringContaining("pass --data-dir DIR (SQLite) or --store postgres://") as unknown });
  });

  it("names the store in messages by its folder, or its URL without the password", () => {
    expect(redactStoreUrl("postgres://sos:hunter2@db1,db2/sos")).toBe("postgres://sos:***@db1,db2/sos");
    expect(redactStoreUrl("postgres://sos@db1/sos?password=hunter2&sslmode=require")).toBe("postgres://sos@db1/sos?password=***&sslmode=require");
    expect(describeStore({ dataDir: "/var/lib/sos" })).toBe("/var/lib/sos");
    expect(describeStore({ url: "postgres://sos:hunter2@db1/sos", dataDir: "/var/lib/sos" })).toBe("postgres://sos:***@db1/sos");
    expect(storeArgument({ dataDir: "/var/lib/sos" })).toBe("--data-dir /var/lib/sos");
    expect(storeArgument({ url: "postgres://sos@db1/sos", dataDir: "/var/lib/sos" })).toBe("--store postgres://sos@db1/sos");
  });
});
