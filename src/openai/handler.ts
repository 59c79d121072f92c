/**
 * The one OpenAI-compatible request handler behind `client.fetch`, the local proxy and the
 * streaming shape: `POST …/chat/completions` with an OpenAI JSON body in, the decrypted answer
 * out as OpenAI JSON or as an OpenAI event stream; `POST …/responses` (the Responses API)
 * translated to the same chat request and back (see `responses_door.ts`). Everything else is a
 * 404 in OpenAI's error shape.
 *
 * @module
 */
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import { MAX_PLAINTEXT_BYTES } from "../protocol/headers.ts";
import { parseJsonBounded } from "../protocol/json.ts";
import { decodeUtf8Strict } from "../protocol/utf8.ts";
import { chunksOf } from "./chunks.ts";
import { errorResponse, fetchFailure, libraryErrorResponse, requestIdHeaders } from "./errors.ts";
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
const notFound = (): Response =>
  errorResponse(
    404,
    "Cannot serve request: only POST /chat/completions and POST /responses are served here",
    "not_found",
  );

/** Reads at most `limit` bytes of a body; `undefined` when it is longer. */
const readCapped = async (
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> => {
  if (body === null) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      size += r.value.length;
      parts.push(r.value);
      if (size > limit) {
        for (const part of parts) part.fill(0); // the prompt, as below
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
    }
  } finally {
    reader.releaseLock();
  }
  // One chunk (the proxy's whole body, a `fetch` with a buffer body) is the body: no copy.
  if (parts.length === 1) return parts[0] as Uint8Array<ArrayBuffer>;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
    part.fill(0); // the prompt: do not leave copies behind
  }
  return bytes;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const bearerToken = (authorization: string | null): string | undefined => {
  const match = authorization === null ? null : /^Bearer\s+(\S.*)$/i.exec(authorization.trim());
  return match?.[1];
};

/**
 * Makes the handler on a client's completion function.
 *
 * - `POST` to any path ending in `/chat/completions` with a JSON object body (at most 10 MiB):
 *   the body is the OpenAI request. `security_tier` in it, or else an `X-Security-Tier`
 *   header, sets the tier; `stream` and `stream_options` are taken out (the protocol has no
 *   streaming); `api_key` and `base_url` are refused (a caller of a proxy must not redirect
 *   the client's key to another router). The API key is the client's when it has one, else
 *   the request's `Authorization: Bearer` value. The request's signal cancels.
 * - The answer is the completion as JSON (with `_metadata`, and `x-request-id` and
 *   `x-payload-id` = payload id),
 *   or with `stream: true` an OpenAI event stream (see `completionToChunks`).
 * - `POST` to a path ending in `/responses`: the same, with the body a Responses request
 *   translated to the chat request (a field the protocol cannot serve is a 400 naming it) and
 *   the answer a `Response` object or the Responses event stream (see `responsesDoor`).
 * - Errors: see `libraryErrorResponse`; bad JSON 400, too large 413, anything else 404.
 *   Failures without a status reject, as `fetch` does (see `fetchFailure`); an abort rejects
 *   with the signal's reason.
 *
 * @param backend The client's completion function.
 * @returns The handler.
 */
export const makeOpenAIHandler = (backend: CompletionBackend): OpenAIHandler => async (request) => {
  const { pathname } = new URL(request.url);
  const isResponses = RESPONSES_PATH.test(pathname);
  if (request.method !== "POST" || !(isResponses || /(^|\/)chat\/completions$/.test(pathname))) {
    await request.body?.cancel().catch(() => undefined);
    return notFound();
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  const bytes = declared > MAX_REQUEST_BYTES
    ? undefined
    : await readCapped(request.body, MAX_REQUEST_BYTES);
  if (bytes === undefined) {
    await request.body?.cancel().catch(() => undefined);
    return errorResponse(
      413,
      "Cannot read request: the body is over the 10 MiB limit",
      "PayloadTooLarge",
    );
  }
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
  if (!isRecord(parsed)) {
    return errorResponse(
      400,
      "Cannot read request: the body is not a UTF-8 JSON object (or nests too deep)",
      "invalid_json",
    );
  }
  const {
    stream,
    stream_options: streamOptions,
    security_tier: bodyTier,
    api_key: apiKeyField,
    base_url: baseUrlField,
    ...body
  } = parsed;
  if (apiKeyField !== undefined || baseUrlField !== undefined) {
    return errorResponse(
      400,
      "Cannot send request: api_key and base_url are not accepted here; " +
        "send the key as Authorization: Bearer and configure the router on the client",
      "invalid_request",
    );
  }
  // The Responses API: its body translated to the one chat request, its answer back.
  const door = isResponses
    ? responsesDoor({ ...body, stream, stream_options: streamOptions })
    : undefined;
  if (door instanceof Response) return door;
  if (door === undefined && (typeof body.model !== "string" || !Array.isArray(body.messages))) {
    return errorResponse(
      400,
      "Cannot send request: model must be a string and messages an array",
      "invalid_request",
    );
  }
  const headerTier = request.headers.get("x-security-tier") ?? undefined;
  const securityTier = bodyTier === undefined || bodyTier === null ? headerTier : bodyTier;
  let completion: ChatCompletion;
  try {
    completion = await backend.create(door?.request ?? body as unknown as ChatCompletionRequest, {
      apiKey: backend.hasApiKey ? undefined : bearerToken(request.headers.get("authorization")),
      securityTier: securityTier as string | undefined,
      signal: request.signal,
    });
  } catch (error) {
    if (request.signal.aborted) {
      throw request.signal.reason ?? new DOMException("The operation was aborted", "AbortError");
    }
    const answer = libraryErrorResponse(error);
    if (answer === undefined) throw fetchFailure(error);
    return answer;
  }
  const headers = requestIdHeaders({ payloadId: completion._metadata.payload_id });
  if (door !== undefined) return door.answer(completion, headers);
  if (stream === true) {
    const includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true;
    return new Response(sseBody(chunksOf(completion, { includeUsage })), {
      status: 200,
      headers: { ...SSE_HEADERS, ...headers },
    });
  }
  return new Response(JSON.stringify(completion), {
    status: 200,
    headers: { "content-type": "application/json", ...headers },
  });
};
