/** Small helpers shared by the HTTP route groups: JSON replies, bodies with a size limit, cookies. */
import type { IncomingMessage, ServerResponse } from "node:http";

/** One request as the route groups see it. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The client's address: the peer's, or behind a trusted proxy the forwarded one (client-address.ts). */
  readonly address: string;
  /** Forwarding headers from a peer not trusted to set them: the request is not local, whatever its peer. */
  readonly forwardedUntrusted: boolean;
}

/** A route group answers the requests it knows and returns false for the rest. */
export type RouteGroup = (ctx: RequestContext) => boolean | Promise<boolean>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
  res.end(JSON.stringify(body));
}

export function sendOk(res: ServerResponse, data: unknown, headers: Record<string, string | string[]> = {}): void {
  sendJson(res, 200, { status: "ok", data }, headers);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { status: "error", error: { code, message } }, headers);
}

/** Refuses a known path asked with the wrong method. */
export function requireMethod(ctx: RequestContext, ...methods: string[]): void {
  if (!methods.includes(ctx.method)) throw new HttpError(405, "METHOD_NOT_ALLOWED", `use ${methods.join(" or ")}`, { allow: methods.join(", ") });
}

/** Reads a JSON body of at most maxBytes. Only application/json, so a plain cross-site form cannot post. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, "BODY_TOO_LARGE", `the body is over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "BODY_NOT_JSON", "the body is not JSON");
  }
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
