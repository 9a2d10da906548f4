// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/console-alarm-lifecycle-over-http.ts.
import { sqliteStore } from "./harness.js";
import { consoleAlarmLifecycleOverHttp } from "./suites/console-alarm-lifecycle-over-http.js";

consoleAlarmLifecycleOverHttp(sqliteStore);
