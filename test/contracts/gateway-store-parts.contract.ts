/**
 * The GatewayStore contract's supervision (store.health), alarm (store.alarms), security
 * (store.security) and session (store.sessions) sides; called by gateway-store.contract.ts.
 */
import { describe, expect, it } from "vitest";
import type { GatewayStore } from "../../gateway/store/store.js";
import type { TransitionRecord } from "../../gateway/store/health-store.js";
import type { Enrolment } from "../../gateway/store/security-store.js";
import { at, attempt, claimBy, ids, iso, newAlert, registered, T0, type StoreHarness } from "./gateway-store-fixtures.js";

export function describeStoreParts(harness: StoreHarness, current: () => GatewayStore, fresh: () => Promise<GatewayStore>): void {
  const t = (kioskId: string, from: TransitionRecord["from"], to: TransitionRecord["to"], ms: number, components: string[] = []): TransitionRecord => ({
    kioskId, from, to, reason: `${from}->${to}`, components, at: iso(ms),
  });
  const ev = (eventId: string, kioskId: string, ms: number) => ({ eventId, kioskId, type: "transition" as const, body: `{"id":"${eventId}"}`, createdAt: iso(ms) });

  describe("supervision (store.health)", () => {
    it("stores transitions (since moves only with the state), heartbeats and registry changes, and lists each kiosk's health", async () => {
      const store = await fresh();
      await registered(store, "k-1", "k-2");
      await store.recordAlert(newAlert("k-2", "test"), at(7), "{}");
      await store.health.recordSupervision({ transitions: [t("k-1", "never-seen", "online", 1), t("k-1", "online", "degraded", 2, ["power"])], events: [] });
      await store.health.recordSupervision({ transitions: [t("k-1", "degraded", "degraded", 3, ["power", "tamper"])], events: [] });
      const beat = (kioskId: string, ms: number) => ({ kioskId, receivedAt: iso(ms), intervalS: 60, lastTestAlarmAt: null, report: `{"at":${ms}}` });
      await store.health.saveHeartbeats([beat("k-1", 4), beat("k-1", 5), beat("k-2", 5)]);
      expect(await store.health.getHealth("k-1")).toMatchObject({
        state: "degraded", since: iso(2), components: ["power", "tamper"], firstSeenAt: iso(1), lastHeartbeatAt: iso(5), intervalS: 60, report: null,
      });
      const all = await store.health.listHealth({ reports: true });
      expect(all.map((r) => [r.kioskId, r.state, r.lastTestAlertAt, r.report])).toEqual([["k-1", "degraded", null, '{"at":5}'], ["k-2", null, iso(7), '{"at":5}']]);
      expect(await store.health.getHealth("nope")).toBeUndefined();
      expect((await store.health.transitions("k-1", 2)).map((r) => r.to)).toEqual(["degraded", "degraded"]);
      const mark = (await store.health.registryChangedSince(null)).at(-1)?.updatedAt ?? null;
      expect(await store.health.setDecommissioned("k-2", true, at(60_000))).toBe(true);
      expect(await store.health.setDecommissioned("nope", true, at(60_000))).toBe(false);
      expect((await store.health.registryChangedSince(mark)).at(-1)).toEqual({ kioskId: "k-2", decommissionedAt: iso(60_000), updatedAt: iso(60_000) });
      await store.health.setDecommissioned("k-2", false, at(61_000));
      expect((await store.health.getHealth("k-2"))?.decommissionedAt).toBeNull();
    });

    it("a heartbeat without its report (only readings changed) updates the row and keeps the stored report; a kiosk without a row gets none from it", async () => {
      const store = await fresh();
      await registered(store, "k-1", "k-2");
      await store.health.saveHeartbeats([{ kioskId: "k-1", receivedAt: iso(1), intervalS: 10, lastTestAlarmAt: null, report: '{"faults":[]}' }]);
      await store.health.saveHeartbeats([
        { kioskId: "k-1", receivedAt: iso(11), intervalS: 20, lastTestAlarmAt: iso(5), report: null },
        { kioskId: "k-2", receivedAt: iso(11), intervalS: 10, lastTestAlarmAt: null, report: null },
      ]);
      expect((await store.health.listHealth({ reports: true })).map((r) => [r.kioskId, r.lastHeartbeatAt, r.intervalS, r.report])).toEqual([
        ["k-1", iso(11), 20, '{"faults":[]}'],
        ["k-2", null, null, null],
      ]);
      await store.health.saveHeartbeats([{ kioskId: "k-1", receivedAt: iso(21), intervalS: 10, lastTestAlarmAt: iso(5), report: '{"faults":["power"]}' }]);
      expect((await store.health.getHealth("k-1", { reports: true }))?.report).toBe('{"faults":["power"]}');
    });

    it("a batch with several transitions of one kiosk ends as if they were written one by one: since is the start of the last state's run, the first sighting kept", async () => {
      const store = await fresh();
      await registered(store, "k-1", "k-2", "k-3", "k-4");
      await store.health.recordSupervision({ transitions: [t("k-1", "never-seen", "online", 1), t("k-2", "never-seen", "online", 1), t("k-3", "never-seen", "offline", 1)], events: [] });
      await store.health.recordSupervision({
        transitions: [
          t("k-1", "online", "offline", 2), t("k-2", "online", "degraded", 2, ["power"]), t("k-1", "offline", "online", 3),
          t("k-2", "degraded", "degraded", 4, ["power", "tamper"]), t("k-3", "offline", "offline", 5), t("k-4", "never-seen", "offline", 6), t("k-4", "offline", "online", 7),
        ],
        events: [ev("e-1", "k-1", 2), { ...ev("e-1", "k-1", 3), body: "{\"second\":true}" }],
      });
      const health = async (kioskId: string) => {
        const row = await store.health.getHealth(kioskId);
        return [row?.state, row?.since, row?.components, row?.firstSeenAt, row?.reason];
      };
      expect(await health("k-1")).toEqual(["online", iso(3), [], iso(1), "offline->online"]); // back online: since the last change, not the stored one
      expect(await health("k-2")).toEqual(["degraded", iso(2), ["power", "tamper"], iso(1), "degraded->degraded"]);
      expect(await health("k-3")).toEqual(["offline", iso(1), [], null, "offline->offline"]); // the same state all along: the stored since
      expect(await health("k-4")).toEqual(["online", iso(7), [], iso(7), "offline->online"]);
      expect((await store.health.transitions("k-1", 10)).map((r) => [r.to, r.at])).toEqual([["online", iso(3)], ["offline", iso(2)], ["online", iso(1)]]);
      expect((await store.health.listOps(10)).map((r) => [r.eventId, r.body])).toEqual([["e-1", '{"id":"e-1"}']]); // the first of one id
    });

    it("sends one kiosk's ops events in the order they were queued, claims them, and counts and lists them", async () => {
      const store = await fresh();
      const other = await harness.another();
      await store.health.recordSupervision({ transitions: [], events: [ev("z-offline", "k-1", 1), ev("a-online", "k-1", 2), ev("m-other", "k-2", 2), ev("m-other", "k-2", 3)] });
      await store.health.recordOpsAttempt({ id: "z-offline", attempt: 1, startedAt: iso(1), durationMs: 5, ok: false, httpStatus: 503, error: "HTTP 503" }, at(60));
      expect(await ids(store.health.claimOps(at(30), 10, claimBy("one", 30)))).toEqual(["m-other"]); // k-2 is not held up by k-1
      expect(await other.health.claimOps(at(30), 10, claimBy("two", 30))).toEqual([]);
      expect(await other.health.nextOpsAt({ owner: "two" })).toEqual(at(60));
      expect(await ids(store.health.claimOps(at(60), 10, claimBy("one", 60, 30_000, ["m-other"])))).toEqual(["z-offline"]);
      expect(await other.health.claimOps(at(60), 10, claimBy("two", 60))).toEqual([]);
      await store.health.recordOpsAttempt({ id: "z-offline", attempt: 2, startedAt: iso(60), durationMs: 5, ok: true, httpStatus: 200, error: null }, null);
      expect(await ids(other.health.claimOps(at(60), 10, claimBy("two", 60)))).toEqual(["a-online"]);
      expect(await store.health.pendingOpsCount()).toBe(2);
      expect((await store.health.listOps(10)).map((r) => [r.eventId, r.attempts, r.deliveredAt, r.lastError])).toEqual([
        ["m-other", 0, null, null], ["a-online", 0, null, null], ["z-offline", 2, iso(65), null],
      ]);
    });

    it("prunes old history: delivered ops events, transitions but each kiosk's newest, delivered test alarms but each kiosk's newest, rejected messages", async () => {
      const store = await fresh();
      await store.health.recordSupervision({ transitions: [t("k-1", "never-seen", "online", 1), t("k-1", "online", "offline", 2)], events: [ev("e-1", "k-1", 1), ev("e-2", "k-1", 2)] });
      await store.health.recordOpsAttempt({ id: "e-1", attempt: 1, startedAt: iso(1), durationMs: 1, ok: true, httpStatus: 200, error: null }, null);
      const tests = [newAlert("k-1", "test"), newAlert("k-1", "test"), newAlert("k-1", "test")];
      for (const [i, a] of tests.entries()) {
        await store.recordAlert(a, at(i), "{}");
        if (i < 2) await store.recordAttempt(attempt(a.alertId, 1, true, at(i)), null);
      }
      await store.alarms.recordStep({ alertId: tests[0]!.alertId, type: "delivered", at: iso(0), actor: "dispatch", detail: {} });
      const sos = newAlert("k-1");
      await store.recordAlert(sos, at(0), "{}");
      await store.recordAttempt(attempt(sos.alertId, 1, true, at(0)), null);
      await store.recordRejected({ kioskId: "k-1", topic: "x", receivedAt: iso(0), code: "C", reason: "r", excerpt: "" });
      expect(await store.health.pruneHistory(at(100))).toEqual({ opsEvents: 1, transitions: 1, testAlerts: 2, rejected: 1 });
      expect((await store.listAlerts()).map((a) => a.alertId).sort()).toEqual([tests[2]!.alertId, sos.alertId].sort());
      expect(await store.alarms.steps(tests[0]!.alertId)).toEqual([]);
      expect((await store.health.transitions("k-1", 10)).map((r) => r.to)).toEqual(["offline"]);
      expect(await store.health.pruneHistory(at(100))).toEqual({ opsEvents: 0, transitions: 0, testAlerts: 0, rejected: 0 });
    });
  });

  describe("alarm lifecycle (store.alarms)", () => {
    it("records steps (once-only ones once), acknowledges first-wins and not after the close, lists steps and the unacknowledged", async () => {
      const store = await fresh();
      const [a, b, c] = [newAlert("k1"), newAlert("k1"), newAlert("k2", "test")];
      for (const [i, x] of [a, b, c].entries()) await store.recordAlert(x, at(i), "{}");
      expect(await store.alarms.recordStep({ alertId: a.alertId, type: "received", at: iso(0), actor: "gateway", detail: { health: "online" } })).toBe(true);
      expect(await store.alarms.recordStep({ alertId: a.alertId, type: "received", at: iso(1), actor: "gateway", detail: {} })).toBe(false);
      expect(await store.alarms.recordStep({ alertId: a.alertId, type: "presses", at: iso(2), actor: "kiosk", detail: { pressCount: 2 } })).toBe(true);
      expect(await store.alarms.recordStep({ alertId: a.alertId, type: "presses", at: iso(3), actor: "kiosk", detail: { pressCount: 3 } })).toBe(true);
      expect(await store.alarms.recordStep({ alertId: "unknown", type: "presses", at: iso(3), actor: null, detail: {} })).toBe(false);
      expect((await store.alarms.unacknowledged()).map((u) => u.alertId)).toEqual([a.alertId, b.alertId]);
      expect((await store.alarms.unacknowledged([b.alertId, c.alertId, "unknown"])).map((u) => u.alertId)).toEqual([b.alertId]);
      expect(await store.alarms.unacknowledged([])).toEqual([]);
      expect((await store.alarms.openSosAlarmIds()).sort()).toEqual([a.alertId, b.alertId].sort());
      const acks = await Promise.all([store.alarms.acknowledge(a.alertId, "alice", at(10)), (await harness.another()).alarms.acknowledge(a.alertId, "bob", at(11))]);
      expect(acks.filter((r) => r.result === "acknowledged")).toHaveLength(1);
      expect(await store.alarms.acknowledge(a.alertId, "carol", at(12))).toMatchObject({ result: "already-acknowledged" });
      await store.closeAlert(b.alertId, { outcome: "false-alarm", closedBy: "alice", now: at(20), commandId: "c-b", command: () => "{}" });
      expect(await store.alarms.acknowledge(b.alertId, "alice", at(21))).toEqual({ result: "closed" });
      expect(await store.alarms.acknowledge("unknown", "alice", at(21))).toEqual({ result: "unknown" });
      expect(await store.alarms.unacknowledged()).toEqual([]);
      expect(await store.alarms.unacknowledged([a.alertId])).toEqual([]);
      // Acknowledged and still open: among the open ids, not among the unacknowledged.
      expect(await store.alarms.openSosAlarmIds()).toEqual([a.alertId]);
      const steps = await store.alarms.steps(a.alertId);
      expect(steps.map((s) => [s.type, s.detail])).toEqual([["received", { health: "online" }], ["presses", { pressCount: 2 }], ["presses", { pressCount: 3 }], ["acknowledged", {}]]);
      const many = await store.alarms.stepsFor([a.alertId, c.alertId]);
      expect([...many.keys()]).toEqual([a.alertId, c.alertId]);
      expect(many.get(a.alertId)).toHaveLength(4);
      expect(many.get(c.alertId)).toEqual([]);
      expect((await store.alarms.stepsFor([])).size).toBe(0);
      expect((await store.alarms.alertsOfKiosk("k1", 10)).map((x) => x.alertId)).toEqual([b.alertId, a.alertId]);
      expect((await store.alarms.alertsOfKiosk("k1", 1)).map((x) => x.alertId)).toEqual([b.alertId]);
    });

    it("escalates only an open, unacknowledged alarm, queuing its events in order, claimed like any outbox", async () => {
      const store = await fresh();
      const other = await harness.another();
      const [a, b] = [newAlert("k1"), newAlert("k1")];
      await store.recordAlert(a, at(0), "{}");
      await store.recordAlert(b, at(0), "{}");
      const esc = (eventId: string, alertId: string, n: number, ms: number) => ({ eventId, alertId, number: n, at: iso(ms), body: `{"e":"${eventId}"}` });
      expect(await store.alarms.recordEscalation(esc("e-1", a.alertId, 1, 100))).toBe(true);
      expect(await store.alarms.recordEscalation(esc("e-2", a.alertId, 2, 200))).toBe(true);
      // The same escalation raised again (another gateway, the same id): not stored twice, no second step.
      expect(await other.alarms.recordEscalation(esc("e-2", a.alertId, 2, 210))).toBe(false);
      expect((await store.alarms.steps(a.alertId)).filter((s) => s.type === "escalated")).toHaveLength(2);
      expect((await store.alarms.unacknowledged())[0]).toMatchObject({ alertId: a.alertId, escalations: 2, lastEscalatedAt: iso(200) });
      await store.alarms.acknowledge(b.alertId, "alice", at(50));
      expect(await store.alarms.recordEscalation(esc("e-3", b.alertId, 1, 100))).toBe(false);
      await store.alarms.recordEscalationAttempt({ id: "e-1", attempt: 1, startedAt: iso(100), durationMs: 1, ok: false, httpStatus: 503, error: "HTTP 503" }, at(600));
      expect(await store.alarms.claimEscalations(at(300), 10, claimBy("one", 300))).toEqual([]); // #2 waits for #1
      expect(await store.alarms.nextEscalationAt({ owner: "one" })).toEqual(at(600));
      expect(await store.alarms.claimEscalations(at(600), 10, claimBy("one", 600))).toEqual([{ id: "e-1", body: '{"e":"e-1"}', attempts: 1 }]);
      expect(await other.alarms.claimEscalations(at(600), 10, claimBy("two", 600))).toEqual([]);
      await store.alarms.recordEscalationAttempt({ id: "e-1", attempt: 2, startedAt: iso(600), durationMs: 1, ok: true, httpStatus: 200, error: null }, null);
      expect(await ids(other.alarms.claimEscalations(at(600), 10, claimBy("two", 600)))).toEqual(["e-2"]);
      expect((await store.alarms.listEscalations(10)).map((r) => [r.eventId, r.attempts, r.deliveredAt])).toEqual([["e-2", 0, null], ["e-1", 2, iso(601)]]);
    });

    it("tells where an escalation stands without a lock: due, raised (by any gateway), ended once acknowledged or closed", async () => {
      const store = await fresh();
      const other = await harness.another();
      const [a, b] = [newAlert("k1"), newAlert("k1")];
      await store.recordAlert(a, at(0), "{}");
      await store.recordAlert(b, at(0), "{}");
      expect(await other.alarms.escalationState(a.alertId, "e-1")).toBe("due");
      await store.alarms.recordEscalation({ eventId: "e-1", alertId: a.alertId, number: 1, at: iso(100), body: "{}" });
      expect(await other.alarms.escalationState(a.alertId, "e-1")).toBe("raised");
      expect(await other.alarms.escalationState(a.alertId, "e-2")).toBe("due");
      await store.alarms.acknowledge(a.alertId, "alice", at(150));
      expect(await other.alarms.escalationState(a.alertId, "e-2")).toBe("ended");
      await store.closeAlert(b.alertId, { outcome: "false-alarm", closedBy: "alice", now: at(20), commandId: "c-b", command: () => "{}" });
      expect(await other.alarms.escalationState(b.alertId, "e-3")).toBe("ended");
      expect(await other.alarms.escalationState("unknown", "e-4")).toBe("ended");
    });

    it("sets and clears a kiosk's region", async () => {
      const store = await fresh();
      await registered(store, "k1");
      expect(await store.alarms.setRegion("k1", "north", at(5))).toBe(true);
      expect(await store.getKiosk("k1")).toMatchObject({ region: "north", updatedAt: iso(5) });
      expect(await store.alarms.setRegion("k1", null, at(6))).toBe(true);
      expect((await store.getKiosk("k1"))?.region).toBeUndefined();
      expect(await store.alarms.setRegion("nope", "x", at(6))).toBe(false);
    });
  });

  describe("security (store.security)", () => {
    const cert = (serial: string, kioskId: string, notAfter: string) => ({ serial, kioskId, fingerprint: `fp-${serial}`, notBefore: iso(0), notAfter });

    it("records certificates (with their install command in one step), revokes older ones, one, or a whole kiosk, and logs revocations", async () => {
      const store = await fresh();
      await registered(store, "k1");
      await store.security.recordCertificate(cert("a1", "k1", "2026-01-01T00:00:00.000Z"), at(0));
      await store.security.recordCertificate(cert("a2", "k1", "2027-01-01T00:00:00.000Z"), at(10), { commandId: "install-1", payload: '{"type":"install-certificate"}' });
      expect(await store.security.getCertificate("a1")).toEqual({ ...cert("a1", "k1", "2026-01-01T00:00:00.000Z"), issuedAt: iso(0), revokedAt: null });
      expect(await store.security.getCertificate("zz")).toBeUndefined();
      const many = await store.security.getCertificates(["a2", "zz", "a1", "a2"]);
      expect([...many].sort((x, y) => x.serial.localeCompare(y.serial))).toEqual([await store.security.getCertificate("a1"), await store.security.getCertificate("a2")]);
      expect(await store.security.getCertificates([])).toEqual([]);
      expect((await store.pendingCommands("k1")).map((c) => c.commandId)).toEqual(["install-1"]);
      expect(await store.security.revokeOlderCertificates("k1", "a2", at(20))).toBe(1);
      expect((await store.security.certificatesOf("k1")).map((c) => [c.serial, c.revokedAt])).toEqual([["a1", iso(20)], ["a2", null]]);
      expect(await store.security.revokeCertificate("k1", "a2", at(30))).toBe(true);
      expect(await store.security.revokeCertificate("k1", "a2", at(31))).toBe(false);
      await store.security.recordCertificate(cert("a3", "k1", "2027-01-01T00:00:00.000Z"), at(40));
      expect(await store.security.lastRevocationId()).toBe(0);
      expect(await store.security.revokeKiosk("k1", at(50))).toBe(1);
      expect(await store.security.revokeKiosk("nope", at(50))).toBeNull();
      expect((await store.getKiosk("k1"))?.secretHash).toBe("!revoked");
      const last = await store.security.lastRevocationId();
      expect(await store.security.revocationsSince(0)).toEqual([{ id: last, kioskId: "k1" }]);
      expect(await store.security.revocationsSince(last)).toEqual([]);
    });

    it("a kiosk registered again with a new secret (--force) is in the revocation log, so running gateways cut its old session; the same secret, or a first registration, is not", async () => {
      const store = await fresh();
      const kiosk = (secretHash: string) => ({ kioskId: "k-re", secretHash, name: null, location: { lat: 43, lon: 76, address: "km 1" } });
      expect(await store.putKiosk(kiosk("scrypt$old"), { replace: true, now: at(0) })).toBe(true);
      expect(await store.putKiosk(kiosk("scrypt$old"), { replace: true, now: at(1) })).toBe(true);
      expect(await store.security.revocationsSince(0)).toEqual([]);
      expect(await store.putKiosk(kiosk("scrypt$new"), { replace: false, now: at(2) })).toBe(false);
      expect(await store.security.revocationsSince(0)).toEqual([]);
      expect(await store.putKiosk(kiosk("scrypt$new"), { replace: true, now: at(3) })).toBe(true);
      expect(await store.security.revocationsSince(0)).toEqual([{ id: await store.security.lastRevocationId(), kioskId: "k-re" }]);
      expect((await store.getKiosk("k-re"))?.secretHash).toBe("scrypt$new");
    });

    it("uses an enrolment token once, all or nothing, and lists tokens", async () => {
      const store = await fresh();
      await registered(store, "kiosk-pw");
      await store.security.createTokens(["h1", "h2", "h3"], { site: "depot", expiresAt: at(1_000), now: T0 });
      expect(await store.security.tokenState("h1", at(999))).toBe("valid");
      expect(await store.security.tokenState("h1", at(1_000))).toBe("expired");
      expect(await store.security.tokenState("nope", T0)).toBe("unknown");
      let issued = 0;
      const enrolment = (tokenHash: string, kioskId: string): Enrolment => ({
        tokenHash, kioskId, name: "Km 5", location: { lat: 1, lon: 2, address: "a" }, now: at(10),
        issue: () => Promise.resolve({ serial: `s-${(issued += 1)}`, fingerprint: "fp", notBefore: iso(0), notAfter: "2027-01-01T00:00:00.000Z", pem: "PEM" }),
      });
      expect(await store.security.enrol(enrolment("h1", "kiosk-pw"))).toEqual({ outcome: "kiosk-registered" });
      const both = await Promise.all([store.security.enrol(enrolment("h1", "k-new")), (await harness.another()).security.enrol(enrolment("h1", "k-other"))]);
      expect(both.filter((r) => r.outcome === "enrolled")).toHaveLength(1);
      expect(both.filter((r) => r.outcome === "token-used")).toHaveLength(1);
      const winner = both.find((r) => r.outcome === "enrolled") as { serial: string };
      expect((await store.security.getCertificate(winner.serial))?.revokedAt).toBeNull();
      expect(await store.security.tokenState("h1", at(10))).toBe("used");
      const enrolledId = (await store.security.getCertificate(winner.serial))?.kioskId ?? "";
      expect(await store.getKiosk(enrolledId)).toMatchObject({ secretHash: "!none", name: "Km 5" });
      expect(await store.security.enrol(enrolment("h2", enrolledId))).toEqual({ outcome: "kiosk-has-certificate" });
      expect(await store.security.enrol({ ...enrolment("h2", "k-late"), now: at(2_000) })).toEqual({ outcome: "token-expired" });
      expect(await store.security.enrol(enrolment("h9", "k-x"))).toEqual({ outcome: "token-unknown" });
      const tokens = await store.security.listTokens();
      expect(tokens).toHaveLength(3);
      expect(tokens.filter((x) => x.usedBy !== null)).toEqual([{ site: "depot", createdAt: iso(0), expiresAt: iso(1_000), usedAt: iso(10), usedBy: enrolledId }]);
    });

    it("queues commands all or none, and finds certificates due for renewal without one under way", async () => {
      const store = await fresh();
      for (const id of ["k1", "k2", "k3", "k4"]) await store.putKiosk({ kioskId: id, secretHash: id === "k4" ? "scrypt$x" : "!none", name: null, location: { lat: 0, lon: 0, address: "" } }, { replace: false, now: T0 });
      await store.security.recordCertificate(cert("c1", "k1", "2026-02-01T00:00:00.000Z"), at(0));
      await store.security.recordCertificate(cert("c2", "k2", "2026-01-15T00:00:00.000Z"), at(0));
      await store.security.recordCertificate(cert("c3", "k3", "2030-01-01T00:00:00.000Z"), at(0));
      await store.security.recordCertificate(cert("c4", "k4", "2026-01-01T00:00:00.000Z"), at(0));
      const before = new Date("2026-03-01T00:00:00.000Z");
      expect((await store.security.renewalsDue(before)).map((r) => r.kioskId)).toEqual(["k2", "k1"]);
      await store.security.queueCommands([{ kioskId: "k2", commandId: "r-1", payload: '{"type":"renew-certificate"}' }], T0);
      await expect(store.security.queueCommands([{ kioskId: "k1", commandId: "r-2", payload: "{}" }, { kioskId: "k1", commandId: "r-1", payload: "{}" }], T0)).rejects.toThrow();
      expect(await store.security.getCommand("r-2")).toBeUndefined();
      expect(await store.security.renewalsDue(before)).toEqual([{ kioskId: "k1", serial: "c1", notAfter: "2026-02-01T00:00:00.000Z" }]);
      await store.health.setDecommissioned("k1", true, at(1));
      expect(await store.security.renewalsDue(before)).toEqual([]);
    });

    it("queues each kiosk's renewal once when two processes queue renewals together", async () => {
      const store = await fresh();
      const other = await harness.another();
      await registered(store, "k1", "k2", "k3");
      await store.security.queueCommand("k3", "i-3", '{"type":"install-certificate"}', T0);
      const renew = (prefix: string) => ["k1", "k2", "k3"].map((kioskId) => ({ kioskId, commandId: `${prefix}-${kioskId}`, payload: '{"type":"renew-certificate"}' }));
      const [one, two] = await Promise.all([store.security.queueRenewals(renew("one"), T0), other.security.queueRenewals(renew("two"), T0)]);
      expect([...one, ...two].sort()).toEqual(["k1", "k2"]);
      expect((await store.pendingCommands()).map((c) => c.kioskId).sort()).toEqual(["k1", "k2", "k3"]);
      expect(await store.security.queueRenewals([], T0)).toEqual([]);
    });
  });

  describe("operator sessions (store.sessions)", () => {
    it("stores sessions by their hashes and deletes them by id, by operator and by expiry", async () => {
      const store = await fresh();
      const s = (idHash: string, operator: string, expiresMs: number) => ({ idHash, tokenHash: `t-${idHash}`, operator, role: "admin" as const, clientId: `c-${idHash}`, createdAt: iso(expiresMs % 7), expiresAt: at(expiresMs).getTime() });
      for (const x of [s("a", "alice", 100), s("b", "alice", 200), s("c", "bob", 300), s("d", "bob", 50), s("e", "carol", 400)]) await store.sessions.put(x);
      expect(await store.sessions.deleteExpired(at(50))).toBe(1);
      expect(await store.sessions.delete(["a", "nope"])).toBe(1);
      expect(await store.sessions.delete([])).toBe(0);
      expect(await store.sessions.deleteOf("bob")).toBe(1);
      expect(await store.sessions.loadLive(at(200))).toEqual([s("e", "carol", 400)]);
      expect(current()).toBe(store);
    });
  });
}
