// The body is shared with test/pg/ (the same behaviour on PostgreSQL): suites/gateway-sigkill-loses-no-alert.ts.
import { sqliteStore } from "./harness.js";
import { gatewaySigkillLosesNoAlert } from "./suites/gateway-sigkill-loses-no-alert.js";

gatewaySigkillLosesNoAlert(sqliteStore);
