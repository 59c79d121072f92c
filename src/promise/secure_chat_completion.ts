/**
 * `SecureChatCompletion`: the Promise API, a drop-in for OpenAI's `chat.completions.create`
 * whose every prompt and answer is end-to-end encrypted.
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import type { KeyError, SecurityError } from "../errors.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletionRequestParams,
  StreamOptions,
} from "../protocol/chat.ts";
import { type ClosedKeys, closedKeysError, ownData } from "../protocol/closed_keys.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { type RequestDoor, splitRequest } from "../protocol/request_fields.ts";
import { chunksOf, chunkStream } from "../openai/chunks.ts";
import { makeOpenAIFetch } from "../openai/handler.ts";
import { layerFetchOf, type NomyoServices, observabilityOf } from "../client/layer.ts";
import { type ClientOptions, resolveOptions } from "../client/options.ts";
import { ClientRuntime, type RequestOptions } from "./runtime.ts";
import { SecureCompletion } from "../client/secure_completion.ts";

/**
 * The three per-request client options of `create()`: applied (the `X-Security-Tier` header,
 * `Authorization`, the router) and taken out, never in the plaintext. Another spelling of them
 * in the body (`securityTier`, `apiKey`, `baseURL`, `routerUrl`, …), or one inherited from the
 * body's prototype, is a `TypeError` that names it; one on a polluted `Object.prototype` is
 * ignored.
 */
export interface ClientRequestFields {
  /** Security tier of this request. */
  readonly security_tier?: SecurityTier;
  /** API key of this request. */
  readonly api_key?: string;
  /** Router of this request. */
  readonly base_url?: string;
}

/**
 * What every body of `create()` is: the OpenAI chat completion request (our own loose type, or
 * any SDK's interface such as openai's `ChatCompletionCreateParams`) plus the client's fields.
 */
export type ChatCompletionCreateParamsBase =
  & (ChatCompletionRequest | ChatCompletionRequestParams)
  & ClientRequestFields;

/** A body without `stream: true`: `create()` resolves with the completion. */
export type ChatCompletionCreateParamsNonStreaming = ChatCompletionCreateParamsBase & {
  /** Absent, `false` or `null`. */
  readonly stream?: false | null;
};

/**
 * A body with `stream: true`: `create()` resolves with an async iterable of OpenAI chunks. The
 * protocol delivers the answer whole, so the first chunk arrives with the last; `stream` and
 * `stream_options` are taken out before encryption.
 */
export type ChatCompletionCreateParamsStreaming = ChatCompletionCreateParamsBase & {
  /** `true`. */
  readonly stream: true;
  /** `include_usage` adds a last chunk with the token counts. */
  readonly stream_options?: StreamOptions | null;
};

/**
 * The body of `create()`: the OpenAI chat completion request plus three per-request client
 * options (`security_tier`, `api_key`, `base_url`), which are taken out before encryption and
 * never reach the plaintext.
 */
export type ChatCompletionCreateParams =
  | ChatCompletionCreateParamsNonStreaming
  | ChatCompletionCreateParamsStreaming;

/** The OpenAI-style namespace: `client.chat.completions.create(...)`. */
export interface ChatNamespace {
  /** Completions. */
  readonly completions: {
    /** Same as `SecureChatCompletion.create`. */
    readonly create: CreateFunction;
  };
}

/** The overloads of `create()`, as openai-node types them. */
export interface CreateFunction {
  /** Streaming: an async iterable of chunks. */
  (
    request: ChatCompletionCreateParamsStreaming,
    options?: RequestOptions,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
  /** Non-streaming: the completion. */
  (request: ChatCompletionCreateParamsNonStreaming, options?: RequestOptions): Promise<
    ChatCompletion
  >;
  /** Either, when the type does not say which. */
  (
    request: ChatCompletionCreateParams,
    options?: RequestOptions,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

/** What a misplaced per-request option is instead. */
const MISPLACED_OPTION: Readonly<Record<string, string>> = {
  abortSignal: 'use "signal"',
  timeout_ms: 'use "timeout" (milliseconds)',
  apiKey: "put api_key in the request body",
  api_key: "put api_key in the request body",
  baseUrl: "put base_url in the request body",
  baseURL: "put base_url in the request body",
  base_url: "put base_url in the request body",
  securityTier: "put security_tier in the request body",
  security_tier: "put security_tier in the request body",
  maxRetries: "a client option: set it when making the client",
  headers: "headers are fixed by the protocol",
};

/** The closed keys of `RequestOptions` (an ignored `abortSignal` would never abort). */
const REQUEST_OPTION_KEYS: ClosedKeys = {
  action: "send request",
  label: "request option",
  known: ["signal", "timeout"],
  notes: MISPLACED_OPTION,
};

/** The body of `create()` applies every client field, `stream` as the chunks. */
const CREATE_DOOR: RequestDoor = {
  action: "send request",
  applies: ["securityTier", "apiKey", "baseUrl", "stream", "streamOptions"],
};

/**
 * The per-request options as own data (`signal`, `timeout`), or the `TypeError` of a caller's
 * mistake that would otherwise be silently ignored (a dropped `abortSignal` never aborts).
 */
const requestOptionsOf = (options: unknown): Either.Either<RequestOptions, TypeError> => {
  const refuse = (what: string) => Either.left(new TypeError(`Cannot send request: ${what}`));
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return refuse("options must be an object ({ signal, timeout })");
  }
  const keysError = closedKeysError(options, REQUEST_OPTION_KEYS);
  if (keysError !== undefined) return Either.left(keysError);
  const signal = ownData(options, "signal");
  if (
    signal !== undefined &&
    (typeof signal !== "object" || signal === null ||
      typeof (signal as AbortSignal).addEventListener !== "function")
  ) {
    return refuse("signal must be an AbortSignal");
  }
  const timeout = ownData(options, "timeout");
  if (
    timeout !== undefined &&
    (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0)
  ) {
    return refuse("timeout must be a positive number");
  }
  return Either.right({
    signal: signal as AbortSignal | undefined,
    timeout: timeout as number | undefined,
  });
};

/**
 * An OpenAI-compatible chat client whose every request and response is end-to-end encrypted
 * (AES-256-GCM payloads, RSA-OAEP-SHA256 key exchange).
 *
 * @example Against the bundled test router (for api.nomyo.ai pass only `apiKey`)
 * ```ts
 * import { SecureChatCompletion } from "@nomyo/client";
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter();
 * {
 *   await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
 *   const answer = await client.create({
 *     model: "Qwen/Qwen3-0.6B",
 *     messages: [{ role: "user", content: "Hello!" }],
 *   });
 *   console.log(answer.choices[0]?.message.content); // "Echo: Hello!"
 * }
 * await router.close();
 * ```
 */
export class SecureChatCompletion implements AsyncDisposable {
  readonly #runtime: ClientRuntime<NomyoServices, SecurityError | KeyError>;
  /** `client.chat.completions.create(...)`, for code written against the OpenAI SDK. */
  readonly chat: ChatNamespace;
  /**
   * A WHATWG `fetch` to hand to OpenAI-compatible SDKs, which then send every chat completion
   * end-to-end encrypted through this client: `POST …/chat/completions` (JSON or
   * `stream: true` event streams) is served by `create()`, as is the Responses API's
   * `POST …/responses` (translated to a chat completion and back), anything else answers 404. Router
   * errors keep their status in OpenAI's error shape, so each SDK raises its own class; the
   * client has already retried, so set the SDK's `maxRetries: 0`. The API key is the client's
   * when it has one, else the SDK's `Authorization: Bearer` value.
   *
   * @example With the OpenAI SDK (`npm:openai`)
   * ```ts ignore
   * import OpenAI from "openai";
   * import { SecureChatCompletion } from "@nomyo/client";
   * const client = new SecureChatCompletion({ apiKey: Deno.env.get("NOMYO_API_KEY") });
   * const openai = new OpenAI({
   *   baseURL: "https://api.nomyo.ai/v1",
   *   apiKey: "unused",
   *   maxRetries: 0,
   *   fetch: client.fetch,
   * });
   * const answer = await openai.chat.completions.create({
   *   model: "Qwen/Qwen3-0.6B",
   *   messages: [{ role: "user", content: "Hello!" }],
   * });
   * ```
   */
  readonly fetch: typeof globalThis.fetch;

  /**
   * Checks the options and starts making the client's key pair in the background.
   *
   * @param options See `ClientOptions`.
   * @throws {SecurityError} When the base URL is `http://` without `allowHttp`.
   * @throws {TypeError} On an unknown option, or one of the wrong type or range.
   */
  constructor(options: ClientOptions = {}) {
    const resolved = resolveOptions(options);
    // One logger, level, tracer and memory of warnings for the layer and every call.
    const observability = observabilityOf(resolved);
    this.#runtime = new ClientRuntime<NomyoServices, SecurityError | KeyError>(
      layerFetchOf(resolved, observability),
      observability.within,
    );
    this.#runtime.warmUp();
    const create = this.create.bind(this) as CreateFunction;
    this.chat = { completions: { create } };
    this.fetch = makeOpenAIFetch({
      hasApiKey: resolved.apiKey !== undefined,
      create: (body, { apiKey, securityTier, signal }) =>
        this.#complete(body, { apiKey, securityTier: securityTier as SecurityTier | undefined }, {
          signal,
        }),
    });
  }

  /**
   * Sends an encrypted chat completion and returns the decrypted answer with `_metadata`.
   *
   * With `stream: true` it resolves with an async iterable of OpenAI `chat.completion.chunk`s
   * made from the decrypted answer (role, content and `tool_calls` deltas, the finish reason,
   * a usage chunk with `stream_options.include_usage`; the last chunk carries `_metadata`).
   * The protocol delivers the answer whole, so the first chunk arrives with the last: what
   * streaming buys is that code written for streams runs unchanged.
   *
   * @param request The OpenAI body, plus `security_tier`, `api_key`, `base_url`.
   * @param options `signal` to abort, `timeout` (ms) per attempt.
   * @returns The completion, or the chunks for `stream: true`.
   * @example Streaming
   * ```ts
   * import { SecureChatCompletion } from "@nomyo/client";
   * import { startTestRouter } from "@nomyo/client/testing";
   * const router = await startTestRouter();
   * {
   *   await using client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true });
   *   const stream = await client.create({
   *     model: "Qwen/Qwen3-0.6B",
   *     messages: [{ role: "user", content: "Hello!" }],
   *     stream: true,
   *   });
   *   let text = "";
   *   for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
   *   console.log(text); // "Echo: Hello!"
   * }
   * await router.close();
   * ```
   */
  create(
    request: ChatCompletionCreateParamsStreaming,
    options?: RequestOptions,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
  /**
   * Sends an encrypted chat completion and returns the decrypted answer with `_metadata`.
   *
   * @param request The OpenAI body, plus `security_tier`, `api_key`, `base_url`.
   * @param options `signal` to abort, `timeout` (ms) per attempt.
   * @returns The completion.
   */
  create(
    request: ChatCompletionCreateParamsNonStreaming,
    options?: RequestOptions,
  ): Promise<ChatCompletion>;
  /**
   * Either of the two above, when the body's type does not say whether it streams.
   *
   * @param request The OpenAI body, plus `security_tier`, `api_key`, `base_url`.
   * @param options `signal` to abort, `timeout` (ms) per attempt.
   * @returns The completion, or the chunks for `stream: true`.
   */
  create(
    request: ChatCompletionCreateParams,
    options?: RequestOptions,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  create(
    request: ChatCompletionCreateParams,
    options: RequestOptions = {},
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const split = splitRequest(request, CREATE_DOOR);
    if (Either.isLeft(split)) return Promise.reject(split.left);
    const { body, fields } = split.right;
    const completion = this.#complete(body, {
      securityTier: fields.securityTier as SecurityTier | undefined,
      apiKey: fields.apiKey as string | undefined,
      baseUrl: fields.baseUrl as string | undefined,
    }, options);
    if (!fields.stream) return completion;
    const includeUsage = fields.includeUsage;
    return completion.then((c) => chunkStream(() => chunksOf(c, { includeUsage })));
  }

  /**
   * One encrypted, non-streaming completion: what every door ends in. The service checks the
   * fields' values (and the request contract once more).
   */
  #complete(
    body: ChatCompletionRequest,
    overrides: {
      readonly securityTier?: SecurityTier | undefined;
      readonly apiKey?: string | undefined;
      readonly baseUrl?: string | undefined;
    },
    options: unknown,
  ): Promise<ChatCompletion> {
    const checked = requestOptionsOf(options);
    if (Either.isLeft(checked)) return Promise.reject(checked.left);
    const { timeout } = checked.right;
    return this.#runtime.run(
      Effect.flatMap(SecureCompletion, (s) =>
        s.create(body, {
          ...overrides,
          timeout: timeout === undefined ? undefined : Duration.millis(timeout),
        })),
      checked.right,
    );
  }

  /** Alias of {@linkcode SecureChatCompletion.create} (the Python client's name). */
  acreate(
    request: ChatCompletionCreateParamsNonStreaming,
    options: RequestOptions = {},
  ): Promise<ChatCompletion> {
    return this.create(request, options);
  }

  /**
   * Disposes the client: requests in flight reject with `DisposedError`, key rotation stops,
   * buffers are zeroed, and every later call rejects with `DisposedError`. Idempotent.
   */
  dispose(): Promise<void> {
    return this.#runtime.dispose();
  }

  /** `await using client = new SecureChatCompletion()` disposes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
