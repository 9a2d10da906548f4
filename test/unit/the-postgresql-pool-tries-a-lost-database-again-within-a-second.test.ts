/**
 * After an outage of the database, a node acknowledges alerts again as soon as it can connect: the
 * pool tries again within a second however long the outage lasted (the library's own backoff grew
 * to 20 s, and nodes stayed 8–13 s without the database after it was back).
 */
import { describe, expect, it } from "vitest";
import { reconnectBackoffS } from "../../gateway/store/postgres/client.js";

describe("the PostgreSQL pool's reconnect backoff", () => {
  it("starts within a tenth of a second and never waits more than a second, however many attempts failed", () => {
    for (let i = 0; i < 200; i += 1) {
      expect(reconnectBackoffS(1)).toBeLessThanOrEqual(0.1);
      for (const retries of [5, 10, 30, 1_000]) {
        const s = reconnectBackoffS(retries);
        expect(s).toBeGreaterThan(0);
        expect(s).toBeLessThanOrEqual(1);
      }
    }
  });
});
