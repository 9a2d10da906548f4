// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/closing-an-alarm-returns-the-kiosk-to-idle.ts.
import { sqliteStore } from "./harness.js";
import { closingAnAlarmReturnsTheKioskToIdle } from "./suites/closing-an-alarm-returns-the-kiosk-to-idle.js";

closingAnAlarmReturnsTheKioskToIdle(sqliteStore);
