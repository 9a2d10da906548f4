/** mock-firmata 0.2 (no types): a board-io IO plugin whose reads and writes do nothing. */
declare module "mock-firmata" {
  import type { EventEmitter } from "node:events";

  export interface MockFirmata extends EventEmitter {
    readonly name: string;
    readonly isReady: boolean;
    digitalRead(pin: number, callback: (value: number) => void): void;
  }

  const mockFirmata: { readonly Firmata: new (options?: Record<string, unknown>) => MockFirmata };
  export default mockFirmata;
}
