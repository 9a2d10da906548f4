/**
 * GET /api/alerts/<alertId>/snapshot.jpg: the still a kiosk took at the press. For a logged-in
 * operator (session cookie), or for dispatch with the link's token (snapshots/links.ts).
 * 401 without either, 404 until the kiosk's snapshot has arrived.
 */
import type { SessionStore } from "../operators/sessions.js";
import { isAlertId, type SnapshotLinks } from "../snapshots/links.js";
import type { SnapshotStore } from "../snapshots/snapshots.js";
import { sessionOf } from "./operator-routes.js";
import { type RouteGroup, requireMethod, sendError } from "./respond.js";

const SNAPSHOT_PATH = /^\/api\/alerts\/([^/]+)\/snapshot\.jpg$/;

export function snapshotRoutes(deps: { sessions: SessionStore; links: SnapshotLinks; snapshots: SnapshotStore }): RouteGroup {
  return async (ctx) => {
    const match = SNAPSHOT_PATH.exec(ctx.path);
    if (match === null) return false;
    requireMethod(ctx, "GET", "HEAD");
    const alertId = match[1] ?? "";
    const token = ctx.query.get("token");
    const allowed = sessionOf(ctx, deps.sessions) !== undefined || (token !== null && isAlertId(alertId) && deps.links.tokenValid(alertId, token));
    if (!allowed) {
      sendError(ctx.res, 401, "NOT_LOGGED_IN", "log in first (POST /api/login), or use the link from the dispatch body");
      return true;
    }
    const image = isAlertId(alertId) ? await deps.snapshots.read(alertId) : undefined;
    if (image === undefined) {
      sendError(ctx.res, 404, "NO_SNAPSHOT", `no snapshot for alert ${alertId} (yet)`);
      return true;
    }
    ctx.res.writeHead(200, {
      "content-type": "image/jpeg",
      "content-length": String(image.length),
      "cache-control": "private, no-store",
      "x-content-type-options": "nosniff",
    });
    ctx.res.end(ctx.method === "HEAD" ? undefined : image);
    return true;
  };
}
