/**
 * The `X-Public-Key` header value of the client's key: its PEM SPKI percent-encoded as the
 * peers send it. It is on every request's path, so each key's value is computed once and kept
 * for as long as the key lives.
 *
 * @module
 */
import type { RsaPublicKey } from "../keys/rsa_key.ts";

/**
 * Percent-encodes as Python's `urllib.parse.quote` does with its default `safe="/"`: keeps
 * `A-Z a-z 0-9 _ . - ~ /` and encodes every other UTF-8 byte as `%XX` (upper case). This is
 * how the peers send `X-Public-Key`, byte for byte.
 *
 * @param text The text to encode (a PEM).
 * @returns The encoded text.
 */
export const quote = (text: string): string =>
  encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, "/");

/** One value per key object; a rotated-out key's entry goes with it. */
const cache = new WeakMap<RsaPublicKey, string>();

/**
 * The `X-Public-Key` value of `key`: {@linkcode quote} of its PEM, computed at the key's first
 * request and reused by every later one.
 *
 * @param key The client's public key.
 * @returns The header value.
 */
export const publicKeyHeader = (key: RsaPublicKey): string => {
  const known = cache.get(key);
  if (known !== undefined) return known;
  const header = quote(key.pem);
  cache.set(key, header);
  return header;
};
