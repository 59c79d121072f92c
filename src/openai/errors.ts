/**
 * Library errors as OpenAI API answers: the router's status kept, OpenAI's error body
 * `{"error": {"message", "type", "param", "code"}}`, `Retry-After` passed on, so every SDK raises
 * its own class. Failures without a status (no connection, a timeout, a disposed client, an
 * abort) are thrown as `fetch` throws them, so SDKs raise their connection, timeout and abort
 * errors.
 *
 * Errors hold no secret by construction (see `src/errors.ts`), so their messages are sent.
 *
 * @module
 */
import {
  APIConnectionError,
  APIError,
  NomyoError,
  SecurityError,
  type SecurityErrorReason,
} from "../errors.ts";
import { errorResponse } from "../server/openai_error.ts";

export {
  errorResponse,
  type OpenAIErrorBody,
  payloadTooLargeResponse,
  requestIdHeaders,
} from "../server/openai_error.ts";

/**
 * The status of each `SecurityError` reason. A `Record` over every reason, so a new reason does
 * not compile until it is placed. All are 4xx: no SDK retries a 4xx (the AI SDK and LangChain
 * retry 5xx whatever `x-should-retry` says), and retrying cannot fix a refusal.
 *
 * - `PayloadTooLarge`: 413, as an OpenAI server answers a body it will not take.
 * - `RedirectRefused`: 400. The router answered a redirect and nothing was sent to it; the
 *   answer says so (type `security_error`, code `RedirectRefused`, the status in the message)
 *   rather than pass for a router error (a 3xx would make the SDK's own `fetch` follow it, a
 *   5xx or a thrown connection error would be retried into the same redirect).
 * - The rest (a refused request, a tampered or malformed answer, a refused router key): 400.
 */
const SECURITY_ERROR_STATUS: Readonly<Record<SecurityErrorReason, 400 | 413>> = {
  InsecureTransport: 400,
  HeaderInjection: 400,
  InvalidSecurityTier: 400,
  PayloadTooLarge: 413,
  ResponseTooLarge: 400,
  MalformedPackage: 400,
  DecryptionFailed: 400,
  MalformedPlaintext: 400,
  KeyRejected: 400,
  FingerprintMismatch: 400,
  RouterKeyChanged: 400,
  EncryptionFailed: 400,
  RedirectRefused: 400,
};

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null &&
    typeof (error as { _tag?: unknown })._tag === "string"
    ? (error as { _tag: string })._tag
    : undefined;

const reasonOf = (error: unknown): string | null => {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === "string" ? reason : null;
};

/**
 * A failure that has no HTTP status: `fetch` would have thrown, so the adapter throws too.
 * `TypeError("fetch failed")` with the library error as `cause` (what undici throws on a
 * connection failure, and a browser on a CORS refusal: the cause's message then names CORS and
 * its `retryable` is `false`), or a `DOMException` named `TimeoutError` for a timeout (an
 * `APIConnectionTimeoutError`), which openai-node raises as its `APIConnectionTimeoutError`.
 * SDKs retry a thrown failure; the client's own retries have run, hence `maxRetries: 0` in
 * the docs (a browser refusal costs an SDK retry one refused attempt, never a retry budget).
 * A disposed client throws a `TypeError` whose message is the `DisposedError`'s ("Cannot use
 * client: it was disposed"), its cause that error.
 *
 * @param error The library error.
 * @returns What to throw.
 */
export const fetchFailure = (error: unknown): Error => {
  if (error instanceof APIConnectionError && error.timeout) {
    return new DOMException(`The request timed out: ${error.message}`, "TimeoutError");
  }
  // A disposed client says so in the thrown error's own message, the one an SDK keeps as its
  // error's `cause` (openai-node's message is always "Connection error."); not "fetch failed",
  // which the AI SDK would retry as a network failure.
  if (tagOf(error) === "DisposedError") {
    return new TypeError((error as NomyoError<string>).message, { cause: error });
  }
  return new TypeError("fetch failed", { cause: error });
};

/**
 * Answers a failure of `create()` the way an OpenAI server would, or returns `undefined` when
 * the failure has no status (then throw {@linkcode fetchFailure}).
 *
 * - A router status (`APIError` and its subclasses, 404 `NotFoundError` included): that status
 *   (502 for one outside 400–599), `Retry-After` passed on, `x-should-retry: false` (the
 *   client's own retries have already run, so openai-node's default `maxRetries` is harmless),
 *   and the router's request id as `x-request-id` (see {@linkcode requestIdHeaders}).
 * - `SecurityError` (a refused request, a redirect, a tampered or malformed answer) and
 *   `AttestationError`: 400 (413 for a plaintext over 10 MiB), type `security_error` /
 *   `attestation_error`, the reason as `code`, `x-should-retry: false`. No SDK retries a 400:
 *   retrying cannot fix it.
 * - `KeyError` (the client's own key files): 500, type `key_error`, `x-should-retry: false`.
 * - A `TypeError` (a request the client refuses to send): 400.
 * - Anything else: 500 without details.
 *
 * @param error What `create()` rejected with.
 * @returns The answer, or `undefined` for a connection failure, a timeout, a disposed client.
 */
export const libraryErrorResponse = (error: unknown): Response | undefined => {
  const tag = tagOf(error);
  if (error instanceof APIError) {
    const status = error.status >= 400 && error.status <= 599 ? error.status : 502;
    // The client's own retries (honouring Retry-After) have run: openai-node must not add more.
    return errorResponse(status, error.message, tag ?? "APIError", {
      ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
      retry: false,
      requestID: error.requestID,
      payloadId: error.payloadId,
    });
  }
  if (error instanceof APIConnectionError || tag === "DisposedError" || tag === "AbortError") {
    return undefined;
  }
  if (error instanceof SecurityError) {
    return errorResponse(SECURITY_ERROR_STATUS[error.reason], error.message, error.reason, {
      type: "security_error",
      retry: false,
      payloadId: error.payloadId,
    });
  }
  if (tag === "AttestationError") {
    const attestation = error as NomyoError<string>;
    return errorResponse(400, attestation.message, reasonOf(error), {
      type: "attestation_error",
      retry: false,
      payloadId: attestation.payloadId,
    });
  }
  if (tag === "KeyError") {
    return errorResponse(500, (error as NomyoError<string>).message, reasonOf(error), {
      type: "key_error",
      retry: false,
    });
  }
  if (error instanceof TypeError) {
    return errorResponse(400, error.message, "invalid_request");
  }
  return errorResponse(500, "Unexpected failure inside @nomyo/client", null, { retry: false });
};

/**
 * Answers a failure that has no HTTP status (see {@linkcode fetchFailure}) the way a gateway
 * does, for the proxy: 504 for a timeout, 502 otherwise (no connection, a disposed client),
 * with the library error's message, tag and payload id, `x-should-retry: false` (the client's
 * retries have run).
 *
 * @param error The library error `create()` rejected with.
 * @returns The answer.
 */
export const connectionFailureResponse = (error: unknown): Response => {
  if (error instanceof APIConnectionError && error.timeout) {
    return errorResponse(504, `The request timed out: ${error.message}`, "timeout", {
      retry: false,
      payloadId: error.payloadId,
    });
  }
  const known = error instanceof NomyoError;
  return errorResponse(
    502,
    known ? error.message : "Cannot reach router",
    known ? error._tag : null,
    {
      retry: false,
      payloadId: known ? error.payloadId : undefined,
    },
  );
};
