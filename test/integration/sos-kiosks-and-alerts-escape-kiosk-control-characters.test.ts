/**
 * Text a kiosk controls (here a fault name in its heartbeat) never reaches the operator's terminal
 * raw: `sos kiosks` shows ESC, C1 and bidi characters escaped, and its --json output writes them as
 * \uXXXX escapes (the same JSON once parsed). Runs dist/scripts/sos.js: `npm run build` first.
 */
import { describe, expect, it } from "vitest";
import type { KioskListing } from "../../scripts/commands/kiosks.js";
import { deferCleanups } from "./cleanups.js";
import { spawnSos, waitFor } from "./harness.js";
import { startSupervisedKiosk } from "./supervision-harness.js";

const HOSTILE = "\u001b[2J\u009b31m\u202eevil\u007f";
// eslint-disable-next-line no-control-regex
const RAW = /[\u001b\u007f-\u009f\u202e]/;

async function sos(args: string[]): Promise<string> {
  const run = spawnSos(args);
  const { code } = await run.exited;
  expect(code).toBe(0);
  return run.stdout.join("\n");
}

describe("sos kiosks escapes kiosk-controlled text", () => {
  const defer = deferCleanups();

  it("a fault named with ESC, CSI, DEL and a bidi override is shown escaped, and --json keeps it as escapes", async () => {
    const { gateway, kiosk } = await startSupervisedKiosk(defer, "kz-esc-0001");
    await kiosk.beat({ faults: [HOSTILE] });
    await waitFor(() => gateway.supervision.supervisor.get("kz-esc-0001")?.state === "degraded", "degraded");
    await waitFor(async () => (await gateway.store.health.getHealth("kz-esc-0001"))?.components.length === 1, "stored");

    const table = await sos(["kiosks", "--data-dir", gateway.dataDir]);
    expect(table).not.toMatch(RAW);
    expect(table).toContain("\\x1b[2J\\x9b31m\\u202eevil\\x7f");

    const json = await sos(["kiosks", "--data-dir", gateway.dataDir, "--json"]);
    expect(json).not.toMatch(RAW);
    const rows = JSON.parse(json) as KioskListing[];
    expect(rows.find((r) => r.kioskId === "kz-esc-0001")?.components).toEqual([HOSTILE]);
  });
});
