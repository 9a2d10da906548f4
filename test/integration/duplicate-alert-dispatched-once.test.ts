// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/duplicate-alert-dispatched-once.ts.
import { sqliteStore } from "./harness.js";
import { duplicateAlertDispatchedOnce } from "./suites/duplicate-alert-dispatched-once.js";

duplicateAlertDispatchedOnce(sqliteStore);
