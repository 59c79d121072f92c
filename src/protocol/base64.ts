/**
 * Strict standard base64, as Python's `base64.b64encode` writes it: the `+/` alphabet, `=`
 * padding, no whitespace, no trailing garbage, and zero bits where padding leaves a partial
 * byte (so every byte string has exactly one accepted encoding).
 *
 * @module
 */
import { Either, Encoding } from "effect";

// Linear-time (no nested quantifiers over the same characters), anchored at both ends.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Whether the unused low bits of the last data character before the padding are zero. */
const hasCanonicalTail = (s: string): boolean => {
  if (s.endsWith("==")) return (ALPHABET.indexOf(s[s.length - 3] ?? "A") & 0x0f) === 0;
  if (s.endsWith("=")) return (ALPHABET.indexOf(s[s.length - 2] ?? "A") & 0x03) === 0;
  return true;
};

/**
 * Decodes strict standard base64; `undefined` when `s` is not exactly that.
 *
 * @param s The text to decode.
 * @returns The bytes, or `undefined` for anything that is not canonical base64.
 */
export const decodeBase64Strict = (s: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!STRICT_BASE64.test(s) || !hasCanonicalTail(s)) return undefined;
  const decoded = Encoding.decodeBase64(s);
  return Either.isRight(decoded) ? decoded.right as Uint8Array<ArrayBuffer> : undefined;
};

/**
 * Encodes bytes as standard padded base64.
 *
 * @param bytes The bytes to encode.
 * @returns Standard base64 with `=` padding.
 */
export const encodeBase64 = (bytes: Uint8Array): string => Encoding.encodeBase64(bytes);
