// A gateway process killed with SIGKILL mid-storm, twice (test/integration/suites/), on PostgreSQL.
import { gatewaySigkillLosesNoAlert } from "../integration/suites/gateway-sigkill-loses-no-alert.js";
import { postgresStore } from "./pg-store.js";

gatewaySigkillLosesNoAlert(postgresStore());
