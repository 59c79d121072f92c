/**
 * The request headers of the protocol, and the guards that run before anything is sent.
 *
 * @module
 */
import * as Either from "effect/Either";
import { SecurityError } from "../errors.ts";

/** The security tiers a caller may ask for. */
export type SecurityTier = "standard" | "high" | "maximum";

/** Every valid {@linkcode SecurityTier}. */
export const SECURITY_TIERS: ReadonlyArray<SecurityTier> = ["standard", "high", "maximum"];

/** Request header: the request's payload id, a fresh UUID v4 (also the TPM quote nonce). */
export const PAYLOAD_ID_HEADER = "X-Payload-ID";

/** Request header: the client's public key, PEM SPKI percent-encoded as Python's
 * `urllib.parse.quote` does. */
export const PUBLIC_KEY_HEADER = "X-Public-Key";

/** Request header: the {@linkcode SecurityTier}, only when the caller chose one. */
export const SECURITY_TIER_HEADER = "X-Security-Tier";

/** Request header: `Bearer <api key>`, only when an API key is set. */
export const AUTHORIZATION_HEADER = "Authorization";

/**
 * Every request header of the protocol, as a router's CORS preflight must allow them (and the
 * client's CORS error message names them), comma-separated.
 */
export const PROTOCOL_REQUEST_HEADERS: string = [
  "Content-Type",
  PAYLOAD_ID_HEADER,
  PUBLIC_KEY_HEADER,
  AUTHORIZATION_HEADER,
  SECURITY_TIER_HEADER,
].join(", ");

/** The default router. */
export const DEFAULT_BASE_URL = "https://api.nomyo.ai";

/** The largest request plaintext the protocol allows: 10 MiB. */
export const MAX_PLAINTEXT_BYTES: number = 10 * 1024 * 1024;

const FORBIDDEN_IN_HEADER = /[\r\n\0]/;

/** Characters `fetch` cannot put in a header at all (its values are Latin-1 byte strings). */
const NOT_LATIN1 = /[\u0100-\uffff]/;

/**
 * Refuses a header value with CR, LF or NUL (header injection), or with a character `fetch`
 * cannot send (beyond Latin-1: a pasted key with a typographic quote or a look-alike letter),
 * which would otherwise surface as a retried "Cannot reach router". The message names the
 * header, never the value (it may be the API key).
 *
 * @param name The header's name.
 * @param value Its value.
 * @returns The value, or a `SecurityError` (`HeaderInjection`).
 */
export const checkHeaderValue = (
  name: string,
  value: string,
): Either.Either<string, SecurityError> =>
  FORBIDDEN_IN_HEADER.test(value)
    ? Either.left(
      new SecurityError({
        reason: "HeaderInjection",
        message: `Cannot send request: the ${name} header value contains CR, LF or NUL`,
      }),
    )
    : NOT_LATIN1.test(value)
    ? Either.left(
      new SecurityError({
        reason: "HeaderInjection",
        message:
          `Cannot send request: the ${name} header value has characters no HTTP header can carry (beyond Latin-1)`,
      }),
    )
    : Either.right(value);

/**
 * Checks a caller-chosen security tier.
 *
 * @param tier What the caller passed.
 * @returns The tier, or a `SecurityError` (`InvalidSecurityTier`).
 */
export const checkSecurityTier = (tier: unknown): Either.Either<SecurityTier, SecurityError> =>
  typeof tier === "string" && (SECURITY_TIERS as ReadonlyArray<string>).includes(tier)
    ? Either.right(tier as SecurityTier)
    : Either.left(
      new SecurityError({
        reason: "InvalidSecurityTier",
        message: 'Cannot send request: security_tier must be "standard", "high" or "maximum"',
      }),
    );

/**
 * Checks and normalizes a base URL: `https:` always, `http:` only when `allowHttp`; no
 * credentials, query or fragment; the trailing slash removed.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @returns The normalized URL, or a `SecurityError` (`InsecureTransport`).
 */
export const checkBaseUrl = (
  url: string,
  allowHttp: boolean,
): Either.Either<string, SecurityError> => {
  const refuse = (why: string) =>
    Either.left(
      new SecurityError({ reason: "InsecureTransport", message: `Cannot use base URL: ${why}` }),
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse("it is not a valid URL");
  }
  if (parsed.protocol === "http:" && !allowHttp) {
    return refuse("plain http:// is refused; use https:// or set allowHttp for local development");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return refuse("only https:// (or http:// with allowHttp) is supported");
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return refuse("credentials in the URL are refused; use apiKey");
  }
  // An empty `?` or `#` leaves `search`/`hash` empty but stays in `href`, where it would turn
  // the endpoint paths appended to it into a query or a fragment.
  if (parsed.search !== "" || parsed.hash !== "" || /[?#]/.test(parsed.href)) {
    return refuse("a query or fragment is not allowed");
  }
  return Either.right(parsed.href.replace(/\/+$/, ""));
};
