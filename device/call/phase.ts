/** Where the kiosk's one call slot is: idle, ringing the operators, or in a call (accepted). */

export interface Ringing {
  readonly kind: "ringing";
  readonly callId: string;
  readonly alertId: string;
  readonly at: Date;
  /** False until the snapshot step is over: the first ring goes out after the snapshot. */
  announced: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface Active {
  readonly kind: "active";
  readonly callId: string;
  readonly alertId: string;
  readonly operator: string;
  /** The page that accepted; answer/ice/hangup from any other page are ignored. */
  readonly pageId: string | undefined;
  connected: boolean;
  answered: boolean;
  timer: NodeJS.Timeout | undefined;
}

export type Phase = { readonly kind: "idle" } | Ringing | Active;
export const IDLE: Phase = { kind: "idle" };

export interface CallStatus {
  readonly phase: Phase["kind"];
  readonly callId?: string;
  readonly alertId?: string;
  readonly connected?: boolean;
  readonly mediaReady: boolean;
}
