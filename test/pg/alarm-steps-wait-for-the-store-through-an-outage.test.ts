/**
 * An alarm step the PostgreSQL store refused while it was unreachable (StepRetry, as AlarmsFeature uses
 * it) is written once the store answers again, in the order the steps happened, and announced once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StepRetry } from "../../gateway/alarms/step-retry.js";
import type { AlarmStep } from "../../gateway/store/alarm-store.js";
import { PostgresStore } from "../../gateway/store/postgres/index.js";
import { ErrorCode } from "../../shared/errors.js";
import { newAlert } from "../contracts/gateway-store-fixtures.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { TcpProxy } from "../fixtures/tcp-proxy.js";
import { createTestDatabase, TEST_PG_SERVER, type TestDatabase } from "./pg-database.js";

const server = /^postgres(?:ql)?:\/\/([^@/:]*)@?([^:/,]+)?(?::(\d+))?/.exec(TEST_PG_SERVER);
let db: TestDatabase;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("alarm steps wait for the store through an outage", () => {
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it("writes the steps refused during the outage once it is over, in order, each announced once", async () => {
    const link = new TcpProxy({ host: server?.[2] ?? "127.0.0.1", port: Number(server?.[3] ?? 5432) });
    const port = new URL(await link.start()).port;
    const store = await PostgresStore.open(`postgres://${server?.[1] ?? "postgres"}@127.0.0.1:${port}/${db.name}`);
    const logs = new LogCapture();
    const written: string[] = [];
    const retry = new StepRetry(() => store.alarms, (step, stored) => stored && written.push(step.type), logs.logger("alarms"));
    try {
      const alert = newAlert("kz-steps");
      await store.recordAlert(alert, new Date(), "{}");
      link.down("cut");
      const steps: AlarmStep[] = (["received", "delivered", "acknowledged"] as const).map((type, i) => ({ alertId: alert.alertId, type, at: new Date(Date.now() + i).toISOString(), actor: "gateway", detail: { i } }));
      for (const step of steps) {
        await expect(store.alarms.recordStep(step)).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
        retry.add(step, true);
      }
      expect(retry.size).toBe(3);
      link.heal();
      await until(() => retry.size === 0, "the waiting steps to be written");
      expect(written).toEqual(["received", "delivered", "acknowledged"]);
      expect((await store.alarms.steps(alert.alertId)).map((s) => [s.type, s.detail])).toEqual(steps.map((s) => [s.type, s.detail]));
      expect(logs.find("alarm steps that waited for the store are stored")).toHaveLength(1);
    } finally {
      retry.stop();
      await store.close();
      await link.stop();
    }
  });
});
