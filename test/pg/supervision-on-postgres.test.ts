// Kiosk supervision's integration suites (test/integration/suites/), on PostgreSQL.
import { kioskOfflineAtOnceWhenItsSocketDrops } from "../integration/suites/kiosk-offline-at-once-when-its-socket-drops.js";
import { offlineAfterTwoMissedHeartbeats } from "../integration/suites/offline-after-two-missed-heartbeats.js";
import { postgresStore } from "./pg-store.js";

const store = postgresStore();
offlineAfterTwoMissedHeartbeats(store);
kioskOfflineAtOnceWhenItsSocketDrops(store);
