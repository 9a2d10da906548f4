// The body is shared with test/pg/ (the same suite on PostgreSQL): suites/security.ts.
import { sqliteStore } from "./harness.js";
import { securitySuite } from "./suites/security.js";

securitySuite(sqliteStore);
