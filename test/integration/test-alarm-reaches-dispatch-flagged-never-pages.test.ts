import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "./cleanups.js";

import { addTestOperator, get, login, OPERATOR_PASSWORD } from "./operator-harness.js";
import { provisionTestKiosk, startTestKiosk, waitFor } from "./harness.js";

describe("the scheduled test alarm", () => {
  const defer = deferCleanups();

  it("travels the whole alert path to dispatch flagged as a test, is closed at once and never reaches an operator's queue", async () => {
    const { dir, receiver, gateway } = await startSystem(defer);
    await addTestOperator(gateway.dataDir, "alice");
    const config = await provisionTestKiosk(gateway.dataDir, "kz-park-0007", gateway.mqttUrl, dir);
    // A kiosk that was switched off past its due time tests as soon as it is back.
    mkdirSync(join(config.dataDir, "state"), { recursive: true });
    const overdue = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(join(config.dataDir, "state", "test-alarm.json"), JSON.stringify({ v: 1, lastAt: null, nextAt: overdue }));

    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());

    const request = await waitFor(() => receiver.requests[0], "the test alarm at dispatch");
    expect(request.body).toMatchObject({ kioskId: "kz-park-0007", kind: "test", test: true });
    const alertId = request.body.alertId;
    const stored = await waitFor(async () => {
      const row = await gateway.store.getAlert(alertId);
      return row?.delivery === "delivered" ? row : undefined;
    }, "test alert delivered");
    expect(stored).toMatchObject({ kind: "test", outcome: "test", closedBy: "system" });
    expect(stored.closedAt).not.toBeNull();

    // No light, no open alarm on the kiosk; nothing in the operator's open alarms.
    await waitFor(() => kiosk.outbox.depth === 0, "the kiosk's outbox emptied by the ack");
    expect(kiosk.indicator.shown.filter((p) => p.yellow === "on")).toEqual([]);
    const session = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
    const alarms = (await (await get(gateway.httpPort, "/api/alarms", session.cookie)).json()) as { data: { alarms: unknown[] } };
    expect(alarms.data.alarms).toEqual([]);
    expect(gateway.logs.find("operator alarm published")).toHaveLength(0);

    // A real press afterwards is an operator's alarm as always.
    kiosk.button.press(new Date());
    await waitFor(() => receiver.requests.find((r) => r.body.kind === "sos"), "the sos alert at dispatch");
    await waitFor(() => gateway.logs.find("operator alarm published").length === 1, "the sos alarm announced to operators");
  });
});
