/**
 * The EIDO of a kiosk alarm (dispatch.format "eido"; shared/eido.ts, docs/dispatch-webhook.md): the
 * incident URN as `$id`, an incident component, the kiosk's position by value with its address, an
 * alarm component for the kiosk, the snapshot as a media component, the agency, and a note with the
 * kiosk's health at the press. Built once when the alert is stored, like the flat body; every
 * component's `$id` is derived from the incident's, so the updates (eido-update.ts) name the same ones.
 */
import { createHash } from "node:crypto";
import { EIDO_INCIDENT_TYPE, EIDO_KIOSK_ALARM_SCHEMA, EIDO_VERSION, type Eido, type EidoNote, type EidoPrologue, type KioskAlarmInfo } from "../../shared/eido.js";
import type { AlertBodyInput } from "./format.js";
import { escapeMarkup } from "./markup.js";

export function incidentUrn(alertId: string, agency: string): string {
  return `urn:emergency:uid:incidentid:${alertId}:${agency}`;
}

/** A stable, globally unique component id: a name-based (SHA-1, version 5 layout) UUID of the incident and the part. */
export function componentId(incidentId: string, part: string): string {
  const h = createHash("sha1").update(`${incidentId}#${part}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The functional element that issues the EIDO: this gateway, within the agency. */
export function issuingElement(agency: string): string {
  return `sos-gateway.${agency}`;
}

export function prologue(id: string, at: string, agency: string): EidoPrologue {
  return { $id: id, lastUpdateTimeStamp: at, updatedByAgencyReference: { $ref: agency } };
}

/** PIDF-LO (RFC 4119): the point (WGS-84, lat lon) and the address (RFC 5139 NAM: the kiosk's name, LOC: the address text). */
function pidfLo(kioskId: string, agency: string, lat: number, lon: number, address: string, name: string | null): string {
  const nam = name === null ? "" : `<ca:NAM>${escapeMarkup(name)}</ca:NAM>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"` +
    ` xmlns:gml="http://www.opengis.net/gml" xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" entity="pres:${escapeMarkup(`${kioskId}@${agency}`)}">` +
    `<dm:device id="${escapeMarkup(kioskId)}"><gp:geopriv><gp:location-info>` +
    `<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${lat} ${lon}</gml:pos></gml:Point>` +
    `<ca:civicAddress>${nam}<ca:LOC>${escapeMarkup(address)}</ca:LOC></ca:civicAddress>` +
    `</gp:location-info><gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv></dm:device></presence>`
  );
}

function healthNote(input: AlertBodyInput, at: string): string {
  const { alert, kiosk, health } = input;
  const name = kiosk?.name ?? null;
  const who = name === null ? `kiosk ${escapeMarkup(alert.kioskId)}` : `kiosk <b>${escapeMarkup(name)}</b> (${escapeMarkup(alert.kioskId)})`;
  const what = alert.kind === "test" ? "Test alarm (proves the path; nobody is to be sent)" : "SOS button pressed";
  const seen =
    health === undefined
      ? "the gateway had no supervision state for it"
      : `${escapeMarkup(health.state)} since ${escapeMarkup(health.since)}, failing parts: ${health.components.length === 0 ? "none" : health.components.map(escapeMarkup).join(", ")}`;
  const s = alert.kioskState;
  const sensors =
    s === undefined
      ? "not reported"
      : [s.tamper === undefined ? null : `tamper switch ${s.tamper}`, s.power === undefined ? null : `power ${s.power}`, s.batteryPercent === undefined ? null : `battery ${s.batteryPercent}%`]
          .filter((x) => x !== null)
          .join(", ") || "not reported";
  const bySms = input.channel === "sms" ? "<p>Received by SMS over the kiosk's cellular modem: its internet link was down. No video call: the kiosk rings the centre's voice number.</p>" : "";
  return `<p>${what} at ${who}, ${escapeMarkup(alert.pressedAt)} (received ${escapeMarkup(at)}; press count ${alert.pressCount ?? 1}).</p><p>Kiosk health at the press: ${seen}. Kiosk sensors: ${escapeMarkup(sensors)}.</p>${bySms}`;
}

/** The first EIDO of an alarm's incident (the alert's dispatch body with dispatch.format "eido"). */
export function buildEido(input: AlertBodyInput): Eido {
  const { alert, kiosk, agency, snapshotUrl } = input;
  const at = input.receivedAt.toISOString();
  const id = incidentUrn(alert.alertId, agency);
  const test = alert.kind === "test";
  const location = kiosk?.location ?? alert.location;
  const ids = {
    incident: componentId(id, "incident"),
    location: componentId(id, "location"),
    alarm: componentId(id, "alarm"),
    media: componentId(id, "media:snapshot"),
    note: componentId(id, "note:press"),
  };
  const info: KioskAlarmInfo = {
    schema: EIDO_KIOSK_ALARM_SCHEMA,
    alertId: alert.alertId,
    kioskId: alert.kioskId,
    kioskName: kiosk?.name ?? null,
    kind: alert.kind,
    test,
    pressCount: alert.pressCount ?? 1,
    trigger: alert.trigger ?? null,
    pressedAt: alert.pressedAt,
    receivedAt: at,
    locationSource: kiosk === undefined ? "kiosk" : "registry",
  };
  const note: EidoNote = { ...prologue(ids.note, at, agency), notesActionComments: healthNote(input, at) };
  const media = snapshotUrl === undefined ? undefined : { ...prologue(ids.media, at, agency), uri: snapshotUrl, contentType: "image/jpeg", label: "Kiosk camera still at the press (404 until the kiosk has sent it, or when it has no camera)" };
  const mediaRefs = media === undefined ? {} : { mediaReferences: [{ $ref: media.$id }] };
  return {
    ...prologue(id, at, agency),
    eidoVersion: EIDO_VERSION,
    issuingElementIdentification: issuingElement(agency),
    incidentComponent: {
      ...prologue(ids.incident, at, agency),
      ...mediaRefs,
      incidentTypeCommonRegistryText: EIDO_INCIDENT_TYPE,
      incidentTypeInternalCode: test ? "SOS-KIOSK-TEST" : "SOS-KIOSK",
      incidentTypeInternalText: test ? "SOS kiosk test alarm" : "SOS kiosk alarm",
      // A test alarm is stored closed (outcome "test"): it must never page anyone.
      incidentStatusInternalText: test ? ["TEST", "CLOSED"] : ["NEW"],
      internalIncidentId: alert.alertId,
      incidentPriorityInternalText: test ? "lowest" : "highest",
      incidentCommonPriorityNumber: test ? 5 : 1,
      locationReference: [{ $ref: ids.location }],
      notesReference: [{ $ref: ids.note }],
    },
    alarmsSensorsComponent: [{ ...prologue(ids.alarm, at, agency), ...mediaRefs, csaaAlarmInformation: JSON.stringify(info), notesReference: [{ $ref: ids.note }] }],
    locationComponent: [
      {
        ...prologue(ids.location, at, agency),
        locationTypeDescriptionRegistryText: "Caller",
        locationByValue: pidfLo(alert.kioskId, agency, location.lat, location.lon, location.address, kiosk?.name ?? null),
        locationDescriptionText: location.address,
        localIdentifier: [alert.kioskId],
      },
    ],
    ...(media === undefined ? {} : { mediaComponent: [media] }),
    agencyComponent: [
      { ...prologue(agency, at, agency), agencyRoleDescriptionRegistryText: ["CallReceiving"], agencyType: ["police"], incidentOwningAgencyIndicator: true },
    ],
    notesComponent: [note],
  };
}
