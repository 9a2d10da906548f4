/**
 * Nothing after the button waits for the lights: with the indicator's start hung (its gpiodetect
 * probe answering nothing, up to its 5 s timeout), the agent is started, the gateway is dialled and
 * the link wired at once; the lights show the kiosk's state when their driver comes up after all.
 * The real agent; fakes only at the hardware edge (the button, a lights driver whose start hangs).
 */
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KioskHandle, startKiosk } from "../../device/main.js";
import { parseKioskConfig } from "../../shared/config/kiosk.js";
import { FakeButton } from "../fixtures/fake-button.js";
import { RecordingIndicator, RecordingPlayer } from "../fixtures/fake-indicator.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { tempDir, waitFor } from "./harness.js";

/** A lights driver whose start resolves only when the test says (a hung chip probe). */
class HungIndicator extends RecordingIndicator {
  private release: (() => void) | undefined;
  override start(): Promise<void> {
    return new Promise((resolve) => (this.release = resolve));
  }
  comeUp(): void {
    this.release?.();
  }
}

describe("a hung lights driver holds up nothing after the button", () => {
  const dir = tempDir("sos-lights-hung-");
  let gateway: Server;
  let port: number;
  let dials = 0;
  let kiosk: KioskHandle | undefined;
  beforeAll(async () => {
    gateway = createServer((socket) => {
      dials += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", () => resolve()));
    port = (gateway.address() as { port: number }).port;
  });
  afterAll(async () => {
    await kiosk?.stop();
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
    dir.remove();
  });

  it("the agent starts and dials the gateway while the lights' start hangs; the lights show the state once it ends", async () => {
    const config = parseKioskConfig({
      version: 1,
      kioskId: "kz-hung-0001",
      location: { lat: 43.25, lon: 76.95, address: "Test road km 2" },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, username: "kz-hung-0001", password: "secret-password" },
      dataDir: join(dir.path, "data"),
      audio: { player: "none" },
    });
    const button = new FakeButton();
    const lights = new HungIndicator();
    const logs = new LogCapture();
    const started = Promise.race([
      startKiosk(config, { log: logs.logger("kiosk"), button, indicator: lights, player: new RecordingPlayer() }),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000)),
    ]);
    kiosk = await started;
    expect(kiosk, "startKiosk returned while the lights' start hangs").toBeDefined();
    await kiosk?.linkReady;
    await waitFor(() => dials > 0, "the gateway dialled", 5_000);
    expect(lights.shown).toEqual([]);

    lights.comeUp();
    await waitFor(() => lights.current, "the lights shown once their driver is up");
    expect(lights.current).toEqual({ yellow: "off", green: "off" });
  });
});
