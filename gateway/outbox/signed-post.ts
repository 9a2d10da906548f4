/**
 * One signed HTTP POST, as every outbound webhook sends it (dispatch, operations): the body signed
 * with HMAC-SHA256 in X-Sos-Signature, an Idempotency-Key the receiver dedupes by, and the attempt
 * number in X-Sos-Attempt. Any 2xx is delivered; anything else (a redirect too: never followed) is
 * retried by the caller.
 */
import { DISPATCH_HEADERS } from "../../shared/dispatch.js";
import { stripUrlUserinfo } from "../../shared/config/webhook-url.js";
import { signBody } from "../../shared/signature.js";

export interface SendResult {
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
}

export interface WebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly userAgent: string;
  /** The option that sets `url`, named in the error for a redirect ("--dispatch-url"). */
  readonly urlOption?: string;
}

/**
 * The error of a failed attempt, as it is logged, stored (`sos alerts`), shown on /readyz and the
 * console and sent to operations: any user info of a URL it quotes is cut out (fetch quotes the URL).
 */
function describeFetchError(err: unknown, timeoutMs: number): string {
  return stripUrlUserinfo(fetchErrorText(err, timeoutMs));
}

function fetchErrorText(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
    if (err.name === "AbortError") return "aborted: gateway shutting down";
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return cause.code;
    return cause?.message ?? err.message;
  }
  return String(err);
}

/**
 * At most this much of an answer's body is read, and nothing of it is used: a short body is read to
 * its end only so that the connection can be reused; past this the rest is cancelled (the connection
 * is closed), so a receiver streaming an endless body costs 64 KiB, not the memory it sends.
 */
export const MAX_DRAINED_BODY_BYTES = 64 * 1024;

/**
 * Reads and drops `res`'s body in the background, up to MAX_DRAINED_BODY_BYTES and `timeoutMs`,
 * then cancels what is left: the attempt's result does not wait for it. Never throws.
 */
function discardBody(res: Response, timeoutMs: number, signal: AbortSignal): void {
  const body = res.body;
  if (body === null) return;
  const reader: ReadableStreamDefaultReader<Uint8Array> = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  const timer = setTimeout(cancel, timeoutMs);
  signal.addEventListener("abort", cancel, { once: true });
  const drain = async (): Promise<void> => {
    for (let read = 0; read <= MAX_DRAINED_BODY_BYTES; ) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  };
  void drain()
    .catch(() => undefined)
    .finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", cancel);
    });
}

class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}

export class SignedWebhook {
  constructor(private readonly options: WebhookOptions) {}

  /** POSTs `body` once; `signal` aborts it (gateway shutdown). Never throws. */
  async post(idempotencyKey: string, body: string, attempt: number, signal: AbortSignal): Promise<SendResult> {
    const { url, secret, timeoutMs, userAgent } = this.options;
    // Our own timer, not AbortSignal.any([.., AbortSignal.timeout()]): on Node 20 the timeout signal
    // inside any() can be garbage-collected before it fires, leaving a hung request with no timeout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutMs)), timeoutMs);
    const onShutdown = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", onShutdown, { once: true });
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": userAgent,
          [DISPATCH_HEADERS.idempotencyKey]: idempotencyKey,
          [DISPATCH_HEADERS.signature]: signBody(body, secret),
          [DISPATCH_HEADERS.attempt]: String(attempt),
        },
        body,
        signal: controller.signal,
        // Never follow: fetch would re-send a 301/302/303 as a GET without the body, and a 2xx from
        // there would mark a job "delivered" that the receiver never saw.
        redirect: "manual",
      });
      // The status is the answer: the body (unused) is drained or cut in the background, so a slow
      // or endless one neither holds this attempt's slot nor fills the gateway's memory.
      discardBody(res, timeoutMs, signal);
      const ok = res.status >= 200 && res.status < 300;
      if (res.status >= 300 && res.status < 400) {
        return { ok: false, httpStatus: res.status, error: `HTTP ${res.status} redirect: point ${this.options.urlOption ?? "the URL"} at the final address` };
      }
      return { ok, httpStatus: res.status, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      return { ok: false, httpStatus: null, error: describeFetchError(reason, timeoutMs) };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onShutdown);
    }
  }
}
