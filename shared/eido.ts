/**
 * The subset of NENA's Emergency Incident Data Object (EIDO, NENA-STA-021, JSON schema
 * `openapi.yaml` in NENA911/EIDO-JSON) the gateway sends to dispatch with `dispatch.format: "eido"`.
 * Every document is checked against NENA's schema in the tests; docs/dispatch-webhook.md maps each
 * field. Types only: the builder is gateway/dispatch/eido.ts.
 */

export const EIDO_VERSION = "1.0";
/** incidentTypeCommonRegistryText of every kiosk alarm. */
export const EIDO_INCIDENT_TYPE = "Alarm";
/** The JSON in an alarm component's csaaAlarmInformation: the kiosk alarm, machine-readable. */
export const EIDO_KIOSK_ALARM_SCHEMA = "sos.kiosk.alarm/v1";

export interface EidoRef {
  readonly $ref: string;
}

/** NENA's PrologueType: on the document and on every component. */
export interface EidoPrologue {
  $id: string;
  lastUpdateTimeStamp: string;
  updatedByAgencyReference: EidoRef;
  updatedByAgentReference?: EidoRef;
  mediaReferences?: EidoRef[];
}

export interface EidoDisposition extends EidoPrologue {
  dispositionCommonRegistryCode: string;
  dispositionPrimaryIndicator?: boolean;
  dispositionDescriptionText?: string;
}

export interface EidoIncident extends EidoPrologue {
  incidentTypeCommonRegistryText: string;
  incidentTypeInternalCode: string;
  incidentTypeInternalText: string;
  incidentStatusInternalText: string[];
  internalIncidentId: string;
  incidentPriorityInternalText: string;
  incidentCommonPriorityNumber: number;
  locationReference: EidoRef[];
  agentReference?: EidoRef[];
  notesReference: EidoRef[];
  dispositionComponent?: EidoDisposition[];
}

export interface EidoLocation extends EidoPrologue {
  locationTypeDescriptionRegistryText: string;
  /** PIDF-LO (RFC 4119) with a geodetic point and the address. */
  locationByValue: string;
  /** The address as plain text, exactly as provisioned (or as the kiosk claimed it). */
  locationDescriptionText: string;
  localIdentifier: string[];
}

export interface EidoAlarmSensor extends EidoPrologue {
  /** JSON of a KioskAlarmInfo. */
  csaaAlarmInformation: string;
  notesReference?: EidoRef[];
}

/** What csaaAlarmInformation carries. */
export interface KioskAlarmInfo {
  readonly schema: typeof EIDO_KIOSK_ALARM_SCHEMA;
  readonly alertId: string;
  readonly kioskId: string;
  readonly kioskName: string | null;
  readonly kind: "sos" | "test";
  readonly test: boolean;
  readonly pressCount: number;
  readonly trigger: string | null;
  readonly pressedAt: string;
  readonly receivedAt: string;
  /** "registry": the position provisioned at the gateway; "kiosk": the kiosk's own claim. */
  readonly locationSource: "registry" | "kiosk";
}

export interface EidoMedia extends EidoPrologue {
  uri: string;
  contentType: string;
  label: string;
}

export interface EidoAgency extends EidoPrologue {
  agencyRoleDescriptionRegistryText: string[];
  agencyType: string[];
  incidentOwningAgencyIndicator: boolean;
}

export interface EidoAgent extends EidoPrologue {
  agentRoleRegistryText: string[];
  agencyReference: EidoRef;
}

export interface EidoNote extends EidoPrologue {
  /** HTML5: kiosk and operator text in it is escaped (gateway/dispatch/markup.ts). */
  notesActionComments: string;
  agentReference?: EidoRef;
}

export interface EidoCall extends EidoPrologue {
  callStateRegistryText: string;
  standardPrimaryCallType: string;
  direction: "incoming";
  callStartTimestamp: string;
  answerDate?: string;
  agentReference?: EidoRef[];
  locationReference?: EidoRef[];
}

export interface Eido extends EidoPrologue {
  eidoVersion: typeof EIDO_VERSION;
  issuingElementIdentification: string;
  incidentComponent: EidoIncident;
  callComponent?: EidoCall[];
  alarmsSensorsComponent: EidoAlarmSensor[];
  locationComponent: EidoLocation[];
  mediaComponent?: EidoMedia[];
  agencyComponent: EidoAgency[];
  agentComponent?: EidoAgent[];
  notesComponent: EidoNote[];
}

/** The lifecycle steps sent as EIDO updates of the alarm's incident. */
export const EIDO_UPDATE_STEPS = ["acknowledged", "call-connected", "closed"] as const;
export type EidoUpdateStep = (typeof EIDO_UPDATE_STEPS)[number];
