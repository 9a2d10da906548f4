/**
 * gateway/cluster/heard-nodes.ts judges a node "not heard" only on evidence: its own beats in the
 * store have gone on, unheard, for 3 beats (or its deadAfterMs); a node that died stops beating as it
 * stops announcing and is never reported; nothing is judged while this node's routing is down; a
 * report ends once, when the node is heard again. The bus is a fake; time is the looks' `now`.
 */
import { describe, expect, it } from "vitest";
import { type AnnouncementBus, HeardNodes } from "../../gateway/cluster/heard-nodes.js";
import type { Announcement } from "../../gateway/cluster/routing.js";
import type { NodeRecord } from "../../gateway/store/lease-store.js";
import { LogCapture } from "../fixtures/log-capture.js";

const BEAT = 1_000;
const UNHEARD = "gateway node beats in the store but is not heard over the cluster routing: it routes through another Redis (or none), so operators here never get the alarms and calls of its kiosks, nor its operators those of ours: every node's --cluster must name the same Redis";
const AGAIN = "gateway node heard over the cluster routing again";

class FakeBus implements AnnouncementBus {
  up = true;
  readonly where = "redis://one:6379";
  private listener: ((from: Announcement) => void) | undefined;
  announce(): void {}
  onAnnouncement(listener: (from: Announcement) => void): void {
    this.listener = listener;
  }
  state(): { up: boolean } {
    return { up: this.up };
  }
  hear(holder: string): void {
    this.listener?.({ nodeId: holder.split("/")[0] ?? "", holder });
  }
}

const row = (holder: string, beatAt: number): NodeRecord => ({ nodeId: holder.split("/")[0] ?? "", holder, startedAt: "2026-12-07T00:00:00.000Z", beatAt, connections: 0, deadAfterMs: 3 * BEAT });

function setUp(): { bus: FakeBus; heard: HeardNodes; logs: LogCapture; at: { now: number } } {
  const bus = new FakeBus();
  const logs = new LogCapture();
  const at = { now: 0 };
  const heard = new HeardNodes({ holder: "gw-a/h/1", beatMs: BEAT }, { bus, clock: { now: () => new Date(at.now) }, log: logs.logger("gw-a") });
  heard.start();
  heard.stop();
  return { bus, heard, logs, at };
}

describe("a node is reported not heard only while it beats on unheard and this node's routing is up", () => {
  it("a node beating on unheard is reported after 3 beats, once, and the report ends once when it is heard", () => {
    const { bus, heard, logs, at } = setUp();
    for (let t = 0; t <= 6 * BEAT; t += BEAT) {
      at.now = t;
      heard.look([row("gw-a/h/1", t), row("gw-d/h/4", t)], t);
    }
    expect(heard.state()).toEqual(["gw-d"]);
    expect(logs.find(UNHEARD)).toEqual([expect.objectContaining({ node: "gw-d", holder: "gw-d/h/4", redis: "redis://one:6379" })]);
    at.now = 6_500;
    bus.hear("gw-d/h/4");
    heard.look([row("gw-d/h/4", 7 * BEAT)], 7 * BEAT);
    expect(heard.state()).toEqual([]);
    expect(logs.find(AGAIN)).toHaveLength(1);
  });

  it("a node that dies right after it was last heard is never reported on its way to being silent", () => {
    const { bus, heard, logs, at } = setUp();
    for (let t = 0; t <= 3 * BEAT; t += BEAT) {
      at.now = t - 100;
      bus.hear("gw-b/h/2");
      heard.look([row("gw-b/h/2", t)], t);
    }
    // Its last beat at 3 s; looks until it is silent (3 s later) and past.
    for (let t = 4 * BEAT; t <= 8 * BEAT; t += BEAT) heard.look([row("gw-b/h/2", 3 * BEAT)], t);
    expect(logs.find(UNHEARD)).toEqual([]);
    expect(heard.state()).toEqual([]);
  });

  it("nothing is judged while this node's routing is down, nor until it has been up for 3 beats again", () => {
    const { bus, heard, logs } = setUp();
    bus.up = false;
    for (let t = 0; t <= 6 * BEAT; t += BEAT) heard.look([row("gw-d/h/4", t)], t);
    expect(logs.find(UNHEARD)).toEqual([]);
    bus.up = true;
    for (let t = 7 * BEAT; t <= 9 * BEAT; t += BEAT) heard.look([row("gw-d/h/4", t)], t);
    expect(logs.find(UNHEARD)).toEqual([]);
    heard.look([row("gw-d/h/4", 10 * BEAT)], 10 * BEAT);
    expect(logs.find(UNHEARD)).toHaveLength(1);
  });
});
