import { describe, expect, it } from "vitest";
import { type Eido, type KioskAlarmInfo } from "../../shared/eido.js";
import { dispatchFormat } from "../../gateway/dispatch/format.js";
import { markupReadsAs } from "../../gateway/dispatch/markup.js";
import type { AlarmStep } from "../../gateway/store/alarm-store.js";
import { eidoValidators } from "../fixtures/eido-schema.js";

const ALERT_ID = "0b6a3c1e-2f4d-4e5a-8b7c-9d0e1f2a3b4c";
const AGENCY = "police.kz";
const NAME = `Kiosk "Abay" <b>bold</b> & 'Sons' <script>alert(1)</script>\u0001\u0007\u001b end`;
const ADDRESS = `Almaty, "Abay" ave. <br/> 1 & 2\ttab\nline two\r\u0000\u0008 ]]> -- \u00e9\u4e2d\ud83d\ude80`;
const OUTCOME = `false alarm: "kids" <img src=x onerror=alert(1)> & co\u0002`;

const eido = dispatchFormat("eido");

function body(): string {
  return eido.alertBody({
    alert: { v: 1, alertId: ALERT_ID, kioskId: "kz-x-1", kind: "sos", pressedAt: "2026-11-25T03:44:01.754Z", location: { lat: 43, lon: 76, address: "kiosk's" } },
    kiosk: { kioskId: "kz-x-1", secretHash: "x", name: NAME, location: { lat: 43.1, lon: 76.2, address: ADDRESS }, createdAt: "", updatedAt: "" },
    receivedAt: new Date("2026-11-25T03:44:01.757Z"),
    agency: AGENCY,
    health: { state: "online", since: "2026-11-25T00:00:00.000Z", components: [] },
  });
}

/** The markup as a receiver's parser reads it: only our tags, every '&' an entity, text decoded. */
function textOf(markup: string, tag: string): string {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(markup);
  if (match?.[1] === undefined) throw new Error(`no <${tag}> in ${markup}`);
  return decode(match[1]);
}

function decode(text: string): string {
  expect(text).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

function wellFormed(markup: string): void {
  const withoutTags = markup.replace(/<\?xml[^<>]*\?>|<\/?[A-Za-z][\w:.-]*(\s+[\w:.-]+="[^"<>]*")*\s*\/?>/g, "");
  expect(withoutTags).not.toMatch(/[<>]/);
  // eslint-disable-next-line no-control-regex -- the characters XML 1.0 and HTML5 text cannot hold
  expect(markup).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/);
  decode(withoutTags);
}

describe("kiosk-provided and provisioned text in an EIDO arrives intact and correctly encoded", () => {
  it("keeps names and addresses exact in JSON fields and escapes them in the PIDF-LO and the notes", () => {
    const raw = body();
    const doc = JSON.parse(raw) as Eido;
    expect(eidoValidators().closed.check(doc)).toBe("");
    // JSON: exact, whatever the characters (control characters as \u escapes in the raw bytes).
    // eslint-disable-next-line no-control-regex -- no raw control character may be in the JSON
    expect(raw).not.toMatch(/[\u0000-\u001f]/);
    expect(doc.locationComponent[0]?.locationDescriptionText).toBe(ADDRESS);
    expect((JSON.parse(doc.alarmsSensorsComponent[0]?.csaaAlarmInformation ?? "{}") as KioskAlarmInfo).kioskName).toBe(NAME);
    // XML: well-formed, and its text reads back as the original (characters XML cannot hold as U+FFFD).
    const pidf = doc.locationComponent[0]?.locationByValue ?? "";
    wellFormed(pidf);
    expect(textOf(pidf, "ca:LOC")).toBe(markupReadsAs(ADDRESS));
    expect(textOf(pidf, "ca:NAM")).toBe(markupReadsAs(NAME));
    expect(markupReadsAs(ADDRESS)).toContain("\t");
    expect(markupReadsAs(ADDRESS)).toContain("\u4e2d\ud83d\ude80");
    // HTML5 note: no markup of the kiosk's survives as markup.
    const note = doc.notesComponent[0]?.notesActionComments ?? "";
    wellFormed(note);
    expect(note).not.toContain("<script>");
    expect(note).toContain(`<b>${"Kiosk &quot;Abay&quot; &lt;b&gt;bold&lt;/b&gt; &amp; &#39;Sons&#39; &lt;script&gt;alert(1)&lt;/script&gt;\ufffd\ufffd\ufffd end"}</b>`);
  });

  it("keeps an operator's outcome exact in the disposition and escaped in the closing note", () => {
    const steps: AlarmStep[] = [{ alertId: ALERT_ID, type: "closed", at: "2026-11-25T04:00:00.000Z", actor: "op-1", detail: { outcome: OUTCOME } }];
    const update = eido.updateBody({ initialBody: body(), steps, agency: AGENCY });
    const doc = JSON.parse(update ?? "{}") as Eido;
    expect(eidoValidators().closed.check(doc)).toBe("");
    expect(doc.incidentComponent.dispositionComponent?.[0]?.dispositionDescriptionText).toBe(OUTCOME);
    const note = doc.notesComponent.at(-1)?.notesActionComments ?? "";
    wellFormed(note);
    expect(note).not.toContain("<img");
    expect(decode(note.replace(/<\/?p>/g, ""))).toContain(markupReadsAs(OUTCOME));
  });
});
