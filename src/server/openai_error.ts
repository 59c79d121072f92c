/**
 * OpenAI's error answer, `{"error": {"message", "type", "param", "code"}}`, and the ids every
 * answer carries: the one shape every server of the library (the handler behind `client.fetch`,
 * the proxy, the bridge's own refusals) answers errors in, so each SDK raises its own class.
 *
 * @module
 */

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
  405: "invalid_request_error",
  408: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
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
 * Makes an OpenAI error answer.
 *
 * @param status The HTTP status (400–599).
 * @param message What went wrong.
 * @param code A stable code.
 * @param options The error type (default by status), `Retry-After` seconds, `retry: false`
 * to send `x-should-retry: false` (honoured by openai-node), the ids of the request (see
 * {@linkcode requestIdHeaders}), any other headers (e.g. `Allow`), and the field at fault as
 * `param`.
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
    readonly headers?: Readonly<Record<string, string>>;
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
  const headers = new Headers(options.headers);
  headers.set("content-type", "application/json");
  if (options.retryAfter !== undefined) headers.set("retry-after", String(options.retryAfter));
  if (options.retry === false) headers.set("x-should-retry", "false");
  for (const [name, value] of Object.entries(requestIdHeaders(options))) headers.set(name, value);
  return new Response(JSON.stringify(body), { status, headers });
};

/**
 * The one answer to a request body over the limit, from the handler behind `client.fetch` and
 * from the proxy alike (a declared length or a chunked body that grows past it): 413, code
 * `PayloadTooLarge`, the reason `SecurityError` uses for a plaintext over the protocol's limit.
 *
 * @param limit The limit in bytes.
 * @returns The answer.
 */
export const payloadTooLargeResponse = (limit: number): Response =>
  errorResponse(
    413,
    `Cannot read request: the body is over the ${sizeName(limit)} limit`,
    "PayloadTooLarge",
  );

/** `10 MiB` for 10485760, else the count of bytes. */
const sizeName = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
