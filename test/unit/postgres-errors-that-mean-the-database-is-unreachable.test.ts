import { describe, expect, it } from "vitest";
import { isUnavailable } from "../../gateway/store/postgres/client.js";

const err = (fields: Record<string, unknown>): Error => Object.assign(new Error("x"), fields);

describe("which PostgreSQL errors mean the database is unreachable (STORE_UNAVAILABLE, no ack)", () => {
  it("connection failures, a killed or shut-down backend, a read-only standby, any FATAL: unreachable", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "QUERY_TIMEOUT", "57P01", "57P03", "08006", "25006", "28P01"]) {
      expect({ code, unavailable: isUnavailable(err({ code })) }).toEqual({ code, unavailable: true });
    }
    expect(isUnavailable(err({ code: "55000", severity: "FATAL" }))).toBe(true);
    expect(isUnavailable(new AggregateError([err({ code: "ECONNREFUSED" })], "all hosts failed"))).toBe(true);
  });

  it("a refused statement on a reachable database (constraint, missing table, a bug) is not", () => {
    for (const e of [err({ code: "23505", severity: "ERROR" }), err({ code: "42P01", severity: "ERROR" }), err({ code: "55000", severity: "ERROR" }), new Error("plain"), "text", null]) {
      expect(isUnavailable(e)).toBe(false);
    }
  });
});
