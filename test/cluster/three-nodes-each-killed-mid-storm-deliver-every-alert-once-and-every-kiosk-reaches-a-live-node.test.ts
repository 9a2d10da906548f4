/**
 * Three gateway nodes (real `sos gateway` processes) on one PostgreSQL database and one Redis, 50
 * real kiosk agents spread over them (each kiosk's node list starts at another node), presses
 * throughout. Each node in turn is SIGKILLed mid-storm and started again. Every alert pressed is at
 * dispatch, once per alertId (a second copy only as the crash case of at-least-once: the same
 * bytes, the first answered as its sender was killed), none is lost, no kiosk keeps an
 * unacknowledged alert, and after each kill every kiosk is connected to a node that is alive.
 * Needs `npm run build` (the nodes run from dist/).
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../integration/harness.js";
import { deliveriesById, illegitimateDuplicates } from "./storm-fleet.js";
import { clusterRigs } from "./cluster-rig.js";
import { startStorm } from "./storm-rig.js";

const KIOSKS = 50;
/** Each kiosk presses about this often during the storm. */
const PRESS_EVERY_MS = 2_500;

describe("three gateway nodes, each SIGKILLed in turn mid-storm", () => {
  const { defer, rig } = clusterRigs();

  it("deliver every alert at dispatch once per alertId, lose none, and every kiosk reconnects to a live node", async () => {
    const { receiver, nodes, fleet } = await startStorm(defer, await rig(), KIOSKS, "kz-storm-");
    const urls = nodes.map((n) => n.url);
    // Spread: every node holds a share of the fleet before the first kill.
    for (const node of nodes) expect(fleet.on(node.url).length, `kiosks on ${node.nodeId}`).toBeGreaterThan(0);

    fleet.startPressing(PRESS_EVERY_MS);
    await new Promise((r) => setTimeout(r, 3_000));
    const killedAt: number[] = [];
    for (const node of nodes) {
      const itsKiosks = fleet.on(node.url).length;
      killedAt.push(Date.now());
      expect((await node.stop("SIGKILL")).signal).toBe("SIGKILL");
      expect(itsKiosks, `kiosks on ${node.nodeId} at its kill`).toBeGreaterThan(0);
      // Its kiosks move to the two live nodes; the others stay where they are.
      await fleet.waitConnected(urls.filter((u) => u !== node.url), 30_000);
      await new Promise((r) => setTimeout(r, 1_000));
      await node.start();
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await fleet.stopPressing();
    const pressed = new Set(fleet.pressed.keys());
    expect(pressed.size).toBeGreaterThan(KIOSKS);

    // None lost: every kiosk's outbox emptied by an ack, every alert at dispatch.
    await waitFor(() => fleet.unacked().length === 0, `every kiosk's outbox emptied by acks (left: ${fleet.unacked().map((k) => k.id).join(", ")})`, 60_000);
    await waitFor(() => [...pressed].every((id) => receiver.deliveredIds().has(id)), "every alert pressed at dispatch", 60_000);
    expect(receiver.deliveredIds()).toEqual(pressed);
    expect(receiver.invalid).toEqual([]);

    // Once per alertId: a second copy only as the crash case, never two live nodes sending one job.
    const by = deliveriesById(receiver);
    const duplicated = [...by.values()].filter((c) => c.length > 1).length;
    expect(illegitimateDuplicates(by, killedAt)).toEqual([]);
    // At most the jobs a node had in flight when it died (dispatch concurrency 8) per kill; each such
    // copy is sent as a further attempt (the store counts a lapsed claim as one).
    expect(duplicated).toBeLessThanOrEqual(8 * killedAt.length);

    // Every kiosk is on a node that is alive (all three are again), and every node is running.
    for (const node of nodes) expect(node.alive, `${node.nodeId} running`).toBe(true);
    await fleet.waitConnected(urls, 10_000);
    // Every node took alerts at some point (the fleet was spread and moved).
    for (const node of nodes) expect(node.logs("alert stored").length, `alerts stored by ${node.nodeId}`).toBeGreaterThan(0);
  });
});
