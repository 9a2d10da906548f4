/**
 * The gateway nodes a kiosk connects to (`mqtt.urls`), in the kiosk's own order
 * (shared/gateway-order.ts): the first is its home. A connection that fails or drops sends the next
 * try to the next node, round the list.
 */
export class NodeList {
  /** The node the current (or next) connection is to. */
  private index = 0;

  constructor(private readonly urls: readonly string[]) {}

  get size(): number {
    return this.urls.length;
  }

  /** The gateway URL the link connects (or will next connect) to. */
  get url(): string {
    return this.urls[this.index] ?? "";
  }

  get home(): string {
    return this.urls[0] ?? "";
  }

  get atHome(): boolean {
    return this.index === 0;
  }

  /** Where the list stands, to come back to it (a return home that did not work out). */
  get position(): number {
    return this.index;
  }

  moveTo(position: number): void {
    this.index = position;
  }

  /** The next try goes to the next node, round the list; returns the node left. */
  next(): string {
    const from = this.url;
    this.index = (this.index + 1) % Math.max(1, this.urls.length);
    return from;
  }
}
