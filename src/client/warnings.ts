/**
 * Warnings the client prints for the user to see, each once per process, and the one check
 * of a base URL that prints one (the client's own URL and every per-request `base_url`).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import type { SecurityError } from "../errors.ts";
import { checkBaseUrl } from "../protocol/headers.ts";

const warned = new Set<string>();

/**
 * Warns, once per base URL, that plain HTTP is in use: the encrypted payload is still
 * end-to-end encrypted, but headers (API key included) travel in the clear.
 *
 * @param baseUrl The `http://` router.
 */
export const warnPlainHttpOnce = (baseUrl: string): void => {
  if (!baseUrl.startsWith("http:") || warned.has(baseUrl)) return;
  warned.add(baseUrl);
  console.warn(
    `[@nomyo/client] WARNING: plain HTTP to ${baseUrl} (allowHttp). Payloads stay end-to-end ` +
      "encrypted, but headers, including the API key, are sent in the clear. " +
      "Use this for local development only.",
  );
};

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
 * per URL. Every base URL the client uses passes here, so none is used without its warning.
 * A path ending in `/v1` (an SDK's `baseURL`) is the caller's mistake: a `TypeError` that says
 * which URL to use instead.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @param source Who asks, for the message (default: creating the client, `baseUrl`).
 * @returns The normalized URL, a `SecurityError` (`InsecureTransport`), or a `TypeError` for a
 * path ending in `/v1`.
 */
export const admitBaseUrl = (
  url: string,
  allowHttp: boolean,
  source: BaseUrlSource = { action: "create client", name: "baseUrl" },
): Either.Either<string, SecurityError | TypeError> =>
  Either.flatMap(checkBaseUrl(url, allowHttp), (admitted) => {
    const misuse = versionSuffixError(admitted, source);
    if (misuse !== undefined) return Either.left(misuse);
    warnPlainHttpOnce(admitted);
    return Either.right(admitted);
  });

/**
 * {@linkcode admitBaseUrl} as an effect: a refused URL fails with its `SecurityError`; a
 * caller's `TypeError` (a path ending in `/v1`) is a defect, as every misuse of the client is.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @param source Who asks, for the message.
 * @returns The normalized URL.
 */
export const admitBaseUrlEffect = (
  url: string,
  allowHttp: boolean,
  source: BaseUrlSource,
): Effect.Effect<string, SecurityError> =>
  Effect.suspend(() =>
    Either.match(admitBaseUrl(url, allowHttp, source), {
      onLeft: (e) => e instanceof TypeError ? Effect.die(e) : Effect.fail(e),
      onRight: Effect.succeed,
    })
  );
