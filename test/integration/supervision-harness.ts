/**
 * For the supervision tests: a real gateway with a real ops webhook receiver, and kiosks that are
 * real mqtt.js clients using their provisioned credentials, publishing heartbeats (shared/health.ts)
 * on their own topic with the last will the kiosk agent sets.
 */
import type { IClientOptions, MqttClient } from "mqtt";
import { topicFor } from "../../shared/contract.js";
import { type OpsEvent, opsEventSchema } from "../../shared/ops.js";
import { type HeartbeatOverrides, makeHeartbeat } from "../fixtures/heartbeat.js";
import { WebhookReceiver } from "../fixtures/webhook-receiver.js";
import type { Defer } from "./cleanups.js";
import { connectRaw, onStore, provisionTestKiosk, sqliteStore, startTestGateway, tempDir, type TestGateway, type TestStore } from "./harness.js";
import type { GatewayConfigInput } from "../../shared/config/gateway.js";

export const OPS_SECRET = "test-ops-secret-0123456789abcdef";

export type OpsReceiver = WebhookReceiver<OpsEvent>;

export async function startOpsReceiver(): Promise<OpsReceiver> {
  return new WebhookReceiver((json) => opsEventSchema.parse(json), "/ops").start();
}

export async function startSupervisedGateway(dataDir: string, ops: OpsReceiver, overrides: Partial<GatewayConfigInput> = {}): Promise<TestGateway> {
  return startTestGateway(dataDir, {
    ...overrides,
    ops: { url: ops.url, secret: OPS_SECRET, retry: { minMs: 50, maxMs: 500, factor: 2, jitter: 0 }, ...overrides.ops },
    supervision: { heartbeatFlushMs: 200, registryPollMs: 200, ...overrides.supervision },
  });
}

/** A folder, an ops receiver, a supervised gateway and one connected kiosk, each undone by `defer`. */
export async function startSupervisedKiosk(defer: Defer, kioskId: string, store: TestStore = sqliteStore): Promise<{ ops: OpsReceiver; gateway: TestGateway; kiosk: RawKiosk }> {
  const dir = tempDir();
  defer(() => dir.remove());
  const ops = await startOpsReceiver();
  defer(() => ops.stop());
  const gateway = await startSupervisedGateway(`${dir.path}/gw`, ops, onStore(store));
  defer(() => gateway.stop());
  const kiosk = await RawKiosk.connect(gateway, kioskId, dir.path);
  defer(() => kiosk.end());
  return { ops, gateway, kiosk };
}

/** A kiosk as the broker sees it: its credentials, its will, its heartbeats. */
export class RawKiosk {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  /** When the last heartbeat was handed to the socket (Date.now()). */
  lastBeatAt = 0;

  private constructor(
    readonly kioskId: string,
    readonly client: MqttClient,
  ) {}

  static async connect(gateway: TestGateway, kioskId: string, bundleRoot: string): Promise<RawKiosk> {
    const config = await provisionTestKiosk(gateway, kioskId, gateway.mqttUrl, bundleRoot);
    return RawKiosk.connectAs(gateway, kioskId, config.mqtt.password ?? "");
  }

  static async connectAs(gateway: TestGateway, kioskId: string, password: string, extra: IClientOptions = {}): Promise<RawKiosk> {
    const will = { v: 1, state: "offline", reason: "connection-lost" };
    const client = await connectRaw(gateway.mqttUrl, {
      clientId: kioskId,
      username: kioskId,
      password,
      keepalive: 30,
      will: { topic: topicFor("status", kioskId), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
      ...extra,
    });
    return new RawKiosk(kioskId, client);
  }

  beat(overrides: HeartbeatOverrides = {}): Promise<void> {
    this.seq += 1;
    const heartbeat = makeHeartbeat({ seq: this.seq, ...overrides });
    this.lastBeatAt = Date.now();
    return this.client.publishAsync(topicFor("heartbeat", this.kioskId), JSON.stringify(heartbeat), { qos: 0 }).then(() => undefined);
  }

  /** One heartbeat now, then one every intervalS, each saying intervalS. */
  startBeating(intervalS: number, overrides: HeartbeatOverrides = {}): void {
    this.stopBeating();
    const beat = (): void => void this.beat({ intervalS, ...overrides }).catch(() => undefined);
    beat();
    this.timer = setInterval(beat, intervalS * 1_000);
  }

  stopBeating(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The link dies without a DISCONNECT (the broker sends the will). */
  dropSocket(): void {
    this.stopBeating();
    this.client.stream.destroy();
  }

  async end(): Promise<void> {
    this.stopBeating();
    await this.client.endAsync(true);
  }
}
