/**
 * The typed IPC between FirmataPanel (parent) and the johnny-five board process (child): the
 * child's config (one JSON argument), and the messages each way, validated on receipt.
 * Times are not sent: the parent stamps events on arrival (IPC on one machine takes < 1 ms).
 */
import { z } from "zod";
import { logLevelSchema } from "../../../shared/log.js";

const pin = z.number().int().min(0).max(69);

export const firmataChildConfigSchema = z.object({
  path: z.string().min(1),
  baudRate: z.number().int().positive(),
  /** The SOS button; with `pullup` it sits between the pin and GND. */
  button: z.object({ pin, pullup: z.boolean(), holdtimeMs: z.number().int().min(10) }),
  /** A normally-closed-when-shut tamper switch between the pin and GND (internal pull-up). */
  tamperPin: pin.optional(),
  /** Absent when the lights are not on this board. The buzzer is an active buzzer (on/off). */
  lights: z.object({ yellowPin: pin, greenPin: pin, buzzerPin: pin.optional() }).optional(),
  blinkHalfPeriodMs: z.number().int().min(10),
  /** connect → ready must take less than this (StandardFirmata answers in ~2 s after the reset). */
  readyTimeoutMs: z.number().int().min(100),
  logLevel: logLevelSchema,
});
export type FirmataChildConfig = z.infer<typeof firmataChildConfigSchema>;

const lightMode = z.enum(["off", "on", "blink"]);

/** child → parent */
export const childMessageSchema = z.discriminatedUnion("type", [
  /** The board answered and the components are wired; the parent now sends the light state. */
  z.object({ type: z.literal("ready"), firmware: z.string().optional() }),
  z.object({ type: z.literal("press") }),
  z.object({ type: z.literal("release") }),
  z.object({ type: z.literal("tamper"), open: z.boolean() }),
  /** A fault; the child exits after sending it when it cannot go on (board unplugged). */
  z.object({ type: z.literal("error"), message: z.string(), code: z.string().optional() }),
]);
export type ChildMessage = z.infer<typeof childMessageSchema>;

/** parent → child */
export const parentMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("lights"), yellow: lightMode, green: lightMode }),
  z.object({ type: z.literal("beep"), durationMs: z.number().int().min(1).max(10_000) }),
]);
export type ParentMessage = z.infer<typeof parentMessageSchema>;
