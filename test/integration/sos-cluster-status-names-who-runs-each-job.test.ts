/**
 * `sos cluster status` names the gateway that runs each cluster-wide job: a started gateway takes the
 * daily pruning's lease at once, and a cleanly stopped one gives it up. Real gateway, real CLI.
 */
import { describe, expect, it } from "vitest";
import { PRUNE_JOB } from "../../gateway/supervision/feature.js";
import { deferCleanups } from "./cleanups.js";
import { spawnSos, startTestGateway, tempDir, waitFor } from "./harness.js";

describe("sos cluster status", () => {
  const defer = deferCleanups();

  it("names the gateway that holds each job's lease, and shows none once it stopped cleanly", async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const gateway = await startTestGateway(`${dir.path}/gw`, { cluster: { nodeId: "gw-a" } });
    await waitFor(() => gateway.logs.find("cluster job taken: it runs on this gateway").length > 0, "the pruning's lease taken");
    const status = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect((await status.exited).code).toBe(0);
    expect(status.stdout[0]).toMatch(/^JOB\s+HELD BY\s+SINCE\s+LEASE ENDS$/);
    expect(status.stdout[1]).toMatch(new RegExp(`^${PRUNE_JOB}\\s+gw-a/\\S+\\s+\\S+\\s+in \\d+ s$`));
    const json = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir, "--json"]);
    await json.exited;
    expect(JSON.parse(json.stdout.join("\n"))).toEqual([expect.objectContaining({ name: PRUNE_JOB, lapsed: false })]);

    await gateway.stop();
    const after = spawnSos(["cluster", "status", "--data-dir", gateway.dataDir]);
    expect((await after.exited).code).toBe(0);
    expect(after.stdout).toEqual(["no cluster job has run yet (a gateway takes each one at its first run)"]);
  });
});
