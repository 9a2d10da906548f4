/**
 * Rolling upgrade, one step: three gateway nodes (real processes) on one PostgreSQL database and one
 * Redis, 30 real kiosk agents spread over them with kiosk.json's own reconnect and resend timings,
 * presses throughout. One node is stopped gracefully (SIGTERM) and exits 0; its kiosks move to the
 * two others; the presses made on them as the stop begins, and every other press, reach dispatch
 * once each, and no alert waits longer than a few seconds from press to dispatch (bound: 15 s, a
 * behaviour on a loaded machine, not a speed: bench:cluster measures the speed).
 * Needs `npm run build` (the nodes run from dist/).
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../integration/harness.js";
import { deliveriesById } from "./storm-fleet.js";
import { clusterRigs } from "./cluster-rig.js";
import { startStorm } from "./storm-rig.js";

const KIOSKS = 30;
const PRESS_EVERY_MS = 3_000;
/** "No press waits longer than a few seconds": generous, the machine is shared. */
const MAX_PRESS_TO_DISPATCH_MS = 15_000;

describe("a gateway node stopped gracefully", () => {
  const { defer, rig } = clusterRigs();

  it("moves its kiosks to the other nodes, and every press reaches dispatch once within seconds", async () => {
    const { receiver, nodes, fleet } = await startStorm(defer, await rig(), KIOSKS, "kz-roll-", "production");

    fleet.startPressing(PRESS_EVERY_MS);
    await new Promise((r) => setTimeout(r, 3_000));
    const [stopped, ...live] = nodes as [(typeof nodes)[0], ...typeof nodes];
    const moving = fleet.on(stopped.url);
    expect(moving.length).toBeGreaterThan(0);
    const before = new Set(fleet.pressed.keys());
    const exit = stopped.stop("SIGTERM");
    // Its kiosks press as the stop begins: those alerts go out during the move.
    for (const k of moving) k.kiosk.button.press();
    expect(await exit, `${stopped.nodeId}'s stderr: ${stopped.process?.stderr.join(" | ")}`).toEqual({ code: 0, signal: null });
    await fleet.waitConnected(live.map((n) => n.url), 30_000);
    for (const k of moving) expect(live.map((n) => n.url)).toContain(k.url);
    await new Promise((r) => setTimeout(r, 4_000));
    await fleet.stopPressing();

    const pressed = new Set(fleet.pressed.keys());
    const duringMove = [...pressed].filter((id) => !before.has(id));
    expect(duringMove.length).toBeGreaterThanOrEqual(moving.length);
    await waitFor(() => fleet.unacked().length === 0, "every kiosk's outbox emptied by acks", 60_000);
    await waitFor(() => [...pressed].every((id) => receiver.deliveredIds().has(id)), "every alert pressed at dispatch", 60_000);
    expect(receiver.deliveredIds()).toEqual(pressed);

    // Once each: a graceful stop finishes or hands back what it was sending, so nothing is sent twice.
    const by = deliveriesById(receiver);
    expect([...by.entries()].filter(([, copies]) => copies.length > 1).map(([id]) => id)).toEqual([]);

    // Press → dispatch for every alert, the ones pressed during the move included.
    const waits = [...pressed].map((id) => (by.get(id)?.[0]?.at ?? Number.POSITIVE_INFINITY) - (fleet.pressed.get(id) ?? 0));
    const worst = Math.max(...waits);
    const worstDuringMove = Math.max(...duringMove.map((id) => (by.get(id)?.[0]?.at ?? Number.POSITIVE_INFINITY) - (fleet.pressed.get(id) ?? 0)));
    expect(worst, `longest press → dispatch (during the move: ${worstDuringMove} ms)`).toBeLessThan(MAX_PRESS_TO_DISPATCH_MS);
    for (const node of live) expect(node.alive).toBe(true);
  });
});
