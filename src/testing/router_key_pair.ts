/**
 * RSA keys of the test router: its own key pair (plain WebCrypto, so that the "weak key" fault
 * can make a 1024-bit one the library would refuse) and the callers' `X-Public-Key`s (read with
 * the library's own strict importer).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { formatPem } from "../keys/pem.ts";
import { fingerprintSpki } from "../keys/rsa_key_checks.ts";
import { importPublicKeyPem } from "../keys/rsa_key_import_export.ts";
import { PUBLIC_KEY_HEADER } from "../protocol/headers.ts";

/** A router key pair and its public encodings. */
export interface RouterKey {
  /** RSA-OAEP SHA-256, usages `decrypt` and `unwrapKey`, not extractable. */
  readonly privateKey: CryptoKey;
  /** RSA-OAEP SHA-256, usage `wrapKey` (for sealing to this key in tests). */
  readonly publicKey: CryptoKey;
  /** The PEM `SubjectPublicKeyInfo`, 64-character lines, trailing newline. */
  readonly publicKeyPem: string;
  /** SHA-256 of the DER SPKI, lowercase hex. */
  readonly fingerprint: string;
}

const OAEP_SHA256 = { name: "RSA-OAEP", hash: "SHA-256" } as const;

/**
 * Lowercase hex of SHA-256 over `bytes`.
 *
 * @param bytes What to hash.
 * @returns 64 hex digits.
 */
export const sha256Hex = (bytes: Uint8Array<ArrayBuffer>): Promise<string> =>
  Effect.runPromise(fingerprintSpki(bytes));

/**
 * Generates an RSA-OAEP SHA-256 key pair (exponent 65537) for the router.
 *
 * @param bits The modulus length; 1024 only for the "weak key" fault.
 * @returns The pair with its PEM and fingerprint.
 */
export const generateRouterKey = async (bits: number): Promise<RouterKey> => {
  const pair = await crypto.subtle.generateKey(
    { ...OAEP_SHA256, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicKeyPem: formatPem("PUBLIC KEY", spki),
    fingerprint: await sha256Hex(spki),
  };
};

/**
 * Reads a caller's `X-Public-Key` header: percent-decoding, then the library's own strict
 * public key import (one PEM `PUBLIC KEY` block, RSA, at least 2048 bits, a sound exponent).
 *
 * @param header The raw header value.
 * @returns The key (usage `wrapKey`), or the reason it was refused (a 400 detail).
 */
export const importCallerKey = async (header: string): Promise<CryptoKey | string> => {
  let pem: string;
  try {
    // Python's urllib.parse.quote keeps "/", encodeURIComponent does not: both decode the same.
    pem = decodeURIComponent(header);
  } catch {
    return `Invalid ${PUBLIC_KEY_HEADER}: not percent-encoded`;
  }
  const imported = await Effect.runPromise(Effect.either(importPublicKeyPem(pem)));
  return imported._tag === "Right"
    ? imported.right.key
    : `Invalid ${PUBLIC_KEY_HEADER}: ${imported.left.message}`;
};
