/**
 * Gives up a TCP connect that nothing answers. A gateway node whose machine is gone (power, kernel,
 * cable) answers no SYN; mqtt.js would wait out its whole connect timeout (to the CONNACK) on it. A
 * kiosk whose next node in its list is such a machine moves on after `ms` instead, to a node that
 * answers. A node that accepted the connection but is slow to send its CONNACK (busy, a storm) still
 * has the whole connect timeout: that one is alive and worth the wait.
 */
import type { Socket } from "node:net";

/**
 * Watches `stream` (mqtt.js's net.Socket or tls.TLSSocket, while it connects): if its TCP handshake
 * has not completed within `ms`, calls `gaveUp` and destroys it, which closes the client as any
 * failed connect does. Returns a function that stops watching.
 */
export function guardTcpConnect(stream: unknown, ms: number, gaveUp: (reason: string) => void): () => void {
  const socket = stream as Partial<Pick<Socket, "connecting" | "once" | "destroy">>;
  if (socket.connecting !== true || socket.once === undefined) return () => undefined;
  const timer = setTimeout(() => {
    if (socket.connecting !== true) return;
    gaveUp(`no answer to the TCP connect within ${ms} ms (the node's machine is down or unreachable)`);
    socket.destroy?.();
  }, ms);
  const stop = (): void => clearTimeout(timer);
  socket.once("connect", stop);
  socket.once("close", stop);
  return stop;
}
