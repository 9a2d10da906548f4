/**
 * The console's alarm API over real HTTP against a real gateway and kiosk agent: every lifecycle
 * step is stored with time and who; acknowledge and close need a session (401 without); closing
 * from the console tells the kiosk (its yellow light goes off); an unacknowledged alarm is escalated
 * to the signed escalation webhook, and acknowledging stops it; the event stream pushes each step.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAlarm } from "../../../gateway/alerts/close.js";
import { systemClock } from "../../../shared/clock.js";
import { type EscalationEvent, escalationEventSchema } from "../../../shared/escalation.js";
import { verifySignature } from "../../../shared/signature.js";
import { DispatchReceiver } from "../../fixtures/dispatch-receiver.js";
import { WebhookReceiver } from "../../fixtures/webhook-receiver.js";
import { DISPATCH_SECRET, onStore, provisionTestKiosk, spawnSos, startTestGateway, startTestKiosk, storeArgs, tempDir, waitFor, type TestGateway, type TestKiosk, type TestStore } from "../harness.js";
import { addTestOperator, httpBase, login, OPERATOR_PASSWORD } from "../operator-harness.js";

const ESCALATION_SECRET = "test-escalation-secret-0123456789";

interface Env {
  gateway: TestGateway;
  kiosk: TestKiosk;
  escalations: WebhookReceiver<EscalationEvent>;
  cookie: string;
}

function post(port: number, path: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${httpBase(port)}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie === undefined ? {} : { cookie }) },
    body: JSON.stringify(body),
  });
}

async function json(res: Response): Promise<{ status: string; data: Record<string, unknown>; error?: { code: string } }> {
  return (await res.json()) as { status: string; data: Record<string, unknown>; error?: { code: string } };
}

/** The alarm lifecycle at the console (acknowledge, escalate, close, the fleet), on the store given. */
export function consoleAlarmLifecycleOverHttp(store: TestStore): void {
  describe(`console alarm lifecycle over HTTP (${store.name})`, () => {
    const cleanups: (() => Promise<unknown> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    });

    async function setup(escalateAfterMs = 60_000): Promise<Env> {
      const dir = tempDir();
      cleanups.push(() => dir.remove());
      const receiver = await new DispatchReceiver().start();
      cleanups.push(() => receiver.stop());
      const escalations = await new WebhookReceiver((j) => escalationEventSchema.parse(j), "/escalate").start();
      cleanups.push(() => escalations.stop());
      const gateway = await startTestGateway(`${dir.path}/gw`, {
        ...onStore(store),
        dispatch: { url: receiver.url, secret: DISPATCH_SECRET },
        commands: { pollMs: 100, resendMs: 1_000 },
        alarms: { escalateAfterMs, escalationRepeatMs: 300 },
        escalation: { url: escalations.url, secret: ESCALATION_SECRET },
      });
      cleanups.push(() => gateway.stop());
      const config = await provisionTestKiosk(gateway, "kz-con-0001", gateway.mqttUrl, dir.path);
      const kiosk = await startTestKiosk(config);
      cleanups.push(() => kiosk.stop());
      await addTestOperator(gateway, "alice");
      const { cookie } = await login(gateway.httpPort, "alice", OPERATOR_PASSWORD);
      if (cookie === undefined) throw new Error("no session cookie");
      return { gateway, kiosk, escalations, cookie };
    }

    async function raise(env: Env): Promise<string> {
      env.kiosk.button.press();
      const known = env.kiosk.logs.find("alert recorded").length;
      const raised = (await waitFor(() => env.kiosk.logs.find("alert recorded").length > known && env.kiosk.logs.find("alert recorded"), "alert recorded")).at(-1);
      const alertId = String(raised?.alertId);
      await waitFor(async () => (await env.gateway.store.getAlert(alertId))?.delivery === "delivered", "delivered to dispatch");
      return alertId;
    }

    it("without a session every console route answers 401, and nothing changes", async () => {
      const env = await setup();
      const alertId = await raise(env);
      const port = env.gateway.httpPort;
      for (const path of ["/api/alarm-queue", `/api/alarms/${alertId}`, "/api/fleet", "/api/kiosks/kz-con-0001", "/api/events"]) {
        const res = await fetch(`${httpBase(port)}${path}`);
        expect(res.status, path).toBe(401);
        expect((await json(res)).error?.code, path).toBe("NOT_LOGGED_IN");
      }
      expect((await post(port, `/api/alarms/${alertId}/acknowledge`, {})).status).toBe(401);
      expect((await post(port, `/api/alarms/${alertId}/close`, { outcome: "prank" })).status).toBe(401);
      expect((await post(port, `/api/alarms/${alertId}/close`, { outcome: "prank" }, "sos_session=forged")).status).toBe(401);
      const row = await env.gateway.store.getAlert(alertId);
      expect(row?.closedAt).toBeNull();
      expect((await env.gateway.store.alarms.steps(alertId)).map((s) => s.type)).not.toContain("acknowledged");
    });

    it("stores pressed, received (with the kiosk's health), delivered, acknowledged and closed with who and when; closing tells the kiosk", async () => {
      const env = await setup();
      const port = env.gateway.httpPort;
      const alertId = await raise(env);
      expect(env.kiosk.indicator.current).toEqual({ yellow: "on", green: "off" });

      const queue = await json(await fetch(`${httpBase(port)}/api/alarm-queue`, { headers: { cookie: env.cookie } }));
      const alarms = queue.data.alarms as { alertId: string; status: string; health: { state: string } | null }[];
      expect(alarms.map((a) => a.alertId)).toEqual([alertId]);
      expect(alarms[0]?.status).toBe("delivered");
      expect(alarms[0]?.health?.state).toBe("online");

      const ack = await post(port, `/api/alarms/${alertId}/acknowledge`, {}, env.cookie);
      expect(ack.status).toBe(200);
      expect((await json(ack)).data).toMatchObject({ acknowledged: true, by: "alice" });
      // A second acknowledgement does not replace the first.
      expect((await json(await post(port, `/api/alarms/${alertId}/acknowledge`, {}, env.cookie))).data).toMatchObject({ acknowledged: false, by: "alice" });

      const bad = await post(port, `/api/alarms/${alertId}/close`, { outcome: "solved it" }, env.cookie);
      expect(bad.status).toBe(400);
      expect((await json(bad)).error?.code).toBe("BODY_INVALID");

      const closed = await post(port, `/api/alarms/${alertId}/close`, { outcome: "false-alarm", note: "child playing" }, env.cookie);
      expect(closed.status).toBe(200);
      await waitFor(() => env.kiosk.alarm.openAlarm === null, "the kiosk's alarm closed");
      expect(env.kiosk.indicator.current).toEqual({ yellow: "off", green: "off" });
      expect((await post(port, `/api/alarms/${alertId}/close`, { outcome: "prank" }, env.cookie)).status).toBe(409);
      expect((await post(port, `/api/alarms/${alertId}/acknowledge`, {}, env.cookie)).status).toBe(200); // already acknowledged: reported, not refused

      const view = await json(await fetch(`${httpBase(port)}/api/alarms/${alertId}`, { headers: { cookie: env.cookie } }));
      const steps = view.data.steps as { type: string; actor: string | null; at: string; detail: Record<string, unknown> }[];
      expect(steps.map((s) => s.type)).toEqual(["pressed", "received", "delivered", "acknowledged", "closed"]);
      expect(steps.map((s) => s.actor)).toEqual(["kiosk", "gateway", "dispatch", "alice", "alice"]);
      expect(steps[4]?.detail).toEqual({ outcome: "false-alarm: child playing" });
      const times = steps.map((s) => Date.parse(s.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(view.data).toMatchObject({ status: "closed", outcome: "false-alarm: child playing", closedBy: "alice", acknowledgedBy: "alice" });
      expect((await json(await fetch(`${httpBase(port)}/api/alarm-queue`, { headers: { cookie: env.cookie } }))).data.alarms).toEqual([]);
    });

    it("an alarm nobody acknowledges is escalated to the signed escalation webhook, again at the interval, and no more once acknowledged", async () => {
      const env = await setup(400);
      const alertId = await raise(env);
      await waitFor(() => env.escalations.requests.length >= 2, "two escalations", 10_000);
      const first = env.escalations.requests[0]!;
      expect(verifySignature(first.raw, ESCALATION_SECRET, String(first.headers["x-sos-signature"]))).toBe(true);
      expect(first.body).toMatchObject({ alertId, kioskId: "kz-con-0001", escalation: 1 });
      expect(first.body.unacknowledgedForS).toBeGreaterThanOrEqual(0.4);
      expect(env.escalations.requests[1]?.body.escalation).toBe(2);

      expect((await post(env.gateway.httpPort, `/api/alarms/${alertId}/acknowledge`, {}, env.cookie)).status).toBe(200);
      const after = env.escalations.requests.length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(env.escalations.requests.length).toBeLessThanOrEqual(after + 1); // one may have been in flight
      const steps = await env.gateway.store.alarms.steps(alertId);
      const escalated = steps.filter((s) => s.type === "escalated").length;
      expect(escalated).toBeGreaterThanOrEqual(2);
      expect(steps.findIndex((s) => s.type === "acknowledged")).toBeGreaterThan(steps.findLastIndex((s) => s.type === "escalated"));
    });

    it("the event stream pushes the alarm at each step to a logged-in page", async () => {
      const env = await setup();
      const controller = new AbortController();
      cleanups.push(() => controller.abort());
      const res = await fetch(`${httpBase(env.gateway.httpPort)}/api/events`, { headers: { cookie: env.cookie }, signal: controller.signal });
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      let text = "";
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
      })().catch(() => undefined);
      const alertId = await raise(env);
      await waitFor(() => text.includes(`"status":"delivered"`) && text.includes(alertId), "the delivered alarm on the stream");
      await post(env.gateway.httpPort, `/api/alarms/${alertId}/acknowledge`, {}, env.cookie);
      await waitFor(() => text.includes(`"acknowledgedBy":"alice"`), "the acknowledgement on the stream");
      expect(text).toMatch(/event: alarm\ndata: \{/);
      // Closed by another process (the CLI's path, which emits nothing here): pushed once the kiosk confirms.
      const { result } = await closeAlarm(env.gateway.store, { alertId, outcome: "help sent", closedBy: "cli" }, systemClock);
      expect(result).toBe("closed");
      await waitFor(() => text.includes(`"status":"closed"`) && text.includes(`"closedBy":"cli"`), "the close on the stream", 10_000);
      controller.abort();
      await reading;
    });

    it("the fleet lists every kiosk with its state and the region given to `sos provision --region`; an empty region is refused in one line", async () => {
      const env = await setup();
      const provision = (region: string) =>
        spawnSos(["provision", "kz-con-0002", ...storeArgs(env.gateway), "--gateway", env.gateway.mqttUrl, "--out", `${env.gateway.dataDir}/../b2`, "--lat", "43.3", "--lon", "76.9", "--address", "Bus stop", "--region", region, "--force"]);
      const bad = provision(" ");
      expect((await bad.exited).code).toBe(1);
      expect(bad.stderr.join("\n")).toMatch(/^.*--region must be 1-100 characters.*$/m);
      expect((await provision("Almaty North").exited).code).toBe(0);
      const fleet = await waitFor(async () => {
        const body = await json(await fetch(`${httpBase(env.gateway.httpPort)}/api/fleet`, { headers: { cookie: env.cookie } }));
        const kiosks = body.data.kiosks as { kioskId: string; state: string; region: string | null; location: { lat: number } | null }[];
        return kiosks.length === 2 ? kiosks : undefined;
      }, "both kiosks in the fleet");
      expect(fleet.map((k) => [k.kioskId, k.state, k.region])).toEqual([
        ["kz-con-0001", "online", null],
        ["kz-con-0002", "never-seen", "Almaty North"],
      ]);
      expect(fleet[1]?.location?.lat).toBe(43.3);
    });

    it("after a gateway restart, an open unacknowledged alarm is escalated again on its timer", async () => {
      const env = await setup(60_000);
      const alertId = await raise(env);
      await env.kiosk.stop();
      await env.gateway.stop();
      // The same store, now with a short timeout: the alarm is long overdue and escalates at start.
      const again = await startTestGateway(env.gateway.dataDir, {
        store: { url: env.gateway.storeUrl },
        alarms: { escalateAfterMs: 300, escalationRepeatMs: 60_000 },
        escalation: { url: env.escalations.url, secret: ESCALATION_SECRET },
      });
      cleanups.push(() => again.stop());
      const request = await waitFor(() => env.escalations.requests.find((r) => r.body.alertId === alertId), "escalation after the restart", 10_000);
      expect(request.body.escalation).toBe(1);
      expect(again.alarms.escalation.pending).toBe(1);
      expect(again.logs.find("alarm console started")[0]).toMatchObject({ unacknowledged: 1 });
    });
  });
}
