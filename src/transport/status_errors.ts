/**
 * HTTP status → error class, as the protocol's table says, and which errors are retried.
 *
 * @module
 */
import {
  APIConnectionError,
  APIError,
  type APIErrorArgs,
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  type HttpStatusError,
  InvalidRequestError,
  NotFoundError,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
  UnprocessableEntityError,
} from "../errors.ts";
import { detailOf } from "./secret_scrubbing.ts";

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "the router refused the request",
  401: "authentication failed",
  403: "forbidden (the model may not be allowed for this security tier)",
  404: "secure inference is not enabled on this router",
  409: "conflict",
  422: "the router cannot process the request",
  429: "rate limited",
  500: "the router failed",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout",
};

/**
 * Maps an error status to its error class.
 *
 * @param status The HTTP status (not 2xx).
 * @param body The parsed error body.
 * @param context The payload id, `Retry-After` seconds and the security tier asked for.
 * @returns The error.
 */
export const statusError = (
  status: number,
  body: unknown,
  context: {
    readonly payloadId?: string | undefined;
    readonly retryAfter?: number | undefined;
    readonly securityTier?: string | undefined;
    readonly headers?: Readonly<Record<string, string>> | undefined;
    readonly requestID?: string | undefined;
  },
): HttpStatusError => {
  const { payloadId, retryAfter, headers, requestID } = context;
  const detail = detailOf(body) ?? STATUS_TEXT[status] ?? "unexpected status";
  let message = `Router answered ${status}: ${detail}`;
  // Say why when the cause is almost certainly the tier: the router has no TPM.
  if (status === 503 && context.securityTier === "maximum" && !/tpm/i.test(detail)) {
    message += ' (security_tier "maximum" needs a router with a TPM)';
  }
  const args: APIErrorArgs = { message, status, body, payloadId, retryAfter, headers, requestID };
  switch (status) {
    case 400:
      return new InvalidRequestError(args);
    case 401:
      return new AuthenticationError(args);
    case 403:
      return new ForbiddenError(args);
    case 404:
      return new NotFoundError(args);
    case 409:
      return new ConflictError(args);
    case 422:
      return new UnprocessableEntityError(args);
    case 429:
      return new RateLimitError(args);
    case 500:
      return new ServerError(args);
    case 503:
      return new ServiceUnavailableError(args);
    default:
      return new APIError<"APIError">(args);
  }
};

/** Statuses retried by default. */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * Whether an error is worth another attempt: 429, 500, 502, 503, 504 and connection failures
 * or timeouts. Security errors and other statuses never are.
 *
 * @param error Any failure of an attempt.
 * @returns `true` when it is retried.
 */
export const isRetryable = (error: unknown): boolean =>
  (error instanceof APIConnectionError && error.retryable) ||
  (error instanceof APIError && RETRIED_STATUSES.has(error.status));

/**
 * The router's request id (`x-request-id`, as openai-node reads it), when it is a short
 * printable token.
 *
 * @param headers The response headers (names lowercased).
 * @returns The id, or `undefined`.
 */
export const requestIdOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const id = Object.hasOwn(headers, "x-request-id") ? headers["x-request-id"] : undefined;
  return id !== undefined && /^[\x21-\x7e]{1,200}$/.test(id) ? id : undefined;
};
