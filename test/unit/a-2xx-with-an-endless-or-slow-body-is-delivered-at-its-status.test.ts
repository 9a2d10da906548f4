/**
 * A receiver answering 200 and then streaming its body without end (or trickling it) has received the
 * alert: the attempt is delivered as soon as the status is known, its slot is free at once, and the
 * gateway reads at most a little of the body before cutting the connection, instead of buffering
 * everything the receiver sends until the attempt's timeout.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_DRAINED_BODY_BYTES, SignedWebhook } from "../../gateway/outbox/signed-post.js";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";

const SECRET = "test-dispatch-secret-0123456789";
const ALERT_ID = "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d";
const BODY = JSON.stringify({
  schema: "sos.dispatch.alert/v1",
  alertId: ALERT_ID,
  incidentTrackingIdentifier: `urn:emergency:uid:incidentid:${ALERT_ID}:sos.gateway`,
  kioskId: "kz-ala-0001",
  kioskName: "Abay Ave, park entrance",
  kind: "sos",
  test: false,
  pressedAt: "2026-11-25T03:44:01.754Z",
  receivedAt: "2026-11-25T03:44:01.757Z",
  location: { lat: 43.2389, lon: 76.8897, address: "Almaty, Abay Avenue", source: "registry" },
});
const TIMEOUT_MS = 5_000;

/** What the receiver's body writer did: bytes written, and when the gateway's side closed the response. */
interface Stream {
  sent: number;
  closedAt: number | null;
}

/** Writes `chunk` again and again, as fast as the gateway reads, until the connection closes. */
function endless(stream: Stream, chunk: Buffer): (res: ServerResponse) => void {
  return (res) => {
    res.on("close", () => (stream.closedAt = Date.now()));
    const pump = (): void => {
      while (!res.destroyed) {
        stream.sent += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
    };
    pump();
  };
}

/** One byte every 50 ms, never ending, until the connection closes. */
function trickle(stream: Stream): (res: ServerResponse) => void {
  return (res) => {
    const timer = setInterval(() => {
      stream.sent += 1;
      res.write(" ");
    }, 50);
    res.on("close", () => {
      clearInterval(timer);
      stream.closedAt = Date.now();
    });
  };
}

async function until(check: () => boolean, withinMs: number): Promise<void> {
  const end = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${withinMs} ms`);
    await sleep(20);
  }
}

describe("a 2xx answer is delivered at its status, whatever its body does", () => {
  let receiver: DispatchReceiver;
  const webhook = (): SignedWebhook => new SignedWebhook({ url: receiver.url, secret: SECRET, timeoutMs: TIMEOUT_MS, userAgent: "sos-gateway/test", urlOption: "--dispatch-url" });

  beforeEach(async () => {
    receiver = await new DispatchReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  it("200 then an endless body: delivered at once, and the body cut after a little of it", { timeout: 20_000 }, async () => {
    const stream: Stream = { sent: 0, closedAt: null };
    receiver.writeBody = endless(stream, Buffer.alloc(64 * 1024, 0x20));
    const started = Date.now();
    const result = await webhook().post(ALERT_ID, BODY, 1, new AbortController().signal);
    const tookMs = Date.now() - started;
    expect(result).toEqual({ ok: true, httpStatus: 200, error: null });
    expect(tookMs).toBeLessThan(TIMEOUT_MS / 5);
    // The gateway stops reading after MAX_DRAINED_BODY_BYTES and closes the connection, well before
    // the timeout; until then the receiver could only fill the socket buffers (a few MB on loopback),
    // where reading it all would take hundreds of MB per second.
    await until(() => stream.closedAt !== null, TIMEOUT_MS / 2);
    expect(stream.closedAt! - started).toBeLessThan(TIMEOUT_MS / 2);
    expect(stream.sent).toBeLessThan(64 * 1024 * 1024);
    expect(MAX_DRAINED_BODY_BYTES).toBeLessThanOrEqual(64 * 1024);
  });

  it("200 then a body trickling a byte at a time: delivered at once, the body cut by the timeout", { timeout: 20_000 }, async () => {
    const stream: Stream = { sent: 0, closedAt: null };
    receiver.writeBody = trickle(stream);
    const started = Date.now();
    const result = await webhook().post(ALERT_ID, BODY, 1, new AbortController().signal);
    expect(result).toEqual({ ok: true, httpStatus: 200, error: null });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 5);
    expect(stream.closedAt).toBeNull(); // the body still trickles: nobody waited for it
    await until(() => stream.closedAt !== null, TIMEOUT_MS + 2_000);
  });
});
