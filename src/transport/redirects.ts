/**
 * Redirects are refused (the protocol has none): a redirect could swap the router key, or carry
 * the sealed package, the client's public key and the API key to another origin, over plain
 * `http:` too. Two doors, one rule:
 *
 * - {@linkcode refuseRedirects} wraps a `fetch` (the runtime's, or the caller's `fetch`
 *   option): it asks for `redirect: "manual"`, so nothing is sent to a `Location`, and refuses
 *   an answer that shows a redirect was followed anyway (`redirected`, another `url`) or is a
 *   browser's opaque redirect.
 * - {@linkcode checkNotRedirect} checks any `HttpClient`'s response (the transport runs it
 *   whatever client the caller provides): a 3xx, status 0, or a response to another URL than
 *   the one asked is refused.
 *
 * No message ever holds the `Location` (it could carry anything).
 *
 * @module
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse";
import * as Effect from "effect/Effect";
import { SecurityError } from "../errors.ts";

const REFUSED = "the protocol has none and redirects are refused";

/**
 * The error of a refused redirect.
 *
 * @param what What the router or the fetch did, e.g. `it answered 302, a redirect`.
 * @param payloadId The request's payload id, when it has one.
 * @returns A `SecurityError` with reason `RedirectRefused` (never retried).
 */
const redirectRefused = (what: string, payloadId?: string | undefined): SecurityError =>
  new SecurityError({
    reason: "RedirectRefused",
    message: `Cannot use router answer: ${what}; ${REFUSED}`,
    payloadId,
  });

const FOLLOWED = "the fetch followed a redirect (so it may already have sent the request there)";

/** The URL a `fetch` was asked for, normalized as `Response.url` is (no fragment). */
const askedUrl = (input: RequestInfo | URL): string | undefined => {
  try {
    const url = new URL(
      typeof input === "string" ? input : input instanceof URL ? input : input.url,
    );
    url.hash = "";
    return url.href;
  } catch {
    return undefined;
  }
};

/**
 * Wraps `fetch` so that it never follows a redirect: every call asks for `redirect: "manual"`
 * (the 3xx itself then reaches the transport, which refuses it), and an answer that shows a
 * redirect was followed anyway (a caller's `fetch` that ignores `redirect`), or a browser's
 * opaque redirect, rejects with a `SecurityError` (`RedirectRefused`). A `fetch` that follows
 * redirects in spite of `redirect: "manual"` has already sent the request to the `Location`:
 * this can only refuse its answer.
 *
 * @param inner The `fetch` to wrap; default `globalThis.fetch`, looked up at each call.
 * @returns The guarded `fetch`.
 *
 * @example
 * ```ts
 * import { refuseRedirects } from "./redirects.ts";
 * const guarded = refuseRedirects();
 * // await guarded("https://api.nomyo.ai/pki/public_key");
 * ```
 */
export const refuseRedirects =
  (inner?: typeof globalThis.fetch): typeof globalThis.fetch =>
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response> =>
    (inner ?? globalThis.fetch)(input, { ...init, redirect: "manual" }).then((response) => {
      const asked = askedUrl(input);
      const opaque = response.type === "opaqueredirect";
      const followed = response.redirected === true ||
        (response.url !== "" && asked !== undefined && response.url !== asked);
      if (!opaque && !followed) return response;
      response.body?.cancel().catch(() => undefined);
      throw redirectRefused(opaque ? "it answered a redirect (opaque to the browser)" : FOLLOWED);
    });

/**
 * Refuses a response that is a redirect, or that answers another URL than `asked` (an
 * `HttpClient` that followed one).
 *
 * @param response The response.
 * @param asked The URL of the request sent.
 * @param payloadId The request's payload id.
 * @returns Succeeds when the response is the router's own answer.
 */
export const checkNotRedirect = (
  response: HttpClientResponse.HttpClientResponse,
  asked: string,
  payloadId: string | undefined,
): Effect.Effect<void, SecurityError> => {
  const status = response.status;
  if (status >= 300 && status < 400) {
    return Effect.fail(redirectRefused(`it answered ${status}, a redirect`, payloadId));
  }
  // Status 0 is what a browser's fetch gives for a redirect under `redirect: "manual"`.
  if (status === 0) {
    return Effect.fail(
      redirectRefused("it answered a redirect (opaque to the browser)", payloadId),
    );
  }
  if (response.request.url !== asked) {
    return Effect.fail(
      redirectRefused("the HTTP client followed a redirect to another URL", payloadId),
    );
  }
  return Effect.void;
};
