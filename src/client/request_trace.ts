/**
 * What a request tells its caller and its spans besides the answer: the router's request id
 * on the result (`_request_id`, as openai-node's results carry it), and the span attributes of
 * a failure (its tag, status, reason: never its message or anything of the request).
 *
 * @module
 */
import { APIError } from "../errors.ts";

/**
 * Sets `_request_id` on `completion`, as openai-node does: a non-enumerable own property, so
 * the answer's JSON is what the router sent (`client.fetch` has it in `x-request-id`).
 *
 * @param completion The opened answer.
 * @param requestId The router's `x-request-id`, else the request's payload id.
 * @returns `completion`, with `_request_id`.
 */
export const withRequestId = <A extends object>(completion: A, requestId: string): A =>
  Object.defineProperty(completion, "_request_id", {
    value: requestId,
    enumerable: false,
    writable: true,
    configurable: true,
  });

/**
 * The attributes of a failed step, for its span: the error's tag, and its HTTP status or its
 * reason when it has one.
 *
 * @param error A failure of the client.
 * @returns Span attributes that reveal nothing of the request.
 */
export const spanAttributesOf = (
  error: { readonly _tag: string; readonly reason?: unknown },
): Record<string, string | number> => {
  const attributes: Record<string, string | number> = { "error.type": error._tag };
  if (error instanceof APIError && typeof error.status === "number") {
    attributes["http.response.status_code"] = error.status;
  }
  if (typeof error.reason === "string") attributes["nomyo.error.reason"] = error.reason;
  return attributes;
};
