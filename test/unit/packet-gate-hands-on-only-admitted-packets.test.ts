/**
 * The packet gate sits between Aedes' parser and its handlers: an admitted packet reaches the
 * handlers as before, a refused one (and everything after it on that connection) never does.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { gatePackets, type WirePacket } from "../../gateway/broker/guard.js";

/** A client as aedes 1.2 builds it: a parser whose 'packet' listener hands packets to the broker (with the parser as `this`). */
function fakeClient(): { client: { _parser: EventEmitter }; handled: string[] } {
  const parser = new EventEmitter();
  const handled: string[] = [];
  parser.on("packet", function enqueue(this: unknown, packet: WirePacket) {
    expect(this).toBe(parser);
    handled.push(packet.topic ?? packet.cmd);
  });
  return { client: { _parser: parser }, handled };
}

describe("gatePackets", () => {
  it("hands admitted packets on, in order, and nothing from the first refused one on", () => {
    const { client, handled } = fakeClient();
    expect(gatePackets(client, (p) => p.topic !== "bad")).toBe(true);
    for (const topic of ["a", "b", "bad", "c"]) client._parser.emit("packet", { cmd: "publish", topic });
    expect(handled).toEqual(["a", "b"]);
    expect(client._parser.listenerCount("packet")).toBe(1);
  });

  it("says so when the client has no parser where aedes 1.2 keeps it", () => {
    expect(gatePackets({}, () => true)).toBe(false);
    expect(gatePackets({ _parser: new EventEmitter() }, () => true)).toBe(false);
  });
});
