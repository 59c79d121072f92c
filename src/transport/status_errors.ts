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
  NotFoundError,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
} from "../errors.ts";
import { defineOwn, isWithinDepth, parseJsonBounded } from "../protocol/json.ts";

/** The longest error detail kept in a message. */
const MAX_DETAIL_CHARS = 500;

const cut = (text: string): string =>
  text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;

/** What replaces a secret a router echoed back. */
const REDACTED = "[redacted]";

/** `text` with every occurrence of each secret replaced by {@linkcode REDACTED}. */
const scrubText = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((t, secret) => secret === "" ? t : t.replaceAll(secret, REDACTED), text);

/**
 * A parsed JSON value (of bounded depth) with the secrets scrubbed from every string and key:
 * JSON escapes (`\u0073k-…`) can spell a secret that the raw text does not hold.
 */
const scrubJson = (value: unknown, secrets: ReadonlyArray<string>): unknown => {
  if (typeof value === "string") return scrubText(value, secrets);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, secrets));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // defineOwn: a key named "__proto__" stays a plain entry.
    defineOwn(out, scrubText(key, secrets), scrubJson(v, secrets));
  }
  return out;
};

/**
 * Parses an error body: JSON when it is JSON of bounded depth (see `MAX_JSON_DEPTH`), else the
 * text (cut short), so that nothing deep is kept on the error for code that walks it. Every
 * occurrence of a secret (the request's API key, which a hostile router can echo back in its
 * `detail`) is replaced by `[redacted]`, before the body reaches an error, a log or an SDK.
 *
 * @param bytes The error body.
 * @param secrets Values that must not appear (the API key of the request).
 * @returns The parsed, scrubbed body.
 */
export const parseErrorBody = (bytes: Uint8Array, secrets: ReadonlyArray<string> = []): unknown => {
  const text = new TextDecoder().decode(bytes);
  const parsed = parseJsonBounded(text);
  return parsed.ok ? scrubJson(parsed.value, secrets) : cut(scrubText(text, secrets));
};

/**
 * Control characters (C0, DEL, C1) and bidirectional overrides: in a message they would let a
 * router forge log lines (a newline, then `level=ERROR …`), recolour a terminal (ANSI escapes)
 * or reorder what a reader sees.
 */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each unprintable character written as its `\uXXXX` escape. */
const printable = (text: string): string =>
  text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * The router's `detail`, when the body has one (a non-string one as JSON), cut short and with
 * control characters escaped, ready for a message.
 */
export const detailOf = (body: unknown): string | undefined => {
  if (typeof body !== "object" || body === null) return undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === "string") return printable(detail.slice(0, MAX_DETAIL_CHARS));
  if (detail === undefined) return undefined;
  // `body` may come from anywhere (a caller's error body too): bound it before stringifying.
  if (!isWithinDepth(detail)) return "error detail nested too deep";
  return printable(JSON.stringify(detail).slice(0, MAX_DETAIL_CHARS));
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

/** Longest header value kept in `APIError.headers`. */
const MAX_HEADER_CHARS = 1024;
/** Most headers kept in `APIError.headers`. */
const MAX_HEADERS = 64;
/** Headers never kept: they can carry a session credential. */
const DROPPED_HEADERS: ReadonlySet<string> = new Set(["set-cookie", "set-cookie2"]);

/**
 * The router's response headers as a plain record for `APIError.headers`: names lowercased, at
 * most 64 of them, no cookies, no value over 1024 characters, and no value that holds one of
 * `secrets` (a hostile router could echo the API key back).
 *
 * @param headers The response headers.
 * @param secrets Values that must not appear (the API key of the request).
 * @returns The record.
 */
export const responseHeaders = (
  headers: Readonly<Record<string, string>>,
  secrets: ReadonlyArray<string> = [],
): Record<string, string> => {
  const out: Record<string, string> = {};
  let kept = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (kept >= MAX_HEADERS) break;
    const key = name.toLowerCase();
    if (DROPPED_HEADERS.has(key) || value.length > MAX_HEADER_CHARS) continue;
    if (
      secrets.some((secret) => secret !== "" && (value.includes(secret) || key.includes(secret)))
    ) {
      continue;
    }
    // defineOwn: a header named "__proto__" stays a plain entry.
    defineOwn(out, key, value);
    kept++;
  }
  return out;
};

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

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 date, asctime date. Case-sensitive. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds of a calendar date and time, or `undefined` when a field is out of range. */
const utcMillis = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined => {
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const at = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March: refuse instead.
  return new Date(at).getUTCDate() === day ? at : undefined;
};

/** Milliseconds of an HTTP-date (RFC 9110), or `undefined` when `text` is not one. */
const parseHttpDate = (text: string): number | undefined => {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    return utcMillis(+m[3]!, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    // Two-digit years: RFC 9110 reads one more than 50 years ahead as the past century; this
    // reads 70–99 as 19xx and the rest as 20xx, close enough for a retry delay.
    const yy = +m[3]!;
    return utcMillis(
      yy >= 70 ? 1900 + yy : 2000 + yy,
      MONTHS.indexOf(m[2]!),
      +m[1]!,
      +m[4]!,
      +m[5]!,
      +m[6]!,
    );
  }
  m = ASCTIME_DATE.exec(text);
  if (m !== null) {
    return utcMillis(+m[6]!, MONTHS.indexOf(m[1]!), +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  }
  return undefined;
};

/** Optional whitespace is SP and HTAB only (`String.trim` would also take NBSP and more). */
const trimOws = (value: string): string => {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return value.slice(start, end);
};

/**
 * Parses `Retry-After` by RFC 9110's grammar only: `delta-seconds` (digits) or an HTTP-date
 * (relative to `nowMillis`). Anything else (`"2, 3"`, `"1.5"`, `"soon"`, a date in another
 * format) is treated as absent, never as "now".
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
  const trimmed = trimOws(value);
  if (/^\d+$/.test(trimmed)) {
    // Huge values mean "a long time"; keep them finite (and over any cap).
    return trimmed.length > 10 ? 2 ** 31 : Number(trimmed);
  }
  if (trimmed.length > 40) return undefined;
  const at = parseHttpDate(trimmed);
  return at === undefined ? undefined : Math.max(0, Math.ceil((at - nowMillis) / 1000));
};
