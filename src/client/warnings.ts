/**
 * Warnings the client prints for the user to see, each once per process, and the one check
 * of a base URL that prints one (the client's own URL and every per-request `base_url`).
 *
 * @module
 */
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

/**
 * Checks a base URL (see `checkBaseUrl`) and, when it is an allowed `http://` URL, warns once
 * per URL. Every base URL the client uses passes here, so none is used without its warning.
 *
 * @param url The base URL.
 * @param allowHttp Whether plain HTTP was explicitly allowed (local development).
 * @returns The normalized URL, or a `SecurityError` (`InsecureTransport`).
 */
export const admitBaseUrl = (
  url: string,
  allowHttp: boolean,
): Either.Either<string, SecurityError> =>
  Either.map(checkBaseUrl(url, allowHttp), (admitted) => {
    warnPlainHttpOnce(admitted);
    return admitted;
  });
