import type { Logger } from "pino";

/**
 * A small typed event bus. Features talk through it rather than through each other.
 * Listeners are isolated: one that throws (or rejects) is logged with its name and the others still run.
 */
export class EventBus<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, { name: string; fn: (payload: never) => unknown }[]>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof Events>(event: K, name: string, fn: (payload: Events[K]) => unknown): () => void {
    const list = this.listeners.get(event) ?? [];
    const entry = { name, fn: fn as (payload: never) => unknown };
    list.push(entry);
    this.listeners.set(event, list);
    return () => {
      const current = this.listeners.get(event);
      if (current !== undefined) this.listeners.set(event, current.filter((e) => e !== entry));
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const { name, fn } of this.listeners.get(event) ?? []) {
      try {
        const result = (fn as (p: Events[K]) => unknown)(payload);
        if (result instanceof Promise) {
          result.catch((err: unknown) => this.log.error({ err, listener: name, event: String(event) }, "event listener failed"));
        }
      } catch (err) {
        this.log.error({ err, listener: name, event: String(event) }, "event listener failed");
      }
    }
  }
}
