/**
 * gateway/commands/sender.ts: the kiosks that connect within a few milliseconds of each other (a
 * reconnect storm) have their pending commands read from the outbox in one statement, and each
 * kiosk still gets its own commands; a wake without a kiosk reads the whole outbox at once. Real
 * SQLite; the broker side is the sender's CommandChannel port.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CommandSender } from "../../gateway/commands/sender.js";
import type { GatewayEvents } from "../../gateway/events.js";
import { SqliteStore } from "../../gateway/store/sqlite/index.js";
import { EventBus } from "../../shared/events.js";
import { waitFor } from "../integration/harness.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { registerKiosks } from "./supervision-rig.js";

let dir: string | undefined;
let store: SqliteStore | undefined;
let sender: CommandSender | undefined;

afterEach(async () => {
  sender?.stop();
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  sender = store = dir = undefined;
});

describe("commands for a reconnect storm", () => {
  it("300 kiosks connecting at once: their commands are read in one statement and each kiosk is sent its own", async () => {
    dir = mkdtempSync(join(tmpdir(), "sos-commands-"));
    const s = SqliteStore.open(dir);
    store = s;
    const ids = Array.from({ length: 300 }, (_, i) => `kz-cmd-${String(i).padStart(3, "0")}`);
    await registerKiosks(s, ...ids);
    for (const id of ids.filter((_, i) => i % 3 === 0)) await s.security.queueCommand(id, `c-${id}`, `{"for":"${id}"}`, new Date());
    const reads = vi.spyOn(s, "pendingCommands");
    const sent: string[] = [];
    const logs = new LogCapture();
    const channel = { isConnected: () => true, publishCommand: (kioskId: string, payload: string) => Promise.resolve(void sent.push(`${kioskId} ${payload}`)) };
    sender = new CommandSender(s, channel, { pollMs: 3_600_000, resendMs: 60_000 }, new EventBus<GatewayEvents>(logs.logger("bus")), { now: () => new Date() }, logs.logger("commands"));
    for (const id of ids) sender.wake(id);
    await waitFor(() => sent.length === 100, "every queued command sent");
    expect(reads).toHaveBeenCalledTimes(1);
    expect([...(reads.mock.calls[0]?.[0] as readonly string[])].sort()).toEqual(ids);
    expect(sent.sort()).toEqual(ids.filter((_, i) => i % 3 === 0).map((id) => `${id} {"for":"${id}"}`).sort());

    await s.security.queueCommand(ids[1]!, "c-later", "{}", new Date());
    sender.wake();
    await waitFor(() => sent.includes(`${ids[1]!} {}`), "a wake without a kiosk reads the whole outbox");
    expect(reads.mock.calls.at(-1)?.[0]).toBeUndefined();
  });
});
