/**
 * `SecureChatCompletion`: the Promise API, a drop-in for OpenAI's `chat.completions.create`
 * whose every prompt and answer is end-to-end encrypted.
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import type { KeyError, SecurityError } from "../errors.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletionRequestParams,
  StreamOptions,
} from "../protocol/chat.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { chunksOf, chunkStream } from "../openai/chunks.ts";
import { makeOpenAIHandler } from "../openai/handler.ts";
import { layerFetchOf, type NomyoServices } from "../client/layer.ts";
import { type ClientOptions, resolveOptions } from "../client/options.ts";
import { ClientRuntime, type RequestOptions } from "./runtime.ts";
import { SecureCompletion } from "../client/secure_completion.ts";

/** The three per-request client options of `create()`: taken out, never in the plaintext. */
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

/** The keys of `RequestOptions`. */
const REQUEST_OPTIONS: ReadonlySet<string> = new Set(["signal", "timeout"]);

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

/** The client's own request fields under the names of its options (never OpenAI fields). */
const CAMEL_BODY_FIELDS: Readonly<Record<string, string>> = {
  apiKey: "api_key",
  baseUrl: "base_url",
  baseURL: "base_url",
  routerUrl: "base_url",
  securityTier: "security_tier",
};

/**
 * A caller's mistake in the per-request options or the body that would otherwise be silently
 * ignored (a dropped `abortSignal` never aborts), or sent to the router as a model parameter
 * (a camel-case `apiKey` inside the encrypted prompt): its description, else `undefined`.
 */
const requestMisuse = (body: object, options: unknown): string | undefined => {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return "options must be an object ({ signal, timeout })";
  }
  for (const key of Object.keys(options)) {
    if (REQUEST_OPTIONS.has(key)) continue;
    const hint = Object.hasOwn(MISPLACED_OPTION, key) ? MISPLACED_OPTION[key] : undefined;
    return `unknown request option ${JSON.stringify(key.slice(0, 64))} ` +
      `(${hint ?? "the request options are signal and timeout"})`;
  }
  const signal: unknown = (options as RequestOptions).signal;
  if (
    signal !== undefined &&
    (typeof signal !== "object" || signal === null ||
      typeof (signal as AbortSignal).addEventListener !== "function")
  ) {
    return "signal must be an AbortSignal";
  }
  for (const key of Object.keys(body)) {
    if (Object.hasOwn(CAMEL_BODY_FIELDS, key)) {
      return `the request field ${key} is spelt ${CAMEL_BODY_FIELDS[key]} ` +
        "(otherwise it would reach the model as a parameter)";
    }
  }
  return undefined;
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
    this.#runtime = new ClientRuntime(layerFetchOf(resolved));
    this.#runtime.warmUp();
    const create = this.create.bind(this) as CreateFunction;
    this.chat = { completions: { create } };
    const handler = makeOpenAIHandler({
      hasApiKey: resolved.apiKey !== undefined,
      create: (body, { apiKey, securityTier, signal }) =>
        this.#complete(body, { apiKey, securityTier: securityTier as SecurityTier | undefined }, {
          signal,
        }),
    });
    this.fetch = (input, init) => {
      try {
        return handler(new Request(input, init));
      } catch (error) {
        return Promise.reject(error); // as fetch: a bad URL or init rejects, never throws
      }
    };
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
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return Promise.reject(new TypeError("Cannot send request: the request must be an object"));
    }
    const { security_tier, api_key, base_url, stream, stream_options, ...body } = request as
      & ChatCompletionRequest
      & ClientRequestFields;
    const completion = this.#complete(body, {
      securityTier: security_tier,
      apiKey: api_key,
      baseUrl: base_url,
    }, options);
    if (stream !== true) return completion;
    const includeUsage = typeof stream_options === "object" && stream_options !== null &&
      (stream_options as StreamOptions).include_usage === true;
    return completion.then((c) => chunkStream(() => chunksOf(c, { includeUsage })));
  }

  /** One encrypted, non-streaming completion: what every door ends in. */
  #complete(
    body: ChatCompletionRequest,
    overrides: {
      readonly securityTier?: SecurityTier | undefined;
      readonly apiKey?: string | undefined;
      readonly baseUrl?: string | undefined;
    },
    options: RequestOptions,
  ): Promise<ChatCompletion> {
    const misuse = requestMisuse(body, options);
    if (misuse !== undefined) {
      return Promise.reject(new TypeError(`Cannot send request: ${misuse}`));
    }
    if (
      options.timeout !== undefined &&
      (typeof options.timeout !== "number" || !Number.isFinite(options.timeout) ||
        options.timeout <= 0)
    ) {
      return Promise.reject(
        new TypeError("Cannot send request: timeout must be a positive number"),
      );
    }
    return this.#runtime.run(
      Effect.flatMap(SecureCompletion, (s) =>
        s.create(body, {
          ...overrides,
          timeout: options.timeout === undefined ? undefined : Duration.millis(options.timeout),
        })),
      options,
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
