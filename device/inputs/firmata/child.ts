/**
 * The Firmata board process, forked by FirmataPanel (driver.ts) and supervised by it: opens the
 * serial port with serialport 13, speaks Firmata through firmata-io (not johnny-five's bundled
 * serialport 8 / firmata) and wires the components with board.ts. It holds no state worth keeping:
 * when the board goes away (close, error, no ready in time) it reports the error and exits, and
 * the supervisor forks a fresh one after a backoff, the only way to reconnect johnny-five
 * (rwaldron/johnny-five#649, #1790).
 *
 * Usage (by the driver only): node child.js '<FirmataChildConfig JSON>', with an IPC channel.
 */
import firmataIo from "firmata-io";
import { SerialPort } from "serialport";
import { createLogger } from "../../../shared/log.js";
import { wirePanelBoard } from "./board.js";
import { type ChildMessage, type FirmataChildConfig, firmataChildConfigSchema, parentMessageSchema } from "./ipc.js";

const EXIT_GRACE_MS = 1_000;

function readConfig(): FirmataChildConfig {
  const parsed = firmataChildConfigSchema.safeParse(JSON.parse(process.argv[2] ?? "null"));
  if (!parsed.success) throw new Error(`invalid firmata child config: ${parsed.error.message}`);
  return parsed.data;
}

function main(): void {
  if (process.send === undefined) {
    process.stderr.write("firmata child: start it through FirmataPanel (it needs an IPC channel)\n");
    process.exit(2);
  }
  const config = readConfig();
  const log = createLogger({ name: "sos-kiosk", level: config.logLevel, base: { subsystem: "firmata-child", path: config.path } });
  const send = (message: ChildMessage, done?: () => void): void => {
    if (!process.connected || process.send === undefined) return done?.();
    process.send(message, undefined, {}, () => done?.());
  };

  let exiting = false;
  const port = new SerialPort({ path: config.path, baudRate: config.baudRate });
  const io = new firmataIo.Firmata(port);
  const panel = wirePanelBoard({
    io,
    config,
    send: (message) => send(message),
    onFatal: (err) => exit(1, err),
    log,
    firmware: () => {
      const { name, version } = io.firmware;
      if (name === undefined) return undefined;
      return version === undefined ? name : `${name} ${version.major}.${version.minor}`;
    },
  });
  port.on("error", (err: Error) => exit(1, err));
  port.on("close", (err: Error | null) => exit(1, err ?? new Error("serial port closed")));
  io.on("error", (err: Error) => exit(1, err));

  /** Ends this process: lights off (if the board still listens), error to the parent, port closed. */
  function exit(code: number, err?: Error): void {
    if (exiting) return;
    exiting = true;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    panel.dispose();
    const finish = (): void => {
      if (!port.isOpen) process.exit(code);
      port.drain(() => port.close(() => process.exit(code)));
    };
    if (err === undefined) return finish();
    const errorCode = (err as NodeJS.ErrnoException).code;
    log.info({ err: { message: err.message, code: errorCode } }, "firmata board lost: exiting");
    send(errorCode === undefined ? { type: "error", message: err.message } : { type: "error", message: err.message, code: errorCode }, finish);
  }

  process.on("message", (raw: unknown) => {
    const parsed = parentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.length }, "invalid message from the kiosk agent ignored");
      return;
    }
    panel.apply(parsed.data);
  });
  // The agent is gone (crashed or stopped): nobody listens to this board any more.
  process.on("disconnect", () => exit(0));
  process.on("SIGTERM", () => exit(0));
  process.on("SIGINT", () => exit(0));
  // johnny-five throws from event handlers on some faults (a pin without the asked mode): report and end.
  process.on("uncaughtException", (err) => exit(1, err));
}

main();
