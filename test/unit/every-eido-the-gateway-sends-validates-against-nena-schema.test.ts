import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Alert } from "../../shared/contract.js";
import { EIDO_INCIDENT_TYPE, type Eido, type KioskAlarmInfo } from "../../shared/eido.js";
import { componentId } from "../../gateway/dispatch/eido.js";
import { type AlertBodyInput, dispatchFormat, updateKey } from "../../gateway/dispatch/format.js";
import type { AlarmStep } from "../../gateway/store/alarm-store.js";
import type { KioskRecord } from "../../gateway/store/store.js";
import { eidoReferencePath, eidoValidators } from "../fixtures/eido-schema.js";

const ALERT_ID = "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d";
const AGENCY = "police.almaty.kz";
const eido = dispatchFormat("eido");

const kiosk: KioskRecord = {
  kioskId: "kz-ala-0001",
  secretHash: "x",
  name: "Abay Ave, park entrance",
  location: { lat: 43.2389, lon: 76.8897, address: "Almaty, Abay Avenue, park entrance" },
  createdAt: "2026-11-01T00:00:00.000Z",
  updatedAt: "2026-11-01T00:00:00.000Z",
};

function alert(kind: "sos" | "test"): Alert {
  return {
    v: 1,
    alertId: ALERT_ID,
    kioskId: "kz-ala-0001",
    kind,
    pressedAt: "2026-11-25T03:44:01.754Z",
    location: { lat: 43.2, lon: 76.9, address: "the kiosk's own idea" },
    trigger: kind === "test" ? "scheduled-test" : "button",
    pressCount: 2,
    kioskState: { tamper: "closed", power: "battery", batteryPercent: 81 },
  };
}

function input(kind: "sos" | "test", snapshot: boolean): AlertBodyInput {
  return {
    alert: alert(kind),
    kiosk,
    receivedAt: new Date("2026-11-25T03:44:01.757Z"),
    agency: AGENCY,
    snapshotUrl: snapshot ? `https://gw.example/api/alerts/${ALERT_ID}/snapshot.jpg?token=abc` : undefined,
    health: { state: "degraded", since: "2026-11-25T01:00:00.000Z", components: ["selftest:camera"] },
  };
}

const steps: AlarmStep[] = [
  { alertId: ALERT_ID, type: "pressed", at: "2026-11-25T03:44:01.754Z", actor: "kiosk", detail: {} },
  { alertId: ALERT_ID, type: "received", at: "2026-11-25T03:44:01.757Z", actor: "gateway", detail: {} },
  { alertId: ALERT_ID, type: "delivered", at: "2026-11-25T03:44:01.900Z", actor: "dispatch", detail: {} },
  { alertId: ALERT_ID, type: "acknowledged", at: "2026-11-25T03:44:09.000Z", actor: "aigerim", detail: {} },
  { alertId: ALERT_ID, type: "call-connected", at: "2026-11-25T03:44:15.000Z", actor: "aigerim", detail: { callId: "call-0001-abcd" } },
  { alertId: ALERT_ID, type: "closed", at: "2026-11-25T03:50:00.000Z", actor: "aigerim", detail: { outcome: "patrol sent, false alarm" } },
];

function valid(doc: unknown): void {
  const { nena, closed } = eidoValidators();
  expect(nena.check(doc)).toBe("");
  expect(closed.check(doc)).toBe("");
}

function update(upTo: number): Eido {
  const body = eido.updateBody({ initialBody: eido.alertBody(input("sos", true)), steps: steps.slice(0, upTo + 1), agency: AGENCY });
  if (body === null) throw new Error("no update built");
  return JSON.parse(body) as Eido;
}

describe("every EIDO the gateway sends validates against NENA's schema", () => {
  it("accepts NENA's own sample and refuses what the schema does not define (the check is not vacuous)", () => {
    const { nena, closed } = eidoValidators();
    const sample = JSON.parse(readFileSync(eidoReferencePath().replace("openapi.yaml", "sample-call-transfer.json"), "utf8")) as Record<string, unknown>;
    expect(nena.check(sample)).toBe("");
    expect(closed.check(sample)).toBe("");
    const body = JSON.parse(eido.alertBody(input("sos", true))) as Record<string, unknown>;
    expect(nena.check({ ...body, eidoVersion: "2.0" })).toContain("eidoVersion");
    expect(nena.check({ ...body, agencyComponent: undefined })).toContain("agencyComponent");
    expect(closed.check({ ...body, incidentComponent: { ...(body.incidentComponent as object), incidentKind: "sos" } })).toContain("incidentKind");
  });

  it("an SOS alarm with its snapshot: incident, location by value with the address, alarm, media, agency and health note", () => {
    const doc = JSON.parse(eido.alertBody(input("sos", true))) as Eido;
    valid(doc);
    const id = `urn:emergency:uid:incidentid:${ALERT_ID}:${AGENCY}`;
    expect(doc.$id).toBe(id);
    expect(doc.incidentComponent).toMatchObject({
      incidentTypeCommonRegistryText: EIDO_INCIDENT_TYPE,
      incidentStatusInternalText: ["NEW"],
      incidentCommonPriorityNumber: 1,
      internalIncidentId: ALERT_ID,
      locationReference: [{ $ref: componentId(id, "location") }],
    });
    const [location] = doc.locationComponent;
    expect(location?.locationByValue).toContain("<gml:pos>43.2389 76.8897</gml:pos>");
    expect(location?.locationByValue).toContain("<ca:LOC>Almaty, Abay Avenue, park entrance</ca:LOC>");
    expect(location?.locationDescriptionText).toBe(kiosk.location.address);
    const info = JSON.parse(doc.alarmsSensorsComponent[0]?.csaaAlarmInformation ?? "{}") as KioskAlarmInfo;
    expect(info).toMatchObject({ kioskId: "kz-ala-0001", kind: "sos", test: false, pressCount: 2, locationSource: "registry" });
    expect(doc.mediaComponent?.[0]).toMatchObject({ uri: input("sos", true).snapshotUrl, contentType: "image/jpeg" });
    expect(doc.agencyComponent[0]).toMatchObject({ $id: AGENCY, incidentOwningAgencyIndicator: true });
    expect(doc.notesComponent[0]?.notesActionComments).toContain("degraded since 2026-11-25T01:00:00.000Z, failing parts: selftest:camera");
    expect(doc.notesComponent[0]?.notesActionComments).toContain("power battery, battery 81%");
  });

  it("an SOS alarm without a snapshot link has no media component", () => {
    const doc = JSON.parse(eido.alertBody(input("sos", false))) as Eido;
    valid(doc);
    expect(doc.mediaComponent).toBeUndefined();
    expect(JSON.stringify(doc)).not.toContain("mediaReferences");
  });

  it("an alarm that came by SMS says so in its note (no video call: the kiosk rings the centre's voice number), and is still valid", () => {
    const doc = JSON.parse(eido.alertBody({ ...input("sos", false), channel: "sms" })) as Eido;
    valid(doc);
    expect(doc.notesComponent[0]?.notesActionComments).toContain("Received by SMS over the kiosk's cellular modem: its internet link was down.");
    const overIp = JSON.parse(eido.alertBody(input("sos", false))) as Eido;
    expect(overIp.notesComponent[0]?.notesActionComments).not.toContain("SMS");
  });

  it("a test alarm is a closed, lowest-priority incident flagged as a test", () => {
    for (const snapshot of [true, false]) {
      const doc = JSON.parse(eido.alertBody(input("test", snapshot))) as Eido;
      valid(doc);
      expect(doc.incidentComponent).toMatchObject({ incidentStatusInternalText: ["TEST", "CLOSED"], incidentCommonPriorityNumber: 5, incidentTypeInternalCode: "SOS-KIOSK-TEST" });
      expect(JSON.parse(doc.alarmsSensorsComponent[0]?.csaaAlarmInformation ?? "{}")).toMatchObject({ kind: "test", test: true, trigger: "scheduled-test" });
    }
  });

  it("each lifecycle step is an update of the same incident: acknowledged, call connected, closed with its outcome", () => {
    const first = JSON.parse(eido.alertBody(input("sos", true))) as Eido;
    const acknowledged = update(3);
    const connected = update(4);
    const closed = update(5);
    for (const doc of [acknowledged, connected, closed]) {
      valid(doc);
      expect(doc.$id).toBe(first.$id);
      expect(doc.incidentComponent.$id).toBe(first.incidentComponent.$id);
      expect(doc.agentComponent).toEqual([expect.objectContaining({ $id: `aigerim@${AGENCY}`, agencyReference: { $ref: AGENCY } })]);
    }
    expect(acknowledged).toMatchObject({ lastUpdateTimeStamp: "2026-11-25T03:44:09.000Z", incidentComponent: { incidentStatusInternalText: ["ACKNOWLEDGED"] } });
    expect(connected.incidentComponent.incidentStatusInternalText).toEqual(["CALL CONNECTED"]);
    expect(connected.callComponent?.[0]).toMatchObject({ callStateRegistryText: "callAnswered", direction: "incoming", answerDate: "2026-11-25T03:44:15.000Z" });
    expect(closed.incidentComponent).toMatchObject({
      incidentStatusInternalText: ["CLOSED"],
      dispositionComponent: [{ dispositionDescriptionText: "patrol sent, false alarm", dispositionPrimaryIndicator: true }],
    });
    // The whole incident each time: one note per step so far, after the press's.
    expect([acknowledged, connected, closed].map((d) => d.notesComponent.length)).toEqual([2, 3, 4]);
    expect(closed.lastUpdateTimeStamp).toBe("2026-11-25T03:50:00.000Z");
  });

  it("keys each update by alarm and step (and call), the id the receiver dedupes on", () => {
    expect(steps.slice(3).map((s) => updateKey(ALERT_ID, s))).toEqual([`${ALERT_ID}:acknowledged`, `${ALERT_ID}:call-connected:call-0001-abcd`, `${ALERT_ID}:closed`]);
    // A call id the kiosk chose that could not go into an HTTP header is hashed instead.
    const odd = updateKey(ALERT_ID, { alertId: ALERT_ID, type: "call-connected", at: "2026-11-25T03:44:15.000Z", actor: "aigerim", detail: { callId: "call\r\nX-Evil: 1 \u00e9" } });
    expect(odd).toMatch(new RegExp(`^${ALERT_ID}:call-connected:sha256-[0-9a-f]{32}$`));
  });

  it("sends no update for an alert whose first body was flat, nor in the flat format", () => {
    const flatBody = dispatchFormat("flat").alertBody(input("sos", true));
    expect(eido.updateBody({ initialBody: flatBody, steps, agency: AGENCY })).toBeNull();
    expect(dispatchFormat("flat").updateBody({ initialBody: flatBody, steps, agency: AGENCY })).toBeNull();
  });
});
