/**
 * Tear-down for integration tests: each test defers what it starts (a folder, a receiver, a
 * gateway, a kiosk) and it is undone after the test, last started first, even when the test failed.
 */
import { afterEach } from "vitest";
import { DispatchReceiver } from "../fixtures/dispatch-receiver.js";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";
import { DISPATCH_SECRET, startTestGateway, tempDir, type TestGateway } from "./harness.js";

export type Defer = (cleanup: () => unknown) => void;

/** Call inside `describe`: registers the afterEach and returns `defer`. */
export function deferCleanups(): Defer {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

export interface TestSystem {
  /** The test's own temporary folder (the gateway's data is in `gw/` below it). */
  readonly dir: string;
  readonly receiver: DispatchReceiver;
  readonly gateway: TestGateway;
}

/** A temporary folder, a dispatch receiver and a gateway delivering to it, all deferred. */
export async function startSystem(defer: Defer, overrides: Partial<GatewayConfigInput> = {}): Promise<TestSystem> {
  const dir = tempDir();
  defer(() => dir.remove());
  const receiver = await new DispatchReceiver().start();
  defer(() => receiver.stop());
  const gateway = await startTestGateway(`${dir.path}/gw`, { ...overrides, dispatch: { url: receiver.url, secret: DISPATCH_SECRET, ...overrides.dispatch } });
  defer(() => gateway.stop());
  return { dir: dir.path, receiver, gateway };
}
