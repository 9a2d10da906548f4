/**
 * `sos provision --gateway A --gateway B` and `sos enroll --mqtt-url A --mqtt-url B` write every
 * gateway node into kiosk.json (`mqtt.urls`, in the order given); one --gateway writes `mqtt.url` as
 * before; a plain mqtt:// node for an enrolled (certificate) kiosk is refused on one line. Real CLI
 * processes, a real gateway with a CA for enrolment.
 */
import { existsSync, readFileSync } from "node:fs";
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
  const trust = (): string[] => ["--ca-cert", `${gateway.dataDir}/pki/ca.crt`];

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

  it("sos provision refuses, on one line and before anything is stored, an address mqtt.js would misread, a node given twice, more than 8, and mqtts:// for a password kiosk", async () => {
    const data = join(dir.path, "plain-refused");
    const provision = async (id: string, gateways: string[]): Promise<string[]> => {
      const cli = spawnSos(["provision", id, "--data-dir", data, ...gateways.flatMap((g) => ["--gateway", g]), "--out", join(dir.path, id), ...place]);
      expect((await cli.exited).code).toBe(1);
      return cli.stderr;
    };
    expect(await provision("kz-clu-0301", ["mqtt://gw-a.example:1883", "mqtt://gw-b.example:99999"])).toEqual([
      "sos: --gateway 'mqtt://gw-b.example:99999' is not a gateway address (the port '99999' is not a number from 1 to 65535): use mqtt://HOST:PORT or mqtts://HOST:PORT",
    ]);
    expect(await provision("kz-clu-0302", ["mqtt://:1883"])).toEqual(["sos: --gateway 'mqtt://:1883' is not a gateway address (the host is missing): use mqtt://HOST:PORT or mqtts://HOST:PORT"]);
    expect(await provision("kz-clu-0303", ["mqtt://gw-a.example:1883", "mqtt://gw-a.example:1883"])).toEqual(["sos: --gateway 'mqtt://gw-a.example:1883' is given twice: give each gateway node once"]);
    expect(await provision("kz-clu-0304", Array.from({ length: 9 }, (_, i) => `mqtt://gw-${i}.example:1883`))).toEqual(["sos: 9 --gateway given: a kiosk takes at most 8 gateway nodes"]);
    const tls = await provision("kz-clu-0305", ["mqtts://gw-a.example:8883", "mqtt://gw-b.example:1883"]);
    expect(tls).toHaveLength(1);
    expect(tls[0]).toMatch(/^sos: --gateway 'mqtts:\/\/gw-a\.example:8883' is MQTT over TLS, which takes kiosks with certificates: give the gateway's mqtt:\/\/ address for this password kiosk/);
    for (const id of ["kz-clu-0301", "kz-clu-0302", "kz-clu-0303", "kz-clu-0304", "kz-clu-0305"]) expect(existsSync(join(dir.path, id))).toBe(false);
  });

  it("sos enroll refuses too many or malformed --mqtt-url before the token is spent: the same token enrols the kiosk after", async () => {
    const token = await newToken(gateway);
    const enroll = (id: string, urls: string[]) => spawnSos(["enroll", "--gateway", gateway.httpsBase.href, "--token", token, "--id", id, ...place, "--out", join(dir.path, id), ...trust(), ...urls.flatMap((u) => ["--mqtt-url", u])]);
    const tooMany = enroll("kz-clu-0306", Array.from({ length: 9 }, (_, i) => `mqtts://gw-${i}.example:8883`));
    expect((await tooMany.exited).code).toBe(1);
    expect(tooMany.stderr).toEqual(["sos: 9 --mqtt-url given: a kiosk takes at most 8 gateway nodes"]);
    const badPort = enroll("kz-clu-0306", ["mqtts://gw-a.example:abc"]);
    expect((await badPort.exited).code).toBe(1);
    expect(badPort.stderr).toEqual(["sos: --mqtt-url 'mqtts://gw-a.example:abc' is not a gateway address (the port 'abc' is not a number from 1 to 65535): use mqtt://HOST:PORT or mqtts://HOST:PORT"]);
    expect(existsSync(join(dir.path, "kz-clu-0306"))).toBe(false);
    const ok = enroll("kz-clu-0306", ["mqtts://gw-a.example:8883", "mqtts://gw-b.example:8883"]);
    expect((await ok.exited).code).toBe(0);
    expect(readMqtt(join(dir.path, "kz-clu-0306"))).toMatchObject({ urls: ["mqtts://gw-a.example:8883", "mqtts://gw-b.example:8883"] });
  });

  it("sos enroll writes every --mqtt-url, and refuses a plain mqtt:// one on one line", async () => {
    const nodes = ["mqtts://gw-a.example:8883", "mqtts://gw-b.example:8883"];
    const token = await newToken(gateway);
    const cli = spawnSos(["enroll", "--gateway", gateway.httpsBase.href, "--token", token, "--id", "kz-clu-0203", ...place, "--out", join(dir.path, "e1"), ...trust(), "--mqtt-url", nodes[0] ?? "", "--mqtt-url", nodes[1] ?? ""]);
    const exit = await cli.exited;
    expect(cli.stderr).toEqual([]);
    expect(exit.code).toBe(0);
    expect(readMqtt(join(dir.path, "e1"))).toMatchObject({ urls: nodes });

    const plain = spawnSos(["enroll", "--gateway", gateway.httpsBase.href, "--token", await newToken(gateway), "--id", "kz-clu-0204", ...place, "--out", join(dir.path, "e2"), ...trust(), "--mqtt-url", "mqtt://gw-a.example:1883"]);
    expect((await plain.exited).code).toBe(1);
    expect(plain.stderr).toEqual(["sos: --mqtt-url 'mqtt://gw-a.example:1883' must be mqtts://HOST:PORT: an enrolled kiosk connects with its certificate, over TLS"]);
    expect(await gateway.store.getKiosk("kz-clu-0204")).toBeUndefined();
  });
});
