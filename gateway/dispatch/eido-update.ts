/**
 * An alarm's later steps as EIDO updates of its incident: the same `$id` and component ids, the whole
 * incident as it stands after the step (NENA's EIDO is a state, not a diff), a new
 * lastUpdateTimeStamp, the operator as an agent, one note per step, and on the close a disposition
 * with the outcome. Built from the incident's first EIDO (stored with the alert) and the steps.
 */
import type { Eido, EidoAgent, EidoCall, EidoNote } from "../../shared/eido.js";
import { operatorNameSchema } from "../operators/names.js";
import type { AlarmStep } from "../store/alarm-store.js";
import { componentId, prologue } from "./eido.js";
import { escapeMarkup } from "./markup.js";

const STATUS: Record<string, string> = { acknowledged: "ACKNOWLEDGED", "call-connected": "CALL CONNECTED", closed: "CLOSED" };
/** Actors that are not people. */
const SYSTEM_ACTORS = new Set(["kiosk", "gateway", "system", "dispatch", "cli"]);

function isOperator(actor: string | null): actor is string {
  return actor !== null && !SYSTEM_ACTORS.has(actor) && operatorNameSchema.safeParse(actor).success;
}

function text(step: AlarmStep): string {
  const by = step.actor === null ? "" : ` by ${escapeMarkup(step.actor)}`;
  const at = escapeMarkup(step.at);
  switch (step.type) {
    case "acknowledged":
      return `<p>Alarm acknowledged${by} at the console, ${at}.</p>`;
    case "call-connected":
      return `<p>Voice and video call with the kiosk connected${by}, ${at}.</p>`;
    default: {
      const outcome = typeof step.detail.outcome === "string" ? step.detail.outcome : "";
      return `<p>Alarm closed${by}, ${at}. Outcome: ${escapeMarkup(outcome)}</p>`;
    }
  }
}

/** The incident after `steps` (oldest first): acknowledged, call-connected and closed steps change it; others are ignored. */
export function buildEidoUpdate(first: Eido, steps: readonly AlarmStep[], agency: string): Eido {
  const doc = structuredClone(first);
  const id = doc.$id;
  const incident = doc.incidentComponent;
  const agents = new Map<string, EidoAgent>();
  const calls: EidoCall[] = [];
  const notes: EidoNote[] = [...doc.notesComponent];
  const lifecycle = steps.filter((s) => s.type in STATUS);
  for (const [n, step] of lifecycle.entries()) {
    const at = step.at;
    let agentRef: { $ref: string } | undefined;
    if (isOperator(step.actor)) {
      const agentId = `${step.actor}@${agency}`;
      agentRef = { $ref: agentId };
      if (!agents.has(agentId)) agents.set(agentId, { ...prologue(agentId, at, agency), agentRoleRegistryText: ["Call Taking"], agencyReference: { $ref: agency } });
    }
    const noteId = componentId(id, `note:${n + 1}:${step.type}`);
    notes.push({ ...prologue(noteId, at, agency), notesActionComments: text(step), ...(agentRef === undefined ? {} : { updatedByAgentReference: agentRef, agentReference: agentRef }) });
    incident.notesReference.push({ $ref: noteId });
    incident.incidentStatusInternalText = [STATUS[step.type] ?? step.type.toUpperCase()];
    incident.lastUpdateTimeStamp = at;
    if (agentRef === undefined) delete incident.updatedByAgentReference;
    else incident.updatedByAgentReference = agentRef;
    if (step.type === "call-connected") {
      const callId = typeof step.detail.callId === "string" ? step.detail.callId : String(n);
      calls.push({
        ...prologue(componentId(id, `call:${callId}`), at, agency),
        callStateRegistryText: "callAnswered",
        standardPrimaryCallType: "emergency",
        direction: "incoming",
        callStartTimestamp: at,
        answerDate: at,
        locationReference: [...incident.locationReference],
        ...(agentRef === undefined ? {} : { agentReference: [agentRef] }),
      });
    }
    if (step.type === "closed") {
      const outcome = typeof step.detail.outcome === "string" ? step.detail.outcome : "";
      incident.dispositionComponent = [
        { ...prologue(componentId(id, "disposition"), at, agency), dispositionCommonRegistryCode: "Closed", dispositionPrimaryIndicator: true, dispositionDescriptionText: outcome },
      ];
    }
  }
  const last = lifecycle.at(-1);
  if (last !== undefined) {
    doc.lastUpdateTimeStamp = last.at;
    if (isOperator(last.actor)) doc.updatedByAgentReference = { $ref: `${last.actor}@${agency}` };
  }
  if (agents.size > 0) {
    doc.agentComponent = [...agents.values()];
    incident.agentReference = [...agents.keys()].map(($ref) => ({ $ref }));
  }
  if (calls.length > 0) doc.callComponent = calls;
  doc.notesComponent = notes;
  return doc;
}
