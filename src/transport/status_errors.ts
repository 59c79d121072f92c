/**
 * HTTP status → error class, as the protocol's table says, and `Retry-After` parsing.
 *
 * @module
 */
import {
  APIConnectionError,
  APIError,
  type APIErrorArgs,
  AuthenticationError,
  ForbiddenError,
  type HttpStatusError,
  InvalidRequestError,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
} from "../errors.ts";
import { isWithinDepth, parseJsonBounded } from "../protocol/json.ts";

/** The longest error detail kept in a message. */
const MAX_DETAIL_CHARS = 500;

const cut = (text: string): string =>
  text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;

/**
 * Parses an error body: JSON when it is JSON of bounded depth (see `MAX_JSON_DEPTH`), else the
 * text (cut short), so that nothing deep is kept on the error for code that walks it.
 */
export const parseErrorBody = (bytes: Uint8Array): unknown => {
  const text = new TextDecoder().decode(bytes);
  const parsed = parseJsonBounded(text);
  return parsed.ok ? parsed.value : cut(text);
};

/** The router's `detail`, when the body has one (a non-string one as JSON, cut short). */
export const detailOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null) return undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === "string") return detail.slice(0, MAX_DETAIL_CHARS);
  if (detail === undefined) return undefined;
  // `body` may come from anywhere (a caller's error body too): bound it before stringifying.
  if (!isWithinDepth(detail)) return "error detail nested too deep";
  return JSON.stringify(detail).slice(0, MAX_DETAIL_CHARS);
};

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "the router refused the request",
  401: "authentication failed",
  403: "forbidden (the model may not be allowed for this security tier)",
  404: "secure inference is not enabled on this router",
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
  },
): HttpStatusError => {
  const { payloadId, retryAfter } = context;
  const detail = detailOf(body) ?? STATUS_TEXT[status] ?? "unexpected status";
  let message = `Router answered ${status}: ${detail}`;
  // Say why when the cause is almost certainly the tier: the router has no TPM.
  if (status === 503 && context.securityTier === "maximum" && !/tpm/i.test(detail)) {
    message += ' (security_tier "maximum" needs a router with a TPM)';
  }
  const args: APIErrorArgs = { message, status, body, payloadId, retryAfter };
  switch (status) {
    case 400:
      return new InvalidRequestError(args);
    case 401:
      return new AuthenticationError(args);
    case 403:
      return new ForbiddenError(args);
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
  error instanceof APIConnectionError ||
  (error instanceof APIError && RETRIED_STATUSES.has(error.status));

/**
 * Parses `Retry-After`: whole seconds, or an HTTP date (relative to `nowMillis`).
 *
 * @param value The header value.
 * @param nowMillis The current time (from Effect's `Clock`, so tests control it).
 * @returns Seconds to wait (≥ 0), or `undefined` when absent or unreadable.
 */
export const parseRetryAfter = (
  value: string | undefined,
  nowMillis: number,
): number | undefined => {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed);
  // HTTP dates contain a comma or "GMT"; this keeps Date.parse from guessing at junk.
  if (!/GMT|,/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMillis) / 1000));
};
