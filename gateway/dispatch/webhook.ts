/** Sends one dispatch job as a signed HTTP POST keyed by its alertId (outbox/signed-post.ts). */
import { type SendResult, SignedWebhook, type WebhookOptions } from "../outbox/signed-post.js";
import type { DispatchJob } from "../store/store.js";

export type { SendResult, WebhookOptions } from "../outbox/signed-post.js";

export interface DispatchSender {
  send(job: DispatchJob, attempt: number, signal: AbortSignal): Promise<SendResult>;
}

export class WebhookSender implements DispatchSender {
  private readonly webhook: SignedWebhook;

  constructor(options: WebhookOptions) {
    this.webhook = new SignedWebhook({ urlOption: "--dispatch-url", ...options });
  }

  send(job: DispatchJob, attempt: number, signal: AbortSignal): Promise<SendResult> {
    return this.webhook.post(job.alertId, job.body, attempt, signal);
  }
}
