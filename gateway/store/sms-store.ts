/**
 * The second path's records (migration 9, docs/fallback.md): each kiosk's SMS key with the highest
 * SMS counter accepted from it (replay protection), and which alerts arrived by SMS (the channel
 * shown as "via SMS"). Kept apart from GatewayStore's other methods; SqliteStore exposes it as
 * `store.sms`.
 */
export interface SmsKeyRecord {
  readonly kioskId: string;
  /** 32 bytes, base64url. */
  readonly key: string;
  readonly lastCounter: number;
  readonly issuedAt: string;
}

export interface SmsArrival {
  readonly alertId: string;
  readonly kioskId: string;
  /** The sender's number, or the hook's name for an SMS gateway service. */
  readonly sender: string;
  readonly counter: number;
  readonly receivedAt: string;
}

export interface SmsStore {
  /** Issues (or replaces, with its counter reset) a kiosk's SMS key. */
  putKey(kioskId: string, key: string, now: Date): Promise<void>;
  getKey(kioskId: string): Promise<SmsKeyRecord | undefined>;
  /** Takes `counter` as the kiosk's new highest one; false (nothing changed) unless it is above the last. */
  advanceCounter(kioskId: string, counter: number): Promise<boolean>;
  /** Records that an alert came by SMS (the first arrival is kept). */
  recordArrival(arrival: SmsArrival): Promise<void>;
  /** The alerts among these that came by SMS. */
  arrivedBySms(alertIds: readonly string[]): Promise<Set<string>>;
}
