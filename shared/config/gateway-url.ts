/**
 * A kiosk's gateway address (kiosk.json's mqtt.url / mqtt.urls, `sos provision --gateway`, `sos enroll
 * --mqtt-url`): mqtt:// or mqtts:// (tcp://, ssl:// are mqtt.js's names for the same), a host, an
 * optional port (1883 / 8883 by default), nothing else. Checked here rather than left to mqtt.js,
 * which reads `mqtt://:1883` or `mqtt://host:abc` as localhost:1883 and throws on `:99999`.
 */

/** At most this many gateway nodes in one kiosk's list. */
export const MAX_GATEWAY_URLS = 8;

/** What is wrong with `value` as a gateway address, or undefined when it is one. */
export function gatewayUrlProblem(value: string): string | undefined {
  const parts = /^([a-z]+):\/\/([^/?#]*)(.*)$/i.exec(value);
  const scheme = parts?.[1];
  if (parts === null || scheme === undefined || !["mqtt", "mqtts", "tcp", "ssl"].includes(scheme)) return "the scheme must be mqtt:// or mqtts://";
  const authority = parts[2] ?? "";
  const rest = parts[3] ?? "";
  if (authority.includes("@")) return "it must not carry a user or password (they go in mqtt.username / mqtt.password)";
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  const host = hostPort?.[1] ?? "";
  const port = hostPort?.[2];
  if (host === "") return "the host is missing";
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535)) return `the port '${port}' is not a number from 1 to 65535`;
  if (rest.startsWith("/")) return "it must not have a path";
  if (rest !== "") return "it must not have a query or a fragment";
  if (/\s/.test(value)) return "it must not contain spaces";
  try {
    new URL(value);
  } catch {
    return "it is not a URL";
  }
  return undefined;
}

/** Whether a gateway address is MQTT over TLS (mqtts://, or mqtt.js's ssl://): certificate kiosks only. */
export function isTlsGatewayUrl(url: string): boolean {
  return /^(mqtts|ssl):\/\//.test(url);
}

/** The one-line message for a bad address: what is wrong, and what to give instead. */
export function gatewayUrlMessage(value: string, problem: string): string {
  return `'${value}' is not a gateway address (${problem}): use mqtt://HOST:PORT or mqtts://HOST:PORT`;
}
