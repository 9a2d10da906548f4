/**
 * `sos provision --gateway A --gateway B` and `sos enroll --mqtt-url A --mqtt-url B` write every
 * gateway node into kiosk.json (`mqtt.urls`, in the order given); one --gateway writes `mqtt.url` as
 * before; a plain mqtt:// node for an enrolled (certificate) kiosk is refused on one line. Real CLI
 * processes, a real gateway with a CA for enrolment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSos, tempDir } from "./harness.js";
import { newToken, type SecureGateway, startSecureGateway } from "./security/rig.js";

const readMqtt = (dir: string): { url?: string; urls?: string[] } => (JSON.parse(readFileSync(join(dir, "kiosk.json"), "utf8")) as { mqtt: { url?: string; urls?: string[] } }).mqtt;

describe("kiosks of a cluster are given every gateway node", () => {
  const dir = tempDir("sos-cluster-cli-");
  let gateway: SecureGateway;
  beforeAll(async () => {
    gateway = await startSecureGateway(dir.path);
  });
  afterAll(async () => {
    await gateway.stop();
    dir.remove();
  });

  const place = ["--lat", "43.2", "--lon", "76.9", "--address", "Test road"];

  it("sos provision writes mqtt.urls for several --gateway, in order, and mqtt.url for one", async () => {
    const data = join(dir.path, "plain-gw");
    const several = spawnSos(["provision", "kz-clu-0201", "--data-dir", data, "--gateway", "mqtt://gw-a.example:1883", "--gateway", "mqtt://gw-b.example:1883", "--gateway", "mqtt://gw-c.example:1883", "--out", join(dir.path, "p1"), ...place]);
    expect((await several.exited).code).toBe(0);
    expect(readMqtt(join(dir.path, "p1"))).toMatchObject({ urls: ["mqtt://gw-a.example:1883", "mqtt://gw-b.example:1883", "mqtt://gw-c.example:1883"] });
    expect(readMqtt(join(dir.path, "p1")).url).toBeUndefined();
    const one = spawnSos(["provision", "kz-clu-0202", "--data-dir", data, "--gateway", "mqtt://gw-a.example:1883", "--out", join(dir.path, "p2"), ...place]);
    expect((await one.exited).code).toBe(0);
    expect(readMqtt(join(dir.path, "p2"))).toMatchObject({ url: "mqtt://gw-a.example:1883" });
    expect(readMqtt(join(dir.path, "p2")).urls).toBeUndefined();
  });

  it("sos enroll writes every --mqtt-url, and refuses a plain mqtt:// one on one line", async () => {
    const nodes = ["mqtts://gw-a.example:8883", "mqtts://gw-b.example:8883"];
    const token = await newToken(gateway);
    const trust = ["--ca-cert", `${gateway.dataDir}/pki/ca.crt`];
    const cli = spawnSos(["enroll", "--gateway", gateway.httpsBase.href, "--token", token, "--id", "kz-clu-0203", ...place, "--out", join(dir.path, "e1"), ...trust, "--mqtt-url", nodes[0] ?? "", "--mqtt-url", nodes[1] ?? ""]);
    const exit = await cli.exited;
    expect(cli.stderr).toEqual([]);
    expect(exit.code).toBe(0);
    expect(readMqtt(join(dir.path, "e1"))).toMatchObject({ urls: nodes });

    const plain = spawnSos(["enroll", "--gateway", gateway.httpsBase.href, "--token", await newToken(gateway), "--id", "kz-clu-0204", ...place, "--out", join(dir.path, "e2"), ...trust, "--mqtt-url", "mqtt://gw-a.example:1883"]);
    expect((await plain.exited).code).toBe(1);
    expect(plain.stderr).toEqual(["sos: --mqtt-url 'mqtt://gw-a.example:1883' must be mqtts://HOST:PORT: an enrolled kiosk connects with its certificate, over TLS"]);
    expect(await gateway.store.getKiosk("kz-clu-0204")).toBeUndefined();
  });
});
