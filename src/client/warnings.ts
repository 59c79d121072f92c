/**
 * The check of a base URL (the client's own URL and every per-request `base_url`) and the
 * warning an allowed `http://` URL gets, once per client and URL, as an Effect log line.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type { SecurityError } from "../errors.ts";
import { checkBaseUrl } from "../protocol/headers.ts";
import { warnOnce } from "../protocol/warn_once.ts";

/**
 * Warns, once per base URL (and client), that plain HTTP is in use: the encrypted payload is
 * still end-to-end encrypted, but headers (API key included) travel in the clear.
 *
 * @param baseUrl The router; nothing is logged unless it is `http://`.
 * @returns An effect that logs the warning at most once per URL.
 */
export const warnPlainHttpOnce = (baseUrl: string): Effect.Effect<void> =>
  baseUrl.startsWith("http:")
    ? warnOnce(
      `plain-http:${baseUrl}`,
      `plain HTTP to ${baseUrl} (allowHttp). Payloads stay end-to-end encrypted, but ` +
        "headers, including the API key, are sent in the clear. " +
        "Use this for local development only.",
    )
    : Effect.void;

/**
 * Checks a base URL (see `checkBaseUrl`) and, when it is an allowed `http://` URL, warns once
 * per URL. Every base URL the client sends to passes here, so none is used without its warning.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @returns The normalized URL, or a `SecurityError` (`InsecureTransport`).
 */
export const admitBaseUrl = (
  url: string,
  allowHttp: boolean,
): Effect.Effect<string, SecurityError> =>
  Effect.tap(checkBaseUrl(url, allowHttp), warnPlainHttpOnce);
