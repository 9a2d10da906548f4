/**
 * An alarm on the console's pages after each of its steps (`alarm` events on the event stream).
 *
 * The view (the alert, its steps, its kiosk: a few reads) is built only by a node whose own pages
 * listen, for its own pages. A step stored here tells the other nodes of a cluster only which alarm
 * changed (`alarm-changed`, cluster/console-relay.ts); each of them with pages builds the view itself
 * from the shared store, where the step already is. A node without pages (most nodes most of the time,
 * every node of a headless control centre) reads nothing. Steps that come while a view of their alarm
 * is being built are folded into one more build, and a view the pages were sent already is not sent
 * again: a page sees each change of an alarm once, whichever node stored it.
 */
import type { Logger } from "pino";
import type { GatewayStore } from "../store/store.js";
import type { EventStream } from "./stream.js";
import { alarmView } from "./views.js";

/** The last view sent is remembered for this many alarms (the open ones and a few closed). */
const REMEMBERED = 1_000;

export const ALARM_CHANGED = "alarm-changed";

export class AlarmPages {
  /** alertId → whether another step came while its view was being built. */
  private readonly building = new Map<string, boolean>();
  /** alertId → the JSON of the view last sent to the pages. */
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly store: GatewayStore,
    private readonly stream: EventStream,
    private readonly log: Logger,
  ) {}

  /** A step of `alertId` was stored on this node: its pages, and the other nodes' pages. */
  changed(alertId: string): void {
    this.stream.tellOthers(ALARM_CHANGED, { alertId });
    this.show(alertId);
  }

  /** This node's pages only: a step stored here, or one another node stored (`alarm-changed`). */
  show(alertId: string): void {
    if (this.stream.size === 0) return;
    if (this.building.has(alertId)) {
      this.building.set(alertId, true);
      return;
    }
    this.building.set(alertId, false);
    void this.build(alertId);
  }

  private async build(alertId: string): Promise<void> {
    try {
      do {
        this.building.set(alertId, false);
        const view = await alarmView(this.store, alertId);
        // A test alarm is stored closed and never pages anyone: its later steps (delivered, presses) are not pushed either.
        if (view === undefined || view.kind === "test") continue;
        const json = JSON.stringify(view);
        if (this.sent.get(alertId) === json) continue;
        this.remember(alertId, json);
        this.stream.deliver("alarm", view);
      } while (this.building.get(alertId) === true);
    } catch (err) {
      this.log.error({ err, alertId }, "could not build an alarm for the pages");
    } finally {
      this.building.delete(alertId);
    }
  }

  private remember(alertId: string, json: string): void {
    this.sent.delete(alertId);
    this.sent.set(alertId, json);
    if (this.sent.size > REMEMBERED) this.sent.delete(this.sent.keys().next().value as string);
  }
}
