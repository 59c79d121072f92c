/**
 * The one OpenAI-compatible request handler behind `client.fetch`, the local proxy and the
 * streaming shape: `POST …/chat/completions` with an OpenAI JSON body in, the decrypted answer
 * out as OpenAI JSON or as an OpenAI event stream; `POST …/responses` (the Responses API)
 * translated to the same chat request and back (see `responses_door.ts`). Another method on
 * those paths is a 405, everything else a 404, in OpenAI's error shape.
 *
 * @module
 */
import * as Either from "effect/Either";
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import { MAX_PLAINTEXT_BYTES } from "../protocol/headers.ts";
import { ownData } from "../protocol/closed_keys.ts";
import { isJsonObject, parseJsonBounded } from "../protocol/json.ts";
import { type RequestDoor, splitRequest } from "../protocol/request_fields.ts";
import { decodeUtf8Strict } from "../protocol/utf8.ts";
import { chunksOf } from "./chunks.ts";
import { readBody } from "../server/read_body.ts";
import {
  connectionFailureResponse,
  errorResponse,
  fetchFailure,
  libraryErrorResponse,
  payloadTooLargeResponse,
  requestIdHeaders,
} from "./errors.ts";
import { RESPONSES_PATH, responsesDoor } from "./responses_door.ts";
import { SSE_HEADERS, sseBody } from "./sse.ts";

/** What the handler needs from a client: one encrypted, non-streaming completion. */
export interface CompletionBackend {
  /**
   * Sends `request` (already stripped of `stream`, `stream_options` and the client's own
   * fields) and resolves with the decrypted answer; rejects with a library error.
   */
  readonly create: (
    request: ChatCompletionRequest,
    options: {
      readonly apiKey: string | undefined;
      readonly securityTier: string | undefined;
      readonly signal: AbortSignal;
    },
  ) => Promise<ChatCompletion>;
  /** Whether the client has its own API key; then the caller's `Authorization` is ignored. */
  readonly hasApiKey: boolean;
}

/** An OpenAI-compatible HTTP handler: a WHATWG `Request` in, a `Response` out. */
export type OpenAIHandler = (request: Request) => Promise<Response>;

/** The largest request body read: the protocol's plaintext limit. */
export const MAX_REQUEST_BYTES: number = MAX_PLAINTEXT_BYTES;

/**
 * Whether the handler serves a path: any path ending in `/chat/completions` or `/responses`.
 *
 * @param pathname A URL's path.
 * @returns `true` for the chat completion and Responses endpoints.
 */
export const servesPath = (pathname: string): boolean =>
  /(^|\/)chat\/completions$/.test(pathname) || RESPONSES_PATH.test(pathname);

/**
 * The answer to a request the handler does not serve: 405 naming the allowed methods on the
 * endpoint, 404 elsewhere, in OpenAI's error shape.
 *
 * @param pathname The request's path.
 * @param method The request's method.
 * @param allow The `Allow` header: `"POST"` for `client.fetch`, more where more is served.
 * @returns The answer.
 */
export const notServedResponse = (pathname: string, method: string, allow = "POST"): Response =>
  servesPath(pathname)
    ? errorResponse(
      405,
      `Cannot serve request: ${method.slice(0, 20)} is not served here; use POST`,
      "method_not_allowed",
      { headers: { allow } },
    )
    : errorResponse(
      404,
      "Cannot serve request: only POST /chat/completions and POST /responses are served here",
      "not_found",
    );

/**
 * The key of a `fetch` made by {@linkcode makeOpenAIFetch} under which it carries its
 * answering entry: the same handler, except that a failure without a status (no connection,
 * a timeout, a disposed client) is answered 502 or 504 instead of rejected. The proxy uses it;
 * SDKs get the `fetch`, which rejects as `fetch` does.
 */
export const answeringFailures: unique symbol = Symbol("@nomyo/client/answeringFailures");

/**
 * The client's fields an HTTP caller may set: the tier and the streaming shape. `api_key` and
 * `base_url` are refused: a caller of a proxy must not redirect the client's key to another
 * router (the key comes from `Authorization: Bearer`, the router from the client).
 */
const HANDLER_DOOR: RequestDoor = {
  action: "send request",
  applies: ["securityTier", "stream", "streamOptions"],
  refusals: {
    apiKey: "send the key as Authorization: Bearer",
    baseUrl: "the router is the client's; configure it there",
  },
};

const bearerToken = (authorization: string | null): string | undefined => {
  const match = authorization === null ? null : /^Bearer\s+(\S.*)$/i.exec(authorization.trim());
  return match?.[1];
};

/**
 * Makes the handler on a client's completion function.
 *
 * - `POST` to any path ending in `/chat/completions` with a JSON object body (at most 10 MiB):
 *   the body is the OpenAI request, taken apart by the request contract (`splitRequest`):
 *   `security_tier` in it, or else an `X-Security-Tier` header, sets the tier; `stream` and
 *   `stream_options` give the event stream (the protocol answers whole); `api_key` and
 *   `base_url`, in any spelling, are a 400 naming the field (a caller of a proxy must not
 *   redirect the client's key to another router), as is any other spelling of the tier. The
 *   API key is the client's when it has one, else the request's `Authorization: Bearer`
 *   value. The request's signal cancels.
 * - The answer is the completion as JSON (with `_metadata`, and `x-request-id` and
 *   `x-payload-id` = payload id),
 *   or with `stream: true` an OpenAI event stream (see `completionToChunks`).
 * - `POST` to a path ending in `/responses`: the same, with the body a Responses request
 *   translated to the chat request (a field the protocol cannot serve is a 400 naming it) and
 *   the answer a `Response` object or the Responses event stream (see `responsesDoor`).
 * - Errors: see `libraryErrorResponse`; bad JSON 400, too large 413 (`PayloadTooLarge`),
 *   another method on an endpoint 405, anything else 404. Failures without a status reject,
 *   as `fetch` does (see `fetchFailure`), or with `failures: "answer"` are answered 502 / 504
 *   (see `connectionFailureResponse`); an abort rejects with the signal's reason.
 *
 * @param backend The client's completion function.
 * @param options `failures`: `"reject"` (default, as `fetch`) or `"answer"` (the proxy).
 * @returns The handler.
 */
export const makeOpenAIHandler = (
  backend: CompletionBackend,
  options: { readonly failures?: "reject" | "answer" } = {},
): OpenAIHandler =>
async (request) => {
  const { pathname } = new URL(request.url);
  if (request.method !== "POST" || !servesPath(pathname)) {
    await request.body?.cancel().catch(() => undefined);
    return notServedResponse(pathname, request.method);
  }
  const read = await readBody(request.body, {
    maxBytes: MAX_REQUEST_BYTES,
    declaredLength: request.headers.get("content-length"),
  });
  if (read.kind !== "body") {
    if (read.kind === "failed" && request.signal.aborted) {
      throw request.signal.reason ?? new DOMException("The operation was aborted", "AbortError");
    }
    // The caller's own body stream failed: reject, as fetch does.
    if (read.kind === "failed") throw new TypeError("Cannot read request: the body stream failed");
    return payloadTooLargeResponse(MAX_REQUEST_BYTES);
  }
  const bytes = read.bytes;
  let parsed: unknown;
  try {
    // The one depth bound of every parser (`MAX_JSON_DEPTH`): re-serializing deeper JSON would
    // overflow the stack.
    const bounded = parseJsonBounded(decodeUtf8Strict(bytes));
    parsed = bounded.ok ? bounded.value : undefined;
  } catch {
    parsed = undefined; // not UTF-8
  } finally {
    bytes.fill(0);
  }
  if (!isJsonObject(parsed)) {
    return errorResponse(
      400,
      "Cannot read request: the body is not a UTF-8 JSON object (or nests too deep)",
      "invalid_json",
    );
  }
  const split = splitRequest(parsed, HANDLER_DOOR);
  if (Either.isLeft(split)) return errorResponse(400, split.left.message, "invalid_request");
  const { body, fields } = split.right;
  // The Responses API: its body (with its own `stream` and `stream_options`, own data only)
  // translated to the one chat request, its answer back.
  const door = RESPONSES_PATH.test(pathname)
    ? responsesDoor({
      ...body,
      stream: ownData(parsed, "stream"),
      stream_options: ownData(parsed, "stream_options"),
    })
    : undefined;
  if (door instanceof Response) return door;
  if (
    door === undefined &&
    (typeof ownData(body, "model") !== "string" || !Array.isArray(ownData(body, "messages")))
  ) {
    return errorResponse(
      400,
      "Cannot send request: model must be a string and messages an array",
      "invalid_request",
    );
  }
  const headerTier = request.headers.get("x-security-tier") ?? undefined;
  const securityTier = fields.securityTier === undefined ? headerTier : fields.securityTier;
  let completion: ChatCompletion;
  try {
    completion = await backend.create(door?.request ?? body, {
      apiKey: backend.hasApiKey ? undefined : bearerToken(request.headers.get("authorization")),
      securityTier: securityTier as string | undefined,
      signal: request.signal,
    });
  } catch (error) {
    if (request.signal.aborted) {
      throw request.signal.reason ?? new DOMException("The operation was aborted", "AbortError");
    }
    const answer = libraryErrorResponse(error);
    if (answer !== undefined) return answer;
    if (options.failures === "answer") return connectionFailureResponse(error);
    throw fetchFailure(error);
  }
  // The router's request id when it sent one (`_request_id`), as for errors.
  const headers = requestIdHeaders({
    requestID: completion._request_id,
    payloadId: completion._metadata.payload_id,
  });
  if (door !== undefined) return door.answer(completion, headers);
  if (fields.stream) {
    return new Response(sseBody(chunksOf(completion, { includeUsage: fields.includeUsage })), {
      status: 200,
      headers: { ...SSE_HEADERS, ...headers },
    });
  }
  return new Response(JSON.stringify(completion), {
    status: 200,
    headers: { "content-type": "application/json", ...headers },
  });
};

/**
 * Makes the WHATWG `fetch` SDKs are given (`client.fetch`) on a client's completion function:
 * the handler of {@linkcode makeOpenAIHandler}, rejecting as `fetch` does, that also carries
 * its answering entry under {@linkcode answeringFailures} for the proxy.
 *
 * @param backend The client's completion function.
 * @returns The `fetch`.
 */
export const makeOpenAIFetch = (backend: CompletionBackend): typeof globalThis.fetch => {
  const handler = makeOpenAIHandler(backend);
  const answering = makeOpenAIHandler(backend, { failures: "answer" });
  const fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      return handler(new Request(input, init));
    } catch (error) {
      return Promise.reject(error); // as fetch: a bad URL or init rejects, never throws
    }
  };
  Object.defineProperty(fetch, answeringFailures, { value: answering });
  return fetch as typeof globalThis.fetch;
};
