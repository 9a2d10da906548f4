/** Sends one dispatch job as a signed HTTP POST. Any 2xx is delivered; anything else is retried. */
import { DISPATCH_HEADERS } from "../../shared/dispatch.js";
import { signBody } from "../../shared/signature.js";
import type { DispatchJob } from "../store/store.js";

export interface SendResult {
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
}

export interface DispatchSender {
  send(job: DispatchJob, attempt: number, signal: AbortSignal): Promise<SendResult>;
}

export interface WebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly userAgent: string;
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
    if (err.name === "AbortError") return "aborted: gateway shutting down";
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return cause.code;
    return cause?.message ?? err.message;
  }
  return String(err);
}

export class WebhookSender implements DispatchSender {
  constructor(private readonly options: WebhookOptions) {}

  async send(job: DispatchJob, attempt: number, signal: AbortSignal): Promise<SendResult> {
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
          [DISPATCH_HEADERS.idempotencyKey]: job.alertId,
          [DISPATCH_HEADERS.signature]: signBody(job.body, secret),
          [DISPATCH_HEADERS.attempt]: String(attempt),
        },
        body: job.body,
        signal: controller.signal,
        // Never follow: fetch would re-send a 301/302/303 as a GET without the body, and a 2xx from
        // there would mark an alert "delivered" that dispatch never saw.
        redirect: "manual",
      });
      await res.arrayBuffer().catch(() => undefined); // drain, so the connection can be reused
      const ok = res.status >= 200 && res.status < 300;
      if (res.status >= 300 && res.status < 400) {
        return { ok: false, httpStatus: res.status, error: `HTTP ${res.status} redirect: point --dispatch-url at the final address` };
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

class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}
