/**
 * The SMS receiver for an SMS gateway service (a provider's inbound webhook): POST the message as
 * JSON {"from": "+7701…", "text": "SOS1 …"} with X-Sos-Signature: sha256=<HMAC-SHA256 of the raw
 * body under sms.hook.secret>. The answer carries the acknowledgement for the service to send:
 * {"status":"ok","data":{"outcome":"accepted","replies":[{"to":"+7701…","text":"SOSACK1 …"}]}}.
 * An unsigned or wrongly signed request is refused (401) before anything is read from it.
 */
import { z } from "zod";
import { verifySignature } from "../../shared/signature.js";
import { HttpError, type RouteGroup, requireMethod, sendOk } from "../http/respond.js";
import type { SmsIntake } from "./intake.js";

const MAX_BODY = 4_096;
const bodySchema = z.object({ from: z.string().min(1).max(32), text: z.string().max(1_600) });

async function readRaw(req: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, "BODY_TOO_LARGE", `the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function smsHookRoutes(intake: SmsIntake, options: { path: string; secret: string }): RouteGroup {
  return async (ctx) => {
    if (ctx.path !== options.path) return false;
    requireMethod(ctx, "POST");
    const raw = await readRaw(ctx.req as AsyncIterable<Buffer>);
    const signature = ctx.req.headers["x-sos-signature"];
    if (!verifySignature(raw, options.secret, typeof signature === "string" ? signature : undefined)) {
      throw new HttpError(401, "SIGNATURE_INVALID", "sign the body: X-Sos-Signature: sha256=<HMAC-SHA256 of the body under sms.hook.secret>");
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new HttpError(400, "BODY_NOT_JSON", "the body is not JSON");
    }
    const parsed = bodySchema.safeParse(json);
    if (!parsed.success) throw new HttpError(400, "BODY_INVALID", 'send {"from": "<number>", "text": "<message>"}');
    const replies: { to: string; text: string }[] = [];
    const result = await intake.handle({ from: parsed.data.from, text: parsed.data.text, via: "hook" }, (to, text) => {
      replies.push({ to, text });
      return Promise.resolve();
    });
    sendOk(ctx.res, { ...result, replies });
    return true;
  };
}
