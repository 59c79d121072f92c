/**
 * The one place where the client's errors become `@effect/ai` `AiError`s. The original error is
 * always the `cause`; the message is the original's, which holds no secret by construction.
 *
 * | client error | `AiError` |
 * |---|---|
 * | `APIError` and its subclasses (a router status; 409 `ConflictError` and 422 `UnprocessableEntityError` too) | `HttpResponseError`, reason `StatusCode`, `response.status`, `response.headers` with `retry-after` and the router's `x-request-id` when sent |
 * | `APIConnectionError` (unreachable, broken, timed out) | `HttpRequestError`, reason `Transport` |
 * | `SecurityError` `RedirectRefused` (the router redirected; nothing was followed) | `HttpRequestError`, reason `Transport` |
 * | `SecurityError` refusing the request (`InsecureTransport`, `HeaderInjection`, `InvalidSecurityTier`, `PayloadTooLarge`) | `MalformedInput` |
 * | `SecurityError` refusing the answer (`MalformedPackage`, `DecryptionFailed`, `MalformedPlaintext`, `ResponseTooLarge`) | `MalformedOutput` |
 * | anything else (`KeyError`, `AttestationError`, `SecurityError` `KeyRejected`, `FingerprintMismatch`, `RouterKeyChanged`, `EncryptionFailed`) | `UnknownError` |
 *
 * The `SecurityError` rows are one `Record` over every reason, so a new reason must be placed.
 *
 * @module
 */
import * as AiError from "@effect/ai/AiError";
import * as Option from "effect/Option";
import {
  APIConnectionError,
  APIError,
  SecurityError,
  type SecurityErrorReason,
} from "../errors.ts";
import { SECURE_COMPLETION_PATH } from "../protocol/endpoints.ts";

/** The name `AiError`s of this adapter carry as `module`. */
export const MODULE = "NomyoLanguageModel";

/** What a `SecurityError` becomes, by the side of the exchange it refused. */
type SecurityErrorKind =
  /** The request was refused before it was sent. */
  | "input"
  /** The answer was refused. */
  | "output"
  /** The transport was refused: the request reached no answer (a redirect is not followed). */
  | "transport"
  /** Neither: the router's key was refused, or the cipher failed. */
  | "unknown";

/**
 * Every reason, by kind. A `Record` over `SecurityErrorReason`, so a new reason does not
 * compile until it is placed here (it can never fall to `UnknownError` unseen).
 */
const SECURITY_ERROR_KIND: Readonly<Record<SecurityErrorReason, SecurityErrorKind>> = {
  InsecureTransport: "input",
  HeaderInjection: "input",
  InvalidSecurityTier: "input",
  PayloadTooLarge: "input",
  MalformedPackage: "output",
  DecryptionFailed: "output",
  MalformedPlaintext: "output",
  ResponseTooLarge: "output",
  RedirectRefused: "transport",
  KeyRejected: "unknown",
  FingerprintMismatch: "unknown",
  RouterKeyChanged: "unknown",
  EncryptionFailed: "unknown",
};

/**
 * Request details without headers: the `Authorization` header never reaches an error. The URL
 * is the endpoint's path only (the router's host is the client's concern).
 */
const requestDetails = {
  method: "POST",
  url: SECURE_COMPLETION_PATH,
  urlParams: [],
  hash: Option.none(),
  headers: {},
} as const;

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : "Cannot complete chat: unexpected failure";

/**
 * Translates a failure of `SecureCompletion.create` into an `AiError`.
 *
 * @param method The `LanguageModel` method that failed (`generateText`, `streamText`).
 * @param error The client's error.
 * @returns The `AiError`, with `error` as its `cause`.
 */
export const toAiError = (method: string, error: unknown): AiError.AiError => {
  const common = { module: MODULE, method, description: messageOf(error) };
  if (error instanceof APIError) {
    // What a caller acts on (the wait) and quotes (the router's request id); not every header.
    const headers: Record<string, string> = {};
    if (error.retryAfter !== undefined) headers["retry-after"] = String(error.retryAfter);
    if (error.requestID !== undefined) headers["x-request-id"] = error.requestID;
    // HttpResponseError has no `cause` field in its schema; the Error's own `cause` carries it.
    const props = {
      ...common,
      reason: "StatusCode" as const,
      request: requestDetails,
      response: { status: error.status, headers },
      cause: error,
    };
    return new AiError.HttpResponseError(props, { disableValidation: true });
  }
  const kind = error instanceof SecurityError ? SECURITY_ERROR_KIND[error.reason] : undefined;
  if (error instanceof APIConnectionError || kind === "transport") {
    return new AiError.HttpRequestError({
      ...common,
      reason: "Transport",
      request: requestDetails,
      cause: error,
    });
  }
  if (kind === "input") return new AiError.MalformedInput({ ...common, cause: error });
  if (kind === "output") return new AiError.MalformedOutput({ ...common, cause: error });
  return new AiError.UnknownError({ ...common, cause: error });
};
