// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/press-reaches-dispatch-signed.ts.
import { sqliteStore } from "./harness.js";
import { pressReachesDispatchSigned } from "./suites/press-reaches-dispatch-signed.js";

pressReachesDispatchSigned(sqliteStore);
