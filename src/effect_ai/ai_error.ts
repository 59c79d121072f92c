/**
 * The one place where the client's errors become `@effect/ai` `AiError`s. The original error is
 * always the `cause`; the message is the original's, which holds no secret by construction.
 *
 * | client error | `AiError` |
 * |---|---|
 * | `APIError` and its subclasses (a router status) | `HttpResponseError`, reason `StatusCode`, `response.status` |
 * | `APIConnectionError` (unreachable, broken, timed out) | `HttpRequestError`, reason `Transport` |
 * | `SecurityError` refusing the request (`InsecureTransport`, `HeaderInjection`, `InvalidSecurityTier`, `PayloadTooLarge`) | `MalformedInput` |
 * | `SecurityError` refusing the answer (`MalformedPackage`, `DecryptionFailed`, `MalformedPlaintext`, `ResponseTooLarge`) | `MalformedOutput` |
 * | anything else (`KeyError`, `AttestationError`, a router key refused, …) | `UnknownError` |
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

/** The name `AiError`s of this adapter carry as `module`. */
export const MODULE = "NomyoLanguageModel";

/** The endpoint every completion goes to (the router's host is the client's concern). */
const COMPLETION_PATH = "/v1/chat/secure_completion";

const REQUEST_REFUSALS: ReadonlySet<SecurityErrorReason> = new Set<SecurityErrorReason>([
  "InsecureTransport",
  "HeaderInjection",
  "InvalidSecurityTier",
  "PayloadTooLarge",
]);

const ANSWER_REFUSALS: ReadonlySet<SecurityErrorReason> = new Set<SecurityErrorReason>([
  "MalformedPackage",
  "DecryptionFailed",
  "MalformedPlaintext",
  "ResponseTooLarge",
]);

/** Request details without headers: the `Authorization` header never reaches an error. */
const requestDetails = {
  method: "POST",
  url: COMPLETION_PATH,
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
    const headers: Record<string, string> = error.retryAfter === undefined
      ? {}
      : { "retry-after": String(error.retryAfter) };
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
  if (error instanceof APIConnectionError) {
    return new AiError.HttpRequestError({
      ...common,
      reason: "Transport",
      request: requestDetails,
      cause: error,
    });
  }
  if (error instanceof SecurityError && REQUEST_REFUSALS.has(error.reason)) {
    return new AiError.MalformedInput({ ...common, cause: error });
  }
  if (error instanceof SecurityError && ANSWER_REFUSALS.has(error.reason)) {
    return new AiError.MalformedOutput({ ...common, cause: error });
  }
  return new AiError.UnknownError({ ...common, cause: error });
};
