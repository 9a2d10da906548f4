/**
 * The security suite, in one process so that the logs of all of it can be checked for the secrets it
 * used: passwords, enrolment tokens, session cookies and MQTT tokens, private key PEM bodies.
 * Each behaviour is in its own module under security/.
 */
import { describe, expect, it } from "vitest";
import type { TestStore } from "../harness.js";
import { adminApiTests } from "../security/admin-api.js";
import { enrolmentTests } from "../security/enrolment.js";
import { limitsTests } from "../security/limits.js";
import { mutualTlsTests } from "../security/mtls.js";
import { renewalTests } from "../security/renewal.js";
import { revocationTests } from "../security/revocation.js";
import { rotationTests } from "../security/rotation.js";
import { suite } from "../security/rig.js";
import { serverRenewalTests } from "../security/server-renewal.js";

/** The whole security suite, its gateways on `store` (SQLite here, PostgreSQL in test/pg/). */
export function securitySuite(store: TestStore): void {
  suite.store = store;
  mutualTlsTests();
  revocationTests();
  rotationTests();
  renewalTests();
  serverRenewalTests();
  enrolmentTests();
  adminApiTests();
  limitsTests();

  describe(`secrets never reach a log (${store.name})`, () => {
    it("no password, token, cookie or private key used by the suite appears in any log line it produced", () => {
      const lines = [...suite.logs.flatMap((l) => l.raw), ...suite.text];
      expect(lines.length).toBeGreaterThan(100);
      expect(suite.secrets.size).toBeGreaterThan(20);
      const leaks = [...suite.secrets].flatMap((secret) => lines.filter((line) => line.includes(secret)).map((line) => `${secret.slice(0, 8)}… in ${line.slice(0, 200)}`));
      expect(leaks).toEqual([]);
    });
  });
}
