// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/kiosk-offline-at-once-when-its-socket-drops.ts.
import { sqliteStore } from "./harness.js";
import { kioskOfflineAtOnceWhenItsSocketDrops } from "./suites/kiosk-offline-at-once-when-its-socket-drops.js";

kioskOfflineAtOnceWhenItsSocketDrops(sqliteStore);
