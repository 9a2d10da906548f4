// The whole security suite (test/integration/suites/security.ts), its gateways on PostgreSQL.
import { securitySuite } from "../integration/suites/security.js";
import { postgresStore } from "./pg-store.js";

securitySuite(postgresStore());
