// The alarm lifecycle's integration suites (test/integration/suites/), on PostgreSQL.
import { closingAnAlarmReturnsTheKioskToIdle } from "../integration/suites/closing-an-alarm-returns-the-kiosk-to-idle.js";
import { consoleAlarmLifecycleOverHttp } from "../integration/suites/console-alarm-lifecycle-over-http.js";
import { postgresStore } from "./pg-store.js";

const store = postgresStore();
closingAnAlarmReturnsTheKioskToIdle(store);
consoleAlarmLifecycleOverHttp(store);
