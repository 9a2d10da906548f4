// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/offline-after-two-missed-heartbeats.ts.
import { sqliteStore } from "./harness.js";
import { offlineAfterTwoMissedHeartbeats } from "./suites/offline-after-two-missed-heartbeats.js";

offlineAfterTwoMissedHeartbeats(sqliteStore);
