/**
 * The HTTP connection guard: once over half of limits.httpConnections are open, each address may
 * hold only PRESSED_PER_ADDRESS, so a few addresses holding idle sockets cannot fill the gateway and
 * shut the operators out. A trusted proxy (every console behind it) is exempt.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { HttpConnectionGuard, PRESSED_PER_ADDRESS } from "../../gateway/http/connection-guard.js";
import { RefusalLog } from "../../gateway/broker/refusal-log.js";
import { LogCapture } from "../fixtures/log-capture.js";

function socketFrom(remoteAddress: string): Socket {
  const socket = new EventEmitter() as EventEmitter & { remoteAddress: string; destroyed: boolean; destroy: () => void };
  socket.remoteAddress = remoteAddress;
  socket.destroyed = false;
  socket.destroy = () => {
    socket.destroyed = true;
  };
  return socket as unknown as Socket;
}

describe("HttpConnectionGuard", () => {
  const limits = { perAddress: 128, total: 1_024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

  it("past half the total, an address holds no more than PRESSED_PER_ADDRESS: eight attackers cannot fill the gateway; a trusted proxy is exempt", () => {
    const logs = new LogCapture();
    const guard = new HttpConnectionGuard(limits, new RefusalLog(logs.logger("http")), "http", () => undefined, new Set(["10.0.0.1"]));
    const open = (address: string, n: number): number => Array.from({ length: n }, () => guard.admit(socketFrom(address))).filter(Boolean).length;
    // Eight addresses each take their full 128 while under half, then are held back.
    const taken = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => open(`203.0.113.${i}`, 128));
    expect(taken.slice(0, 4)).toEqual([128, 128, 128, 128]);
    expect(guard.size).toBeLessThan(limits.total);
    // An operator's console still gets in; it may hold PRESSED_PER_ADDRESS.
    expect(open("198.51.100.7", PRESSED_PER_ADDRESS + 5)).toBe(PRESSED_PER_ADDRESS);
    // The trusted proxy is not capped per address.
    expect(open("10.0.0.1", 100)).toBe(100);
    const refused = logs.find("connection refused").map((l) => String(l.reason));
    expect(refused.some((r) => r.endsWith(`its limit (${PRESSED_PER_ADDRESS} while over half of limits.httpConnections are open)`))).toBe(true);
  });
});
