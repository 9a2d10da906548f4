// The alert path's integration suites (test/integration/suites/), on PostgreSQL.
import { duplicateAlertDispatchedOnce } from "../integration/suites/duplicate-alert-dispatched-once.js";
import { pressReachesDispatchSigned } from "../integration/suites/press-reaches-dispatch-signed.js";
import { postgresStore } from "./pg-store.js";

const store = postgresStore();
pressReachesDispatchSigned(store);
duplicateAlertDispatchedOnce(store);
