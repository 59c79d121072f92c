/**
 * RSA keys of the test router, with plain WebCrypto: the router's own key pair and the callers'
 * `X-Public-Key`s. Kept small and apart from `src/keys` so it can be swapped for it later.
 *
 * @module
 */
import { decodeBase64Strict, encodeBase64 } from "../protocol/base64.ts";

/** A router key pair and its public encodings. */
export interface RouterKey {
  /** RSA-OAEP SHA-256, usage `unwrapKey`, not extractable. */
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
export const sha256Hex = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

/**
 * Armours DER as PEM with 64-character lines, as OpenSSL writes it.
 *
 * @param label The PEM label, e.g. `"PUBLIC KEY"`.
 * @param der The DER bytes.
 * @returns The PEM text with a trailing newline.
 */
export const toPem = (label: string, der: Uint8Array): string =>
  `-----BEGIN ${label}-----\n${
    encodeBase64(der).replace(/(.{64})/g, "$1\n").replace(/\n$/, "")
  }\n-----END ${label}-----\n`;

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
    ["wrapKey", "unwrapKey"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicKeyPem: toPem("PUBLIC KEY", spki),
    fingerprint: await sha256Hex(spki),
  };
};

const PUBLIC_KEY_PEM =
  /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----$/;

/** Smallest caller key accepted, in bits. */
export const MIN_CALLER_KEY_BITS = 2048;

/**
 * Reads a caller's `X-Public-Key` header: percent-decoding, one PEM `PUBLIC KEY` block, RSA of
 * at least 2048 bits.
 *
 * @param header The raw header value.
 * @returns The key (usage `wrapKey`), or the reason it was refused (a 400 detail).
 */
export const importCallerKey = async (header: string): Promise<CryptoKey | string> => {
  let pem: string;
  try {
    // Python's urllib.parse.quote keeps "/", encodeURIComponent does not: both decode the same.
    pem = decodeURIComponent(header).trim();
  } catch {
    return "Invalid X-Public-Key: not percent-encoded";
  }
  const body = PUBLIC_KEY_PEM.exec(pem)?.[1];
  const der = body === undefined ? undefined : decodeBase64Strict(body.replace(/\r?\n/g, ""));
  if (der === undefined) return "Invalid X-Public-Key: not a PEM public key";
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("spki", der, OAEP_SHA256, false, ["wrapKey"]);
  } catch {
    return "Invalid X-Public-Key: not an RSA public key";
  }
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  return bits < MIN_CALLER_KEY_BITS
    ? `Invalid X-Public-Key: RSA key of ${bits} bits, at least ${MIN_CALLER_KEY_BITS} required`
    : key;
};
