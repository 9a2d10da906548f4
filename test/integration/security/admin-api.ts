/** The console and the admin API: a session for everything, the admin role for kiosks, tokens and revocation. */
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addOperator } from "../../../scripts/commands/operator.js";
import { tempDir } from "../harness.js";
import { api, enrolTestKiosk, loginHttps, rememberSecret, type SecureGateway, startSecureGateway } from "./rig.js";

const OPERATOR_PASSWORD = rememberSecret("operator-password-for-the-suite");
const ADMIN_PASSWORD = rememberSecret("admin-password-for-the-suite-0");

const ADMIN_CALLS = [
  { method: "GET", path: "/api/admin/kiosks" },
  { method: "GET", path: "/api/admin/operators" },
  { method: "POST", path: "/api/admin/tokens", body: { count: 1 } },
  { method: "POST", path: "/api/admin/kiosks/kz-adm-0001/revoke", body: {} },
] as const;

export function adminApiTests(): void {
  describe("the console and the admin API need a session, and the admin API an admin", () => {
    const dir = tempDir("sos-sec-admin-");
    let gateway: SecureGateway;

    beforeAll(async () => {
      gateway = await startSecureGateway(dir.path);
      await addOperator("olga", { dataDir: gateway.dataDir, store: gateway.storeUrl, passwordStdin: true, role: "operator" }, Readable.from([`${OPERATOR_PASSWORD}\n`]));
      await addOperator("adam", { dataDir: gateway.dataDir, store: gateway.storeUrl, passwordStdin: true, role: "admin" }, Readable.from([`${ADMIN_PASSWORD}\n`]));
      await enrolTestKiosk(gateway, "kz-adm-0001", dir.path);
    });
    afterAll(async () => {
      await gateway.stop();
      dir.remove();
    });

    it("without a session the console's API and every admin endpoint answer 401", async () => {
      for (const call of [{ method: "GET", path: "/api/alarms" } as const, { method: "GET", path: "/api/session" } as const, ...ADMIN_CALLS]) {
        const reply = await api(gateway, call.method, call.path, "body" in call ? { body: call.body } : {});
        expect(reply.status, `${call.method} ${call.path}`).toBe(401);
        expect(reply.json.error?.code).toBe("NOT_LOGGED_IN");
      }
      const forged = await api(gateway, "GET", "/api/admin/kiosks", { cookie: "sos_session=not-a-session" });
      expect(forged.status).toBe(401);
    });

    it("an operator's session serves alarms but every admin endpoint answers 403", async () => {
      const { cookie } = await loginHttps(gateway, "olga", OPERATOR_PASSWORD);
      expect(cookie).toBeDefined();
      expect((await api(gateway, "GET", "/api/alarms", { cookie })).status).toBe(200);
      for (const call of ADMIN_CALLS) {
        const reply = await api(gateway, call.method, call.path, { cookie, ...("body" in call ? { body: call.body } : {}) });
        expect(reply.status, `${call.method} ${call.path}`).toBe(403);
        expect(reply.json.error?.code).toBe("FORBIDDEN");
      }
      expect(await gateway.store.security.certificatesOf("kz-adm-0001")).toEqual([expect.objectContaining({ revokedAt: null })]);
    });

    it("an admin lists kiosks, creates tokens that enrol, and revokes", async () => {
      const { cookie } = await loginHttps(gateway, "adam", ADMIN_PASSWORD);
      const kiosks = await api(gateway, "GET", "/api/admin/kiosks", { cookie });
      expect(kiosks.status).toBe(200);
      expect((kiosks.json.data?.kiosks as { kioskId: string }[]).map((k) => k.kioskId)).toEqual(["kz-adm-0001"]);
      const created = await api(gateway, "POST", "/api/admin/tokens", { cookie, body: { count: 2, expires: "1h", site: "depot" } });
      expect(created.status).toBe(200);
      const tokens = created.json.data?.tokens as string[];
      tokens.forEach(rememberSecret);
      expect(tokens).toHaveLength(2);
      await enrolTestKiosk(gateway, "kz-adm-0002", dir.path, tokens[0]);
      // A page of another origin (another port on the same host: SameSite does not stop it) cannot
      // make the admin's browser revoke a kiosk; the console's own page can.
      const forged = await api(gateway, "POST", "/api/admin/kiosks/kz-adm-0002/revoke", { cookie, body: {}, origin: `https://${gateway.httpsBase.hostname}:1` });
      expect(forged.status).toBe(403);
      expect(forged.json.error?.code).toBe("CROSS_ORIGIN");
      expect((await gateway.store.security.certificatesOf("kz-adm-0002"))[0]?.revokedAt).toBeNull();
      const revoked = await api(gateway, "POST", "/api/admin/kiosks/kz-adm-0002/revoke", { cookie, body: {}, origin: gateway.httpsBase.origin });
      expect(revoked.status).toBe(200);
      expect(revoked.json.data).toEqual({ kioskId: "kz-adm-0002", certificatesRevoked: 1 });
      const operators = await api(gateway, "GET", "/api/admin/operators", { cookie });
      expect(operators.json.data?.operators).toEqual([expect.objectContaining({ name: "adam", role: "admin" }), expect.objectContaining({ name: "olga", role: "operator" })]);
    });

    it("over HTTPS the session cookie is Secure, HttpOnly and SameSite=Strict; a wrong password gets no cookie", async () => {
      const ok = await loginHttps(gateway, "olga", OPERATOR_PASSWORD);
      expect(ok.setCookie).toMatch(/; HttpOnly;/);
      expect(ok.setCookie).toMatch(/; SameSite=Strict;/);
      expect(ok.setCookie).toMatch(/; Secure$/);
      const bad = await loginHttps(gateway, "olga", "not-the-password");
      expect(bad.status).toBe(401);
      expect(bad.setCookie).toBeUndefined();
    });
  });
}
