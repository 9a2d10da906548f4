/**
 * The heartbeat's view of the computer: a small port (SystemProbe) with a real implementation that
 * reads Linux's own files, and a fake in test/fixtures. Every read is cheap (no child process) and
 * none throws: what cannot be read is null.
 *
 * - CPU temperature: /sys/class/thermal/thermal_zone0/temp (millidegrees; the Pi's SoC sensor).
 * - Link: the default route's interface from /proc/net/route (lowest metric wins); its name gives
 *   the type (eth*, en* ethernet; wl* wifi; wwan*, ppp*, usb* cellular). Wi-Fi signal from
 *   /proc/net/wireless; a cellular modem's signal needs ModemManager (not cheap): null.
 * - Free disk: fs.statfs on the data folder (the outbox's file system).
 */
import { readFile, statfs } from "node:fs/promises";
import { freemem, loadavg, uptime } from "node:os";
import type { LinkType } from "../../shared/health.js";

export interface RouteInfo {
  readonly iface: string | null;
  readonly signalDbm: number | null;
}

export interface SystemProbe {
  /** Seconds since the agent started. */
  agentUptimeS(): number;
  hostUptimeS(): number;
  load1(): number;
  memFreeMb(): number;
  cpuTempC(): Promise<number | null>;
  diskFreeMb(dir: string): Promise<number | null>;
  defaultRoute(): Promise<RouteInfo>;
}

export function linkTypeOf(iface: string | null): LinkType {
  if (iface === null) return "unknown";
  if (/^(eth|en)/.test(iface)) return "ethernet";
  if (/^wl/.test(iface)) return "wifi";
  if (/^(wwan|ppp|usb)/.test(iface)) return "cellular";
  return "unknown";
}

/** The interface of the default route (destination and mask 0) with the lowest metric, from /proc/net/route. */
export function parseDefaultRoute(text: string): string | null {
  let best: { iface: string; metric: number } | null = null;
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const [iface, destination, , flags, , , metric, mask] = f;
    if (iface === undefined || f.length < 8 || destination !== "00000000" || mask !== "00000000") continue;
    if ((Number.parseInt(flags ?? "0", 16) & 1) === 0) continue; // RTF_UP
    const m = Number(metric);
    if (best === null || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface ?? null;
}

/** The signal level (dBm) of `iface` from /proc/net/wireless, or null. */
export function parseWirelessLevel(text: string, iface: string): number | null {
  for (const line of text.split("\n")) {
    const [name, rest] = line.split(":");
    if (name?.trim() !== iface || rest === undefined) continue;
    // "status link level noise …": the level may be written "-56." (a dBm value with a dot).
    const level = Number(rest.trim().split(/\s+/)[2]?.replace(/\.$/, ""));
    return Number.isFinite(level) && level < 0 ? level : null;
  }
  return null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

export interface LinuxProbePaths {
  readonly thermal: string;
  readonly route: string;
  readonly wireless: string;
}

const LINUX_PATHS: LinuxProbePaths = {
  thermal: "/sys/class/thermal/thermal_zone0/temp",
  route: "/proc/net/route",
  wireless: "/proc/net/wireless",
};

export class LinuxSystemProbe implements SystemProbe {
  constructor(private readonly paths: LinuxProbePaths = LINUX_PATHS) {}

  agentUptimeS(): number {
    return Math.round(process.uptime());
  }

  hostUptimeS(): number {
    return Math.round(uptime());
  }

  load1(): number {
    return round1(loadavg()[0] ?? 0);
  }

  memFreeMb(): number {
    return Math.round(freemem() / 1_048_576);
  }

  async cpuTempC(): Promise<number | null> {
    const text = await readText(this.paths.thermal);
    const milli = text === null ? Number.NaN : Number(text.trim());
    return Number.isFinite(milli) && text?.trim() !== "" ? round1(milli / 1_000) : null;
  }

  async diskFreeMb(dir: string): Promise<number | null> {
    try {
      const s = await statfs(dir);
      return Math.round((s.bavail * s.bsize) / 1_048_576);
    } catch {
      return null;
    }
  }

  async defaultRoute(): Promise<RouteInfo> {
    const routes = await readText(this.paths.route);
    const iface = routes === null ? null : parseDefaultRoute(routes);
    if (iface === null || linkTypeOf(iface) !== "wifi") return { iface, signalDbm: null };
    const wireless = await readText(this.paths.wireless);
    return { iface, signalDbm: wireless === null ? null : parseWirelessLevel(wireless, iface) };
  }
}
