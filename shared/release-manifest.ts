/** A signed release's manifest (ARCHIVE.sig.json), also carried by the install-release command. Zod only: the contract imports it. */
import { z } from "zod";

export const releaseVersionSchema = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, "letters, digits, '.', '+', '_' or '-', up to 64");

export const releaseManifestSchema = z.object({
  v: z.literal(1),
  version: releaseVersionSchema,
  /** The archive's file name (no folder). */
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/, "a file name: letters, digits, '.', '_', '+' or '-'"),
  size: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Ed25519 over signedText(manifest), base64. */
  signature: z.string().min(1).max(200),
});
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>;

