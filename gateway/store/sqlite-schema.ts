import type Database from "better-sqlite3";

/** Ordered migrations; PRAGMA user_version records how many have run. Never edit a shipped one. */
const migrations: readonly string[] = [
  `CREATE TABLE kiosks (
     kiosk_id TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     name TEXT,
     lat REAL NOT NULL,
     lon REAL NOT NULL,
     address TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE alerts (
     alert_id TEXT PRIMARY KEY,
     kiosk_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('sos', 'test')),
     pressed_at TEXT NOT NULL,
     received_at TEXT NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX alerts_by_kiosk ON alerts (kiosk_id, received_at);
   CREATE TABLE dispatch_outbox (
     alert_id TEXT PRIMARY KEY REFERENCES alerts (alert_id),
     body TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     delivered_at TEXT,
     last_error TEXT
   );
   CREATE INDEX dispatch_due ON dispatch_outbox (next_attempt_at) WHERE delivered_at IS NULL;
   CREATE TABLE dispatch_attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     alert_id TEXT NOT NULL REFERENCES alerts (alert_id),
     attempt INTEGER NOT NULL,
     started_at TEXT NOT NULL,
     duration_ms INTEGER NOT NULL,
     ok INTEGER NOT NULL,
     http_status INTEGER,
     error TEXT
   );
   CREATE INDEX dispatch_attempts_by_alert ON dispatch_attempts (alert_id);
   CREATE TABLE rejected_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kiosk_id TEXT,
     topic TEXT NOT NULL,
     received_at TEXT NOT NULL,
     code TEXT NOT NULL,
     reason TEXT NOT NULL,
     excerpt TEXT NOT NULL
   );`,
  // 2: press counts, closing alarms, and a durable outbox of commands to kiosks
  `ALTER TABLE alerts ADD COLUMN press_count INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE alerts ADD COLUMN last_press_at TEXT;
   ALTER TABLE alerts ADD COLUMN trigger TEXT;
   ALTER TABLE alerts ADD COLUMN closed_at TEXT;
   ALTER TABLE alerts ADD COLUMN outcome TEXT;
   ALTER TABLE alerts ADD COLUMN closed_by TEXT;
   CREATE TABLE kiosk_commands (
     command_id TEXT PRIMARY KEY,
     kiosk_id TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at TEXT NOT NULL,
     sent_count INTEGER NOT NULL DEFAULT 0,
     last_sent_at INTEGER,
     confirmed_at TEXT,
     result TEXT
   );
   CREATE INDEX kiosk_commands_open ON kiosk_commands (kiosk_id, created_at) WHERE confirmed_at IS NULL;`,
  // 3: operators who log in to the console (roles come later)
  `CREATE TABLE operators (
     name TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     created_at TEXT NOT NULL
   );`,
  // 4: supervision: each kiosk's state and its history, the latest heartbeat, decommissioning,
  //    and the outbox of operations events (gateway/supervision/)
  `ALTER TABLE kiosks ADD COLUMN decommissioned_at TEXT;
   CREATE INDEX kiosks_by_update ON kiosks (updated_at);
   CREATE INDEX alerts_test_by_kiosk ON alerts (kiosk_id, received_at) WHERE kind = 'test';
   CREATE TABLE kiosk_health (
     kiosk_id TEXT PRIMARY KEY,
     state TEXT NOT NULL CHECK (state IN ('online', 'degraded', 'offline', 'never-seen', 'decommissioned')),
     since TEXT NOT NULL,
     reason TEXT NOT NULL,
     components TEXT NOT NULL DEFAULT '[]',
     first_seen_at TEXT
   );
   CREATE TABLE kiosk_heartbeats (
     kiosk_id TEXT PRIMARY KEY,
     received_at TEXT NOT NULL,
     interval_s INTEGER NOT NULL,
     last_test_alarm_at TEXT,
     report TEXT NOT NULL
   );
   CREATE TABLE kiosk_transitions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kiosk_id TEXT NOT NULL,
     from_state TEXT NOT NULL,
     to_state TEXT NOT NULL,
     reason TEXT NOT NULL,
     components TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX kiosk_transitions_by_kiosk ON kiosk_transitions (kiosk_id, id);
   CREATE TABLE ops_outbox (
     event_id TEXT PRIMARY KEY,
     kiosk_id TEXT NOT NULL,
     type TEXT NOT NULL CHECK (type IN ('transition', 'reminder')),
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     delivered_at TEXT,
     last_error TEXT
   );
   CREATE INDEX ops_due ON ops_outbox (next_attempt_at, event_id) WHERE delivered_at IS NULL;
   CREATE INDEX ops_pending_by_kiosk ON ops_outbox (kiosk_id) WHERE delivered_at IS NULL;`,
  // 5: security: operator roles, kiosk certificates and their revocation, one-time enrolment tokens
  //    (gateway/store/sqlite-security.ts)
  `ALTER TABLE operators ADD COLUMN role TEXT NOT NULL DEFAULT 'operator' CHECK (role IN ('operator', 'admin'));
   CREATE TABLE kiosk_certificates (
     serial TEXT PRIMARY KEY,
     kiosk_id TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     not_before TEXT NOT NULL,
     not_after TEXT NOT NULL,
     issued_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX kiosk_certificates_by_kiosk ON kiosk_certificates (kiosk_id);
   CREATE TABLE revocations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kiosk_id TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE TABLE enrolment_tokens (
     token_hash TEXT PRIMARY KEY,
     site TEXT,
     created_at TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at TEXT,
     used_by TEXT
   );`,
  // 6: the alarm lifecycle (each step with time and who), the escalation webhook's outbox, and an
  //    optional region per kiosk (gateway/alarms/, the operator console)
  `CREATE TABLE alert_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     alert_id TEXT NOT NULL REFERENCES alerts (alert_id),
     type TEXT NOT NULL CHECK (type IN ('pressed', 'received', 'delivered', 'acknowledged', 'call-connected', 'closed', 'presses', 'escalated')),
     at TEXT NOT NULL,
     actor TEXT,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);
   CREATE UNIQUE INDEX alert_events_once ON alert_events (alert_id, type)
     WHERE type IN ('pressed', 'received', 'delivered', 'acknowledged', 'closed');
   CREATE TABLE escalation_outbox (
     event_id TEXT PRIMARY KEY,
     alert_id TEXT NOT NULL REFERENCES alerts (alert_id),
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     delivered_at TEXT,
     last_error TEXT
   );
   CREATE INDEX escalation_due ON escalation_outbox (next_attempt_at, event_id) WHERE delivered_at IS NULL;
   ALTER TABLE kiosks ADD COLUMN region TEXT;`,
  // 7: the open alarms and the newest alerts are read by index, however many closed ones pile up
  //    (10 000 kiosks' daily test alarms are 3.6 million a year)
  `CREATE INDEX IF NOT EXISTS alerts_open ON alerts (received_at) WHERE closed_at IS NULL;
   CREATE INDEX IF NOT EXISTS alerts_by_received ON alerts (received_at);`,
  // 8: operator sessions survive a gateway restart (gateway/store/sqlite-sessions.ts). Only the
  //    SHA-256 of the session id and of its MQTT token are kept, never the secrets themselves.
  `CREATE TABLE operator_sessions (
     id_hash TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     operator TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
     client_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX operator_sessions_by_expiry ON operator_sessions (expires_at);
   CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator);`,
  // 9: the gateway's own operations events (dispatch unreachable/restored, a stalled event loop) in
  //    the ops outbox: no kiosk, new types. SQLite cannot change a CHECK: the table is rebuilt.
  `CREATE TABLE ops_outbox_new (
     event_id TEXT PRIMARY KEY,
     kiosk_id TEXT,
     type TEXT NOT NULL CHECK (type IN ('transition', 'reminder', 'dispatch-unreachable', 'dispatch-restored', 'gateway-stalled')),
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     delivered_at TEXT,
     last_error TEXT
   );
   INSERT INTO ops_outbox_new (rowid, event_id, kiosk_id, type, body, created_at, attempts, next_attempt_at, delivered_at, last_error)
     SELECT rowid, event_id, kiosk_id, type, body, created_at, attempts, next_attempt_at, delivered_at, last_error FROM ops_outbox;
   DROP TABLE ops_outbox;
   ALTER TABLE ops_outbox_new RENAME TO ops_outbox;
   CREATE INDEX ops_due ON ops_outbox (next_attempt_at, event_id) WHERE delivered_at IS NULL;
   CREATE INDEX ops_pending_by_kiosk ON ops_outbox (kiosk_id) WHERE delivered_at IS NULL;`,
  // 10: EIDO updates of an alarm's incident (acknowledged, call connected, closed) for dispatch, sent
  //    in order per alarm after the alert itself (gateway/store/sqlite-dispatch-updates.ts)
  `CREATE TABLE dispatch_updates (
     event_id TEXT PRIMARY KEY,
     alert_id TEXT NOT NULL,
     step TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER,
     delivered_at TEXT,
     last_error TEXT
   );
   CREATE INDEX dispatch_updates_due ON dispatch_updates (next_attempt_at, event_id) WHERE delivered_at IS NULL;
   CREATE INDEX dispatch_updates_by_alert ON dispatch_updates (alert_id, event_id);`,
  // 11: the second path (docs/fallback.md): each kiosk's SMS key and the highest SMS counter taken
  //    from it (replay protection), and the alerts that arrived by SMS (gateway/store/sqlite-sms.ts)
  `CREATE TABLE kiosk_sms_keys (
     kiosk_id TEXT PRIMARY KEY,
     sms_key TEXT NOT NULL,
     last_counter INTEGER NOT NULL DEFAULT 0,
     issued_at TEXT NOT NULL
   );
   CREATE TABLE sms_arrivals (
     alert_id TEXT PRIMARY KEY,
     kiosk_id TEXT NOT NULL,
     sender TEXT NOT NULL,
     counter INTEGER NOT NULL,
     received_at TEXT NOT NULL
   );`,
  // 12: agent rollouts in waves (gateway/store/sqlite-releases.ts, gateway/releases/rollout.ts).
  //    waves is JSON: [["kiosk-a"], ["kiosk-b", "kiosk-c"], …]; offered_wave -1 = none queued yet.
  `CREATE TABLE IF NOT EXISTS release_rollouts (
     version TEXT PRIMARY KEY,
     target TEXT NOT NULL,
     release_url TEXT NOT NULL,
     waves TEXT NOT NULL,
     wave INTEGER NOT NULL,
     offered_wave INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('running', 'halted', 'done')),
     reason TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let i = current; i < migrations.length; i += 1) {
    const sql = migrations[i];
    if (sql === undefined) break;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    }).immediate();
  }
}
