// Kiosk supervision's integration suite (test/integration/suites/), on PostgreSQL.
import { offlineAfterTwoMissedHeartbeats } from "../integration/suites/offline-after-two-missed-heartbeats.js";
import { postgresStore } from "./pg-store.js";

offlineAfterTwoMissedHeartbeats(postgresStore());
