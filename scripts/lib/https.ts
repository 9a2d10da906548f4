/** A small HTTPS client for the CLI (node:https: the global fetch cannot be given a CA to trust). */
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";

export interface HttpsReply {
  readonly status: number;
  readonly text: string;
  readonly headers: IncomingHttpHeaders;
}

export function httpsRequest(url: URL, options: { method: "GET" | "POST"; body?: unknown; ca?: string; insecure?: boolean; timeoutMs?: number; headers?: Record<string, string> }): Promise<HttpsReply> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method,
        // insecure only to fetch the CA certificate whose fingerprint is then checked; no secret is sent.
        rejectUnauthorized: options.insecure !== true,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        headers: { ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }), ...options.headers },
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs ?? 15_000} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}
