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

/** The body of an OpenAI error answer. */
export interface OpenAIErrorBody {
  /** The error. */
  readonly error: {
    /** What went wrong. */
    readonly message: string;
    /** OpenAI's error type, e.g. `"invalid_request_error"`, or `"security_error"`. */
    readonly type: string;
    /** The request field at fault (a refused Responses parameter), else `null`. */
    readonly param: string | null;
    /** A stable code: the library's error tag or reason. */
    readonly code: string | null;
  };
}

/** OpenAI's error types by status. */
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
};

/**
 * Makes an OpenAI error answer.
 *
 * @param status The HTTP status (400–599).
 * @param message What went wrong.
 * @param code A stable code.
 * @param options The error type (default by status), `Retry-After` seconds, `retry: false`
 * to send `x-should-retry: false` (honoured by openai-node), the ids of the request (see
 * {@linkcode requestIdHeaders}), and the field at fault as `param`.
 * @returns The answer.
 */
export const errorResponse = (
  status: number,
  message: string,
  code: string | null,
  options: {
    readonly type?: string;
    readonly retryAfter?: number;
    readonly retry?: boolean;
    readonly requestID?: string | undefined;
    readonly payloadId?: string | undefined;
    readonly param?: string;
  } = {},
): Response => {
  const body: OpenAIErrorBody = {
    error: {
      message,
      type: options.type ?? TYPE_BY_STATUS[status] ?? (status >= 500 ? "server_error" : "error"),
      param: options.param ?? null,
      code,
    },
  };
  const headers = new Headers({ "content-type": "application/json" });
  if (options.retryAfter !== undefined) headers.set("retry-after", String(options.retryAfter));
  if (options.retry === false) headers.set("x-should-retry", "false");
  for (const [name, value] of Object.entries(requestIdHeaders(options))) headers.set(name, value);
  return new Response(JSON.stringify(body), { status, headers });
};

/**
 * The ids an answer carries, success or error: `x-request-id` (what every SDK reads as the
 * request id: openai-node's `requestID`, the AI SDK's response headers) is the router's own
 * request id when the router sent one, so a report quotes the id the router's logs know; else
 * the payload id, which the router also received (`X-Payload-ID`). `x-payload-id` is always the
 * payload id, the one the client's errors and debug lines carry.
 *
 * @param ids The router's request id and the payload id, when known.
 * @returns The headers (none when neither is known).
 */
export const requestIdHeaders = (
  ids: { readonly requestID?: string | undefined; readonly payloadId?: string | undefined },
): Record<string, string> => {
  const headers: Record<string, string> = {};
  const requestID = ids.requestID ?? ids.payloadId;
  if (requestID !== undefined) headers["x-request-id"] = requestID;
  if (ids.payloadId !== undefined) headers["x-payload-id"] = ids.payloadId;
  return headers;
};

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
 *
 * @param error The library error.
 * @returns What to throw.
 */
export const fetchFailure = (error: unknown): Error => {
  if (error instanceof APIConnectionError && error.timeout) {
    return new DOMException(`The request timed out: ${error.message}`, "TimeoutError");
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
 * What the proxy answers when the adapter threw (see {@linkcode fetchFailure}): 504 for a
 * timeout, 502 otherwise.
 *
 * @param thrown What the adapter threw.
 * @returns The answer.
 */
export const fetchFailureResponse = (thrown: unknown): Response => {
  // The client's retries have run: openai-node must not add more (x-should-retry: false).
  if (thrown instanceof DOMException && thrown.name === "TimeoutError") {
    return errorResponse(504, thrown.message, "timeout", { retry: false });
  }
  const cause = thrown instanceof Error ? thrown.cause : undefined;
  const message = cause instanceof NomyoError ? cause.message : "Cannot reach router";
  return errorResponse(502, message, cause instanceof NomyoError ? cause._tag : null, {
    retry: false,
    payloadId: cause instanceof NomyoError ? cause.payloadId : undefined,
  });
};
