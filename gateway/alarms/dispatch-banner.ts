/**
 * The console's dispatch banner: while dispatch is unreachable (reported once it has failed for
 * `dispatch.unreachableAfterMs`, dispatch/reachability.ts) every page shows it, so the duty officer
 * knows alarms are held at the gateway and passes SOS alarms to dispatch by phone. The event stream
 * sends `dispatch` { state: "unreachable", since, lastError } and { state: "ok", since, downMs } when it
 * answers again; a page that connects during the outage is told at once.
 */
import type { EventBus } from "../../shared/events.js";
import type { GatewayEvents } from "../events.js";
import type { EventStream } from "./stream.js";

export type DispatchBanner =
  | { readonly state: "unreachable"; readonly since: string; readonly lastError: string }
  | { readonly state: "ok"; readonly since: string; readonly downMs: number };

/** Wires the banner; returns the unsubscribers. */
export function showDispatchBanner(bus: EventBus<GatewayEvents>, stream: EventStream): (() => void)[] {
  let down: DispatchBanner | null = null;
  stream.greet(() => (down === null ? [] : [{ event: "dispatch", data: down }]));
  return [
    bus.on("dispatch.unreachable", "dispatch-banner", (e) => {
      down = { state: "unreachable", since: e.since, lastError: e.lastError };
      stream.send("dispatch", down);
    }),
    bus.on("dispatch.restored", "dispatch-banner", (e) => {
      down = null;
      const ok: DispatchBanner = { state: "ok", since: e.since, downMs: e.downMs };
      stream.send("dispatch", ok);
    }),
  ];
}
