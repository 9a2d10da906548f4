/**
 * Key pairs kept in files: re-importing a PKCS#8 key with its public half (a key matches its
 * certificate: shared/pki/pair.ts).
 * The Reflect polyfill comes first: @peculiar/x509 (through tsyringe) needs it when it loads, and this
 * module may be the first to load it (the kiosk's certificate rotation).
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { type CryptoKeyPair, EC_ALG } from "./x509.js";

/** Imports a PKCS#8 P-256 private key and derives its public key (through JWK: x and y are in it). */
export async function importKeyPairFromPrivate(privateKeyPem: string): Promise<CryptoKeyPair> {
  const der = x509.PemConverter.decodeFirst(privateKeyPem);
  const extractable = await webcrypto.subtle.importKey("pkcs8", der, EC_ALG, true, ["sign"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", extractable);
  const { d: _d, key_ops: _ops, ...pub } = jwk;
  const publicKey = await webcrypto.subtle.importKey("jwk", { ...pub, key_ops: ["verify"] }, EC_ALG, true, ["verify"]);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", der, EC_ALG, false, ["sign"]);
  return { privateKey, publicKey };
}
