/** Enrolment by claim: one-time, expiring tokens; the gateway's CA pinned before the token is sent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../../gateway/security/tokens.js";
import { fingerprintOf } from "../../../shared/pki/x509.js";
import { openTargetStore, provisionTestKiosk, spawnSos, tempDir } from "../harness.js";
import { enrolTestKiosk, newToken, type SecureGateway, startSecureGateway, suite } from "./rig.js";

export function enrolmentTests(): void {
  describe("enrolment tokens are single-use and expire", () => {
    const dir = tempDir("sos-sec-enrol-");
    let gateway: SecureGateway;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path);
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    function enrolCli(token: string, id: string, trust: string[]): ReturnType<typeof spawnSos> {
      return spawnSos([
        "enroll", "--gateway", gateway.httpsBase.href, "--token", token, "--id", id,
        "--lat", "43.2", "--lon", "76.9", "--address", "Test road", "--out", `${dir.path}/${id}-cli`, ...trust,
      ]);
    }

    it("a kiosk enrols with the CLI, pinning the CA by fingerprint; its key is written 0600 and only a CSR was sent", async () => {
      const token = await newToken(gateway);
      const cli = enrolCli(token, "kz-enr-0001", ["--ca-fingerprint", fingerprintOf(gateway.caCertPem).replaceAll(":", "").toLowerCase()]);
      const exit = await cli.exited;
      suite.text.push(...cli.stdout, ...cli.stderr);
      expect(cli.stderr).toEqual([]);
      expect(exit.code).toBe(0);
      const { statSync, readFileSync } = await import("node:fs");
      expect(statSync(`${dir.path}/kz-enr-0001-cli/tls/kiosk.key`).mode & 0o777).toBe(0o600);
      const config = JSON.parse(readFileSync(`${dir.path}/kz-enr-0001-cli/kiosk.json`, "utf8")) as { mqtt: { url: string; tls: unknown } };
      expect(config.mqtt.url).toBe(gateway.mqttsUrl);
      const store = await openTargetStore(gateway, { readonly: true });
      try {
        expect(await store.security.tokenState(hashToken(token), new Date())).toBe("used");
        expect(await store.security.certificatesOf("kz-enr-0001")).toHaveLength(1);
      } finally {
        await store.close();
      }
    });

    it("the token comes from a file or standard input with --token-file (out of ps); exactly one of --token and --token-file, else one line", async () => {
      const { writeFileSync } = await import("node:fs");
      const trust = ["--ca-cert", `${gateway.dataDir}/pki/ca.crt`];
      const enrol = (id: string, token: string[]): ReturnType<typeof spawnSos> =>
        spawnSos(["enroll", "--gateway", gateway.httpsBase.href, ...token, "--id", id, "--lat", "43.2", "--lon", "76.9", "--address", "Test road", "--out", `${dir.path}/${id}-cli`, ...trust]);
      const finish = async (cli: ReturnType<typeof spawnSos>): Promise<number | null> => {
        const exit = await cli.exited;
        suite.text.push(...cli.stdout, ...cli.stderr);
        return exit.code;
      };

      const fileToken = await newToken(gateway);
      const tokenPath = `${dir.path}/token.txt`;
      writeFileSync(tokenPath, `${fileToken}\n`, { mode: 0o600 });
      const fromFile = enrol("kz-enr-0008", ["--token-file", tokenPath]);
      expect(fromFile.child.spawnargs.join(" ")).not.toContain(fileToken);
      expect(await finish(fromFile)).toBe(0);
      expect(fromFile.stderr).toEqual([]);
      expect(await gateway.store.security.tokenState(hashToken(fileToken), new Date())).toBe("used");

      const stdinToken = await newToken(gateway);
      const fromStdin = enrol("kz-enr-0009", ["--token-file", "-"]);
      fromStdin.child.stdin?.end(`${stdinToken}\n`);
      expect(await finish(fromStdin)).toBe(0);
      expect(fromStdin.stderr).toEqual([]);
      expect(await gateway.store.security.certificatesOf("kz-enr-0009")).toHaveLength(1);

      const both = enrol("kz-enr-0010", ["--token", "sosenr_x", "--token-file", tokenPath]);
      expect(await finish(both)).toBe(1);
      expect(both.stderr).toEqual(["sos: give the enrolment token once: --token-file FILE (or - for standard input) or --token TOKEN, not both"]);
      const neither = enrol("kz-enr-0010", []);
      expect(await finish(neither)).toBe(1);
      expect(neither.stderr).toEqual(["sos: say which enrolment token to use: --token-file FILE (or - to read it from standard input, which keeps it out of ps) or --token TOKEN"]);
      writeFileSync(tokenPath, "\n");
      const empty = enrol("kz-enr-0010", ["--token-file", tokenPath]);
      expect(await finish(empty)).toBe(1);
      expect(empty.stderr).toEqual([`sos: --token-file ${tokenPath} holds no token on its first line: put the token 'sos token create' printed there`]);
      expect(await gateway.store.getKiosk("kz-enr-0010")).toBeUndefined();
    });

    it("a token typed at a terminal with --token-file - is read up to its Enter: the enrolment goes on while standard input stays open", async () => {
      const token = await newToken(gateway);
      const cli = spawnSos([
        "enroll", "--gateway", gateway.httpsBase.href, "--token-file", "-", "--id", "kz-enr-0011",
        "--lat", "43.2", "--lon", "76.9", "--address", "Test road", "--out", `${dir.path}/kz-enr-0011-cli`, "--ca-cert", `${gateway.dataDir}/pki/ca.crt`,
      ]);
      // Typed and Enter, and standard input left open, as a terminal's is (no Ctrl-D).
      cli.child.stdin?.write(`${token}\n`);
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([cli.exited, new Promise<"still waiting">((r) => (timer = setTimeout(() => r("still waiting"), 15_000)))]);
      clearTimeout(timer);
      cli.child.stdin?.end();
      if (exit === "still waiting") cli.child.kill();
      suite.text.push(...cli.stdout, ...cli.stderr);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(cli.stderr).toEqual([]);
      expect(await gateway.store.security.certificatesOf("kz-enr-0011")).toHaveLength(1);
    });

    it("a reused token gets a clear one-line refusal and exit 1", async () => {
      const token = await newToken(gateway);
      await enrolTestKiosk(gateway, "kz-enr-0002", dir.path, token);
      const cli = enrolCli(token, "kz-enr-0003", ["--ca-cert", `${gateway.dataDir}/pki/ca.crt`]);
      const exit = await cli.exited;
      suite.text.push(...cli.stdout, ...cli.stderr);
      expect(exit.code).toBe(1);
      expect(cli.stderr).toEqual(["sos: enrolment refused: this enrolment token has already been used: ask the gateway's admin for a new one ('sos token create')"]);
      await expect(enrolTestKiosk(gateway, "kz-enr-0003", dir.path, token)).rejects.toThrow(/already been used/);
    });

    it("an expired token is refused and enrols nothing", async () => {
      const token = await newToken(gateway, 60_000, new Date(Date.now() - 120_000));
      await expect(enrolTestKiosk(gateway, "kz-enr-0004", dir.path, token)).rejects.toThrow("enrolment refused: this enrolment token has expired: ask the gateway's admin for a new one ('sos token create')");
      expect(await gateway.store.getKiosk("kz-enr-0004")).toBeUndefined();
      expect(gateway.logs.find("enrolment refused", (l) => l.reason === "token-expired")).toHaveLength(1);
    });

    it("a CA answer that adds a second CA after the pinned one is refused before the token is sent", async () => {
      const { createServer } = await import("node:https");
      const { readFileSync } = await import("node:fs");
      const { pkiPaths } = await import("../../../gateway/pki/ca.js");
      const { createCaCertificate, generateKeyPair } = await import("../../../shared/pki/x509.js");
      const paths = pkiPaths(gateway.dataDir);
      const other = await createCaCertificate((await generateKeyPair()).keys, "Someone in between", 30);
      const posts: string[] = [];
      // Someone in between answers the CA request with ours (its fingerprint matches) and its own.
      const mitm = createServer({ key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert) }, (req, res) => {
        if (req.method === "POST") posts.push(req.url ?? "");
        res.writeHead(200, { "content-type": "application/x-pem-file" }).end(`${gateway.caCertPem}\n${other}`);
      });
      await new Promise<void>((r) => mitm.listen(0, "127.0.0.1", () => r()));
      try {
        const port = (mitm.address() as { port: number }).port;
        const token = await newToken(gateway);
        const cli = spawnSos([
          "enroll", "--gateway", `https://127.0.0.1:${port}`, "--token", token, "--id", "kz-enr-0006",
          "--lat", "43.2", "--lon", "76.9", "--address", "Test road", "--out", `${dir.path}/kz-enr-0006-cli`,
          "--ca-fingerprint", fingerprintOf(gateway.caCertPem),
        ]);
        const exit = await cli.exited;
        suite.text.push(...cli.stdout, ...cli.stderr);
        expect(exit.code).toBe(1);
        expect(cli.stderr).toEqual(["sos: the gateway's CA answer holds 2 certificates, not exactly the gateway's CA: not enrolling (someone may be in between)"]);
        expect(posts).toEqual([]);
        expect(await gateway.store.security.tokenState(hashToken(token), new Date())).toBe("valid");
      } finally {
        mitm.closeAllConnections();
        await new Promise<void>((r) => mitm.close(() => r()));
      }
    });

    it("a token cannot take over a kiosk id that is registered (with a password): refused until that kiosk is revoked", async () => {
      await provisionTestKiosk(gateway, "kz-enr-0007", gateway.mqttUrl, dir.path);
      const before = await gateway.store.getKiosk("kz-enr-0007");
      const token = await newToken(gateway);
      await expect(enrolTestKiosk(gateway, "kz-enr-0007", `${dir.path}/takeover`, token)).rejects.toThrow("enrolment refused: this kiosk id is registered already: revoke it first ('sos revoke KIOSK_ID') to enrol it again, or choose another id");
      expect(await gateway.store.getKiosk("kz-enr-0007")).toEqual(before);
      expect(await gateway.store.security.tokenState(hashToken(token), new Date())).toBe("valid");
      await gateway.store.security.revokeKiosk("kz-enr-0007", new Date());
      await enrolTestKiosk(gateway, "kz-enr-0007", `${dir.path}/takeover`, token);
      expect(await gateway.store.security.certificatesOf("kz-enr-0007")).toHaveLength(1);
    });

    it("a wrong CA fingerprint stops enrolment before the token is sent, so the token stays usable", async () => {
      const token = await newToken(gateway);
      const cli = enrolCli(token, "kz-enr-0005", ["--ca-fingerprint", "00".repeat(32)]);
      const exit = await cli.exited;
      suite.text.push(...cli.stdout, ...cli.stderr);
      expect(exit.code).toBe(1);
      expect(cli.stderr[0]).toMatch(/^sos: the gateway's CA fingerprint is [0-9A-F:]{95}, not the one given: not enrolling/);
      expect(await gateway.store.security.tokenState(hashToken(token), new Date())).toBe("valid");
    });
  });
}
