/**
 * The order in which a kiosk tries the gateway nodes of a cluster (`mqtt.urls`).
 *
 * A fleet is usually given one list (`sos provision --gateway A --gateway B --gateway C`). Tried as
 * listed, every kiosk would sit on A, and when A died every kiosk would move to B at once while C
 * stood idle. So by default (`mqtt.order: "spread"`) each kiosk tries the list in an order of its
 * own, drawn from its id: the fleet spreads evenly over the nodes, the kiosks of a node that dies
 * spread evenly over the others, and a kiosk's order is the same at every start (it comes back to
 * the node it was on). `"listed"` keeps the order given (a standby site last, say).
 */
import { createHash } from "node:crypto";

export type GatewayOrder = "spread" | "listed";

/** The items in an order drawn from `seed` (a Fisher–Yates shuffle fed by SHA-256 of the seed). */
export function spreadOrder<T>(items: readonly T[], seed: string): T[] {
  const out = [...items];
  let random = createHash("sha256").update(seed).digest();
  let at = 0;
  for (let i = out.length - 1; i > 0; i -= 1) {
    if (at + 4 > random.length) {
      random = createHash("sha256").update(random).digest();
      at = 0;
    }
    const j = random.readUInt32BE(at) % (i + 1);
    at += 4;
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The nodes in the order kiosk `kioskId` tries them. */
export function gatewayOrder(urls: readonly string[], kioskId: string, order: GatewayOrder): readonly string[] {
  return order === "listed" ? urls : spreadOrder(urls, kioskId);
}
