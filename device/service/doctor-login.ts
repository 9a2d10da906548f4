/**
 * The doctor's "gateway login" row: whether a gateway took this kiosk's credentials, as the agent
 * last found it (data/state/link.json, link-status.ts). The doctor does not log in itself: the
 * gateway would drop the running agent's session for it. A reachable gateway that refuses the kiosk
 * (re-provisioned, revoked, a typo in kiosk.json) is the one fault the TCP checks cannot see.
 */
import { accessSync, constants } from "node:fs";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { linkStatusPath, readLinkStatus } from "../link/link-status.js";
import type { DoctorFinding } from "./doctor.js";

const CHECK = "gateway login";

export function loginCheck(config: KioskConfig, agentRunning: boolean, unit: string): DoctorFinding {
  const path = linkStatusPath(config.dataDir);
  const read = readLinkStatus(config.dataDir);
  const stale = agentRunning ? "" : " (the agent is not running: this is what it found last)";
  if (read.found === "unreadable") return { check: CHECK, result: "skip", detail: `${path} is unreadable (${read.reason}): the agent writes it again at its next connect` };
  if (read.found === "none") {
    try {
      accessSync(path, constants.F_OK);
    } catch {
      return { check: CHECK, result: "skip", detail: `not known yet: the agent has not written ${path} (it does from its start)` };
    }
    return { check: CHECK, result: "skip", detail: `cannot read ${path}: run the doctor as root or as the kiosk's user (sudo -u sos-kiosk)` };
  }
  const s = read.value;
  switch (s.state) {
    case "refused":
      return {
        check: CHECK,
        result: "fail",
        detail: `${s.url} refuses this kiosk's credentials since ${s.since}: ${s.reason ?? "refused"}${stale}`,
        fix: `kiosk.json's mqtt username and password (or certificate) are not the gateway's: the kiosk was provisioned again, revoked, or the file was edited. Get its kiosk.json again (sos enroll, or sos provision ${config.kioskId} --force at the centre), then: sudo systemctl restart ${unit}; until then presses are kept on disk but none reaches the gateway`,
      };
    case "connected":
      return { check: CHECK, result: "pass", detail: `${s.url} took this kiosk's credentials at ${s.since}${stale}` };
    case "disconnected":
      if (s.acceptedAt !== undefined) return { check: CHECK, result: "pass", detail: `taken at ${s.acceptedAt}; disconnected from ${s.url} since ${s.since}: ${s.reason ?? "connection closed"}${stale}` };
      return { check: CHECK, result: "skip", detail: `no gateway has answered yet (disconnected since ${s.since}: ${s.reason ?? "connection closed"})${stale}` };
    case "connecting":
      return { check: CHECK, result: "skip", detail: `no gateway has answered since the agent started at ${s.since}: see the reachability rows${stale}` };
  }
}
