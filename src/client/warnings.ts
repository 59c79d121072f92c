/**
 * The check of a base URL (the client's own URL and every per-request `base_url`) and the
 * warning an allowed `http://` URL gets, once per client and URL, as an Effect log line.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
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

/** Who admits a base URL, for the message of a refusal: the action and the option's name. */
export interface BaseUrlSource {
  /** What was being done: `"create client"`, `"send request"`. */
  readonly action: string;
  /** The option or field as the caller spelled it: `baseUrl`, `baseURL`, `base_url`. */
  readonly name: string;
}

/**
 * A caller's `TypeError` when the URL's path ends in `/v1`: an SDK's `baseURL` must, this
 * client's must not (it appends `/v1/chat/secure_completion` and `/pki/public_key` itself), and
 * the router would answer 404 on `/v1/pki/public_key`. The message shows the URL (no secret:
 * userinfo, query and fragment were refused before) and the one to use.
 */
const versionSuffixError = (admitted: string, source: BaseUrlSource): TypeError | undefined => {
  const url = new URL(admitted);
  if (!/\/v1$/i.test(url.pathname)) return undefined;
  const shown = `${url.origin}${url.pathname}`;
  const fixed = `${url.origin}${url.pathname.replace(/\/v1$/i, "")}`;
  return new TypeError(
    `Cannot ${source.action}: ${source.name} "${shown}" ends in /v1; the client adds the ` +
      `protocol's paths itself: use "${fixed}"`,
  );
};

/**
 * Checks a base URL (see `checkBaseUrl`) and, when it is an allowed `http://` URL, warns once
 * per URL (and client). Every base URL the client sends to passes here, so none is used without
 * its warning. A path ending in `/v1` (an SDK's `baseURL`) is the caller's mistake: a
 * `TypeError` that says which URL to use instead, a defect here as every misuse of the client.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @param source Who asks, for the message (default: a request's `base_url`).
 * @returns The normalized URL, or a `SecurityError` (`InsecureTransport`); a path ending in `/v1`
 * is a `TypeError` defect.
 */
export const admitBaseUrl = (
  url: string,
  allowHttp: boolean,
  source: BaseUrlSource = { action: "send request", name: "base_url" },
): Effect.Effect<string, SecurityError> =>
  Effect.suspend(() =>
    Either.match(checkAdmittedBaseUrl(url, allowHttp, source), {
      onLeft: (e) => e instanceof TypeError ? Effect.die(e) : Effect.fail(e),
      onRight: (admitted) => Effect.as(warnPlainHttpOnce(admitted), admitted),
    })
  );

/**
 * The checks of {@linkcode admitBaseUrl} without its warning, for options resolved outside an
 * effect (the warning is the service's, to the client's logger): a refused URL is its
 * `SecurityError`, a path ending in `/v1` a `TypeError`.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @param source Who asks, for the message.
 * @returns The normalized URL, or why it is refused.
 */
export const checkAdmittedBaseUrl = (
  url: string,
  allowHttp: boolean,
  source: BaseUrlSource = { action: "create client", name: "baseUrl" },
): Either.Either<string, SecurityError | TypeError> =>
  Either.flatMap(checkBaseUrl(url, allowHttp), (admitted) => {
    const misuse = versionSuffixError(admitted, source);
    return misuse === undefined ? Either.right(admitted) : Either.left(misuse);
  });
