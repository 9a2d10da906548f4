/**
 * When a kiosk away from its first gateway node tries to go back (device/link/home-return.ts; the link
 * behind its port, fake timers): between afterMs and twice that after it reached the other node; not
 * while busy (looked at again after min(afterMs, 60 s)); each try that ends back on the other node
 * doubles the wait before the next, up to 6 hours, said once at the third; a try a press cut short
 * does not count; reaching home, by a try or otherwise, resets that; at home, never; afterMs 0,
 * never; stopped, never.
 */
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HomeReturn, type HomeLink } from "../../device/link/home-return.js";
import { LogCapture } from "../fixtures/log-capture.js";

const HOME = "mqtt://gw-a:1883";
const OTHER = "mqtt://gw-b:1883";
const MIN = 60_000;

/** The link's side: where it is, and the tries it was asked to make (each ends as `outcome` says). */
class FakeLink extends EventEmitter implements HomeLink {
  isUp = false;
  url = OTHER;
  tries: number[] = [];
  outcome: "home" | "back" = "back";
  get atHome(): boolean {
    return this.url === HOME;
  }
  readonly homeUrl = HOME;
  connect(url: string): void {
    this.url = url;
    this.isUp = true;
    this.emit("up");
  }
  returnHome(): boolean {
    this.tries.push(Date.now());
    this.isUp = false;
    this.emit("down");
    queueMicrotask(() => this.connect(this.outcome === "home" ? HOME : OTHER));
    return true;
  }
}

let link: FakeLink;
let busy: boolean;
let logs: LogCapture;
const start = (afterMs = 30 * MIN): HomeReturn => {
  const home = new HomeReturn(link, () => busy, { afterMs, random: () => 0.5 }, logs.logger("link"));
  home.start();
  return home;
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  link = new FakeLink();
  busy = false;
  logs = new LogCapture();
});
afterEach(() => vi.useRealTimers());

describe("a kiosk away from its first gateway node", () => {
  it("tries between afterMs and twice that after it got there, and once home stays", async () => {
    start();
    link.outcome = "home";
    link.connect(OTHER);
    await vi.advanceTimersByTimeAsync(45 * MIN - 1);
    expect(link.tries).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(link.tries).toEqual([45 * MIN]);
    expect(link.atHome).toBe(true);
    await vi.advanceTimersByTimeAsync(24 * 60 * MIN);
    expect(link.tries).toHaveLength(1);
  });

  it("waits while busy, looking again after min(afterMs, 60 s)", async () => {
    start(30_000);
    busy = true;
    link.connect(OTHER);
    await vi.advanceTimersByTimeAsync(45_000 + 30_000 * 3);
    expect(link.tries).toHaveLength(0);
    busy = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(link.tries).toHaveLength(1);
  });

  it("tries less often after each failed try (doubling, up to 6 hours), says so once at the third, and starts over once home", async () => {
    const home = start();
    link.connect(OTHER);
    const spacings: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      spacings.push(home.spacingMs);
      await vi.advanceTimersByTimeAsync(home.spacingMs * 1.5);
    }
    expect(link.tries).toHaveLength(8);
    expect(spacings.map((ms) => ms / MIN)).toEqual([30, 60, 120, 240, 360, 360, 360, 360]);
    expect(link.tries.slice(1).map((at, i) => (at - (link.tries[i] ?? 0)) / MIN)).toEqual([90, 180, 360, 540, 540, 540, 540]);
    expect(logs.find("the first gateway node keeps not taking this kiosk: staying where it is, trying less often")).toHaveLength(1);

    link.outcome = "home";
    await vi.advanceTimersByTimeAsync(home.spacingMs * 1.5);
    expect(link.atHome).toBe(true);
    expect(home.spacingMs).toBe(30 * MIN);
  });

  it("never tries with afterMs 0, at home, or once stopped", async () => {
    start(0);
    link.connect(OTHER);
    await vi.advanceTimersByTimeAsync(7 * 24 * 60 * MIN);
    expect(link.tries).toHaveLength(0);

    link = new FakeLink();
    start();
    link.connect(HOME);
    await vi.advanceTimersByTimeAsync(7 * 24 * 60 * MIN);
    expect(link.tries).toHaveLength(0);

    link = new FakeLink();
    const stopped = start();
    link.connect(OTHER);
    stopped.stop();
    await vi.advanceTimersByTimeAsync(7 * 24 * 60 * MIN);
    expect(link.tries).toHaveLength(0);
  });

  it("a try a press cut short is no failure of home, and reaching home by the round of the list starts the spacing over", async () => {
    const home = start();
    link.connect(OTHER);
    // The try is under way when an SOS is pressed: the link goes back, the alert still waiting.
    link.returnHome = () => {
      link.tries.push(Date.now());
      busy = true;
      link.isUp = false;
      link.emit("down");
      queueMicrotask(() => link.connect(OTHER));
      return true;
    };
    await vi.advanceTimersByTimeAsync(home.spacingMs * 1.5);
    expect(link.tries).toHaveLength(1);
    expect(home.spacingMs).toBe(30 * MIN);

    // Two real failures, then the kiosk's node drops and the round of the list lands on home.
    busy = false;
    link.returnHome = FakeLink.prototype.returnHome.bind(link);
    await vi.advanceTimersByTimeAsync(home.spacingMs * 1.5);
    await vi.advanceTimersByTimeAsync(home.spacingMs * 1.5);
    expect(home.spacingMs).toBe(120 * MIN);
    link.isUp = false;
    link.emit("down");
    link.connect(HOME);
    expect(home.spacingMs).toBe(30 * MIN);
  });
});
