import { describe, expect, it } from "vitest";
import { deferCleanups, startSystem } from "../cleanups.js";
import { verifySignature } from "../../../shared/signature.js";

import { DISPATCH_SECRET, onStore, provisionTestKiosk, startTestKiosk, waitFor, type TestKiosk, type TestStore } from "../harness.js";

/** The alert path, on the store given (SQLite in test/integration/, PostgreSQL in test/pg/). */
export function pressReachesDispatchSigned(store: TestStore): void {
  describe(`a press reaches dispatch as a signed webhook (${store.name})`, () => {
    const defer = deferCleanups();

    it("delivers the alert with the kiosk's identity and registered location, signed and keyed by alertId", async () => {
      const { dir, receiver, gateway } = await startSystem(defer, { ...onStore(store), dispatch: { agency: "test.police" } });
      const config = await provisionTestKiosk(gateway, "kz-hwy-0001", gateway.mqttUrl, dir);
      const kiosk: TestKiosk = await startTestKiosk(config);
      defer(() => kiosk.stop());
      await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");

      const pressedAt = new Date();
      kiosk.button.press(pressedAt);
      const request = await waitFor(() => receiver.requests[0], "dispatch request");
      const alertId = request.body.alertId;

      expect(verifySignature(request.raw, DISPATCH_SECRET, request.headers["x-sos-signature"] as string)).toBe(true);
      expect(verifySignature(request.raw, "some-other-secret-000000", request.headers["x-sos-signature"] as string)).toBe(false);
      expect(request.headers["idempotency-key"]).toBe(alertId);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.body).toMatchObject({
        kioskId: "kz-hwy-0001",
        kind: "sos",
        test: false,
        pressedAt: pressedAt.toISOString(),
        incidentTrackingIdentifier: `urn:emergency:uid:incidentid:${alertId}:test.police`,
        location: { lat: 43.25, lon: 76.95, address: "Test road km kz-hwy-0001", source: "registry" },
      });
      expect(Date.parse(request.body.receivedAt)).toBeGreaterThanOrEqual(pressedAt.getTime());

      // The kiosk drops the alert from its outbox only after the gateway's ack.
      await waitFor(() => kiosk.outbox.depth === 0, "outbox emptied by the ack");
      const stored = await waitFor(async () => {
        const row = await gateway.store.getAlert(alertId);
        return row?.delivery === "delivered" ? row : undefined;
      }, "alert marked delivered");
      expect(stored).toMatchObject({ kioskId: "kz-hwy-0001", attempts: 1 });
      expect(receiver.requests).toHaveLength(1);
    });
  });
}
