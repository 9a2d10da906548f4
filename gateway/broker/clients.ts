/** Where an Aedes client connected from, and over what. */
import type { Client } from "aedes";

export function transport(client: Client): "tcp" | "websocket" {
  return client.req === undefined ? "tcp" : "websocket";
}

export function remoteAddress(client: Client): string | undefined {
  if (client.req !== undefined) return client.req.socket.remoteAddress;
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress;
}
