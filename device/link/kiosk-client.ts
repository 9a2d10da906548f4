/**
 * The kiosk's mqtt.js client to one gateway node (mqtt-link.ts): clientId = kiosk id, persistent
 * session, MQTT 3.1.1, a retained last will `offline` (connection-lost) on its status topic, and no
 * reconnects of mqtt.js's own (the link reconnects, with backoff, to the next node).
 */
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { KioskConfig } from "../../shared/config/kiosk.js";
import { OFFLINE_WILL } from "../../shared/health.js";

/**
 * Certificate kiosks: the files, read at each connect (a renewed certificate is used at the next).
 * Throws when one is missing or unreadable; mqtt.connect throws when the key does not match.
 */
function tlsFiles(m: KioskConfig["mqtt"]): object {
  if (m.tls === undefined) return {};
  return { ca: readFileSync(m.tls.ca), cert: readFileSync(m.tls.cert), key: readFileSync(m.tls.key), rejectUnauthorized: true };
}

/** Connects to `url` (throws as tlsFiles says, or on an address mqtt.js refuses). */
export function connectKioskClient(config: KioskConfig, url: string, statusTopic: string): MqttClient {
  const { mqtt: m, kioskId } = config;
  return mqtt.connect(url, {
    clientId: kioskId,
    ...(m.username === undefined ? {} : { username: m.username }),
    ...(m.password === undefined ? {} : { password: m.password }),
    ...tlsFiles(m),
    protocolVersion: 4,
    clean: false,
    keepalive: m.keepaliveSeconds,
    connectTimeout: m.connectTimeoutMs,
    reconnectPeriod: 0, // the link reconnects itself, with backoff
    queueQoSZero: false,
    resubscribe: false,
    will: { topic: statusTopic, payload: Buffer.from(JSON.stringify(OFFLINE_WILL)), qos: 1, retain: true },
  });
}
