import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { deferCleanups } from "./cleanups.js";
import { verifySignature } from "../../shared/signature.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import {
  DISPATCH_SECRET,
  freePort,
  provisionTestKiosk,
  startTestGateway,
  startTestKiosk,
  tempDir,
  waitFor,
  type TestGateway,
} from "./harness.js";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";

const KIOSK = "kz-hwy-0700";

describe("a dispatch outage is retried until the alert is delivered", () => {
  const defer = deferCleanups();

  /** A gateway dispatching to `url`, and one press of a real kiosk; returns the alert's id once it is stored. */
  async function pressOnce(url: string, dispatch: Partial<NonNullable<GatewayConfigInput["dispatch"]>> = {}): Promise<{ gateway: TestGateway; alertId: string }> {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { dispatch: { url, secret: DISPATCH_SECRET, ...dispatch } });
    defer(() => gateway.stop());
    const config = await provisionTestKiosk(gateway.dataDir, KIOSK, gateway.mqttUrl, dir.path);
    const kiosk = await startTestKiosk(config);
    defer(() => kiosk.stop());
    await waitFor(() => kiosk.logs.find("connected to gateway").length > 0, "kiosk connected");
    kiosk.button.press();
    const stored = await waitFor(() => gateway.logs.find("alert stored")[0], "alert stored");
    // The gateway acknowledges once the alert is stored, however dispatch is doing.
    await waitFor(() => kiosk.outbox.depth === 0, "kiosk's outbox emptied by the ack");
    return { gateway, alertId: stored.alertId as string };
  }

  async function delivered(gateway: TestGateway, alertId: string): Promise<void> {
    await waitFor(async () => (await gateway.store.getAlert(alertId))?.delivery === "delivered", "alert marked delivered");
  }

  it("retries through 503s with the same key, body and signature, counting attempts", async () => {
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    receiver.respond = (n) => (n <= 3 ? 503 : 200);
    const { gateway, alertId } = await pressOnce(receiver.url);

    await delivered(gateway, alertId);
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    const attempts = await gateway.store.attemptsFor(alertId);
    expect(attempts.map((a) => ({ attempt: a.attempt, ok: a.ok, httpStatus: a.httpStatus, error: a.error }))).toEqual([
      { attempt: 1, ok: false, httpStatus: 503, error: "HTTP 503" },
      { attempt: 2, ok: false, httpStatus: 503, error: "HTTP 503" },
      { attempt: 3, ok: false, httpStatus: 503, error: "HTTP 503" },
      { attempt: 4, ok: true, httpStatus: 200, error: null },
    ]);
    expect(await gateway.store.getAlert(alertId)).toMatchObject({ attempts: 4, lastError: null, nextAttemptAt: null });

    const [firstRequest] = receiver.requests;
    expect(firstRequest).toBeDefined();
    for (const [i, r] of receiver.requests.entries()) {
      expect(r.headers["idempotency-key"]).toBe(alertId);
      expect(r.headers["x-sos-attempt"]).toBe(String(i + 1));
      expect(r.raw).toBe(firstRequest?.raw);
      expect(r.headers["x-sos-signature"]).toBe(firstRequest?.headers["x-sos-signature"]);
      expect(verifySignature(r.raw, DISPATCH_SECRET, r.headers["x-sos-signature"] as string)).toBe(true);
    }
    // Backed off between attempts (retry minMs 50, doubling): not hammered back to back.
    const gaps = receiver.requests.slice(1).map((r, i) => r.at - (receiver.requests[i]?.at ?? 0));
    expect(gaps.every((g) => g >= 40)).toBe(true);
    // Delivered: nothing more is scheduled, so no further request will come.
    expect(await gateway.store.nextDispatchAt({ owner: "test", busy: new Set() })).toBeNull();
    expect(gateway.logs.find("alert delivered to dispatch", (l) => l.alertId === alertId)).toEqual([expect.objectContaining({ attempt: 4, httpStatus: 200 })]);
  });

  it("never follows a redirect: a 301 is a failed attempt that says where to point --dispatch-url", async () => {
    const receiver = await new DispatchReceiver().start();
    defer(() => receiver.stop());
    // The first two answers redirect elsewhere (fetch would re-send them as body-less GETs).
    receiver.respond = (n) => (n <= 2 ? 301 : 200);
    const { gateway, alertId } = await pressOnce(receiver.url);
    await delivered(gateway, alertId);
    const attempts = await gateway.store.attemptsFor(alertId);
    expect(attempts.map((a) => [a.ok, a.httpStatus])).toEqual([
      [false, 301],
      [false, 301],
      [true, 200],
    ]);
    expect(attempts[0]?.error).toMatch(/redirect: point --dispatch-url at the final address/);
    // Every request was the signed POST with its body; none became a GET.
    expect(receiver.requests.every((r) => r.body.alertId === alertId)).toBe(true);
  });

  it("keeps retrying while nothing listens at the dispatch URL, and delivers once a receiver starts there", async () => {
    const port = await freePort();
    const receiver = new DispatchReceiver();
    defer(() => receiver.stop());
    const { gateway, alertId } = await pressOnce(`http://127.0.0.1:${port}/incidents`);

    const failed = await waitFor(async () => {
      const attempts = await gateway.store.attemptsFor(alertId);
      return attempts.length >= 2 ? attempts : undefined;
    }, "two failed attempts");
    expect(failed.every((a) => !a.ok && a.httpStatus === null && a.error === "ECONNREFUSED")).toBe(true);
    expect((await gateway.store.getAlert(alertId))?.delivery).toBe("pending");
    expect(gateway.logs.find("dispatch attempt failed: will retry", (l) => l.alertId === alertId && l.error === "ECONNREFUSED").length).toBeGreaterThan(0);

    await receiver.start(port);
    await delivered(gateway, alertId);
    expect(receiver.requests).toHaveLength(1);
    const attempts = await gateway.store.attemptsFor(alertId);
    const last = attempts.at(-1);
    expect(last).toMatchObject({ ok: true, httpStatus: 200, error: null });
    expect(attempts.slice(0, -1).every((a) => !a.ok && a.error === "ECONNREFUSED")).toBe(true);
    expect(receiver.requests[0]?.headers["x-sos-attempt"]).toBe(String(attempts.length));
    expect(receiver.requests[0]?.headers["idempotency-key"]).toBe(alertId);
  });

  it("says when dispatch is unreachable (log, /readyz, metric) and delivers the backlog at its first answer", async () => {
    const port = await freePort();
    const receiver = new DispatchReceiver();
    defer(() => receiver.stop());
    const { gateway, alertId } = await pressOnce(`http://127.0.0.1:${port}/incidents`, { unreachableAfterMs: 300, circuit: { probeMinMs: 50, probeMaxMs: 200, jitter: 0 } });
    const readyz = async (): Promise<{ status: number; dispatch: string; metric: string }> => {
      const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`);
      const body = (await res.json()) as { data: { dispatch: string } };
      const metric = (await gateway.metrics.render()).body.split("\n").find((l) => l.startsWith("sos_dispatch_unreachable ")) ?? "";
      return { status: res.status, dispatch: body.data.dispatch, metric };
    };

    await waitFor(() => gateway.logs.find("dispatch unreachable: alerts are kept and sent once it answers").length > 0, "dispatch reported unreachable");
    const down = await readyz();
    // The gateway still stores and acknowledges: it stays ready, and says dispatch is unreachable.
    expect(down.status).toBe(200);
    expect(down.dispatch).toMatch(/^unreachable since \S+: ECONNREFUSED$/);
    expect(down.metric).toBe("sos_dispatch_unreachable 1");

    await receiver.start(port);
    await delivered(gateway, alertId);
    await waitFor(() => gateway.logs.find("dispatch reachable again").length > 0, "dispatch reported reachable again");
    const up = await readyz();
    expect(up).toEqual({ status: 200, dispatch: "ok", metric: "sos_dispatch_unreachable 0" });
    expect(gateway.logs.find("dispatch unreachable: alerts are kept and sent once it answers")).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
  });

  it("gives up on an attempt that gets no answer within timeoutMs, says so, and retries", async () => {
    // A real receiver that accepts the request and never answers the first two.
    const hanging: ServerResponse[] = [];
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        seen.push(req.headers);
        if (seen.length <= 2) hanging.push(res);
        else res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    defer(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/incidents`;

    const timeoutMs = 300;
    const { gateway, alertId } = await pressOnce(url, { timeoutMs });
    await delivered(gateway, alertId);

    const attempts = await gateway.store.attemptsFor(alertId);
    expect(attempts.map((a) => ({ ok: a.ok, httpStatus: a.httpStatus, error: a.error }))).toEqual([
      { ok: false, httpStatus: null, error: `no answer within ${timeoutMs} ms` },
      { ok: false, httpStatus: null, error: `no answer within ${timeoutMs} ms` },
      { ok: true, httpStatus: 200, error: null },
    ]);
    // Each timed-out attempt waited for the timeout, not much longer.
    for (const a of attempts.slice(0, 2)) {
      expect(a.durationMs).toBeGreaterThanOrEqual(timeoutMs - 20);
      expect(a.durationMs).toBeLessThan(timeoutMs + 1_500);
    }
    expect(seen.map((h) => h["x-sos-attempt"])).toEqual(["1", "2", "3"]);
    expect(seen.every((h) => h["idempotency-key"] === alertId)).toBe(true);
  });
});
