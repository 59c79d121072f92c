/**
 * `SecureChatCompletion`: the Promise API, a drop-in for OpenAI's `chat.completions.create`
 * whose every prompt and answer is end-to-end encrypted.
 *
 * @module
 */
import { Duration, Effect } from "effect";
import type { KeyError, SecurityError } from "../errors.ts";
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { layerFetchOf, type NomyoServices } from "./layer.ts";
import { type ClientOptions, resolveOptions } from "./options.ts";
import { ClientRuntime, type RequestOptions } from "./runtime.ts";
import { SecureCompletion } from "./secure_completion.ts";

/**
 * The body of `create()`: the OpenAI chat completion request plus three per-request client
 * options, which are taken out before encryption and never reach the plaintext.
 */
export interface ChatCompletionCreateParams extends ChatCompletionRequest {
  /** Security tier of this request. */
  readonly security_tier?: SecurityTier;
  /** API key of this request. */
  readonly api_key?: string;
  /** Router of this request. */
  readonly base_url?: string;
}

/** The OpenAI-style namespace: `client.chat.completions.create(...)`. */
export interface ChatNamespace {
  /** Completions. */
  readonly completions: {
    /** Same as `SecureChatCompletion.create`. */
    readonly create: (
      request: ChatCompletionCreateParams,
      options?: RequestOptions,
    ) => Promise<ChatCompletion>;
  };
}

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
   * Checks the options and starts making the client's key pair in the background.
   *
   * @param options See `ClientOptions`.
   * @throws {SecurityError} When the base URL is `http://` without `allowHttp`.
   * @throws {TypeError} On an unknown option, or one of the wrong type or range.
   */
  constructor(options: ClientOptions = {}) {
    this.#runtime = new ClientRuntime(layerFetchOf(resolveOptions(options)));
    this.#runtime.warmUp();
    const create = this.create.bind(this);
    this.chat = { completions: { create } };
  }

  /**
   * Sends an encrypted chat completion and returns the decrypted answer with `_metadata`.
   *
   * @param request The OpenAI body, plus `security_tier`, `api_key`, `base_url`.
   * @param options `signal` to abort, `timeout` (ms) per attempt.
   * @returns The completion.
   */
  create(
    request: ChatCompletionCreateParams,
    options: RequestOptions = {},
  ): Promise<ChatCompletion> {
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return Promise.reject(new TypeError("Cannot send request: the request must be an object"));
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
    const { security_tier, api_key, base_url, ...body } = request;
    return this.#runtime.run(
      Effect.flatMap(SecureCompletion, (s) =>
        s.create(body, {
          securityTier: security_tier,
          apiKey: api_key,
          baseUrl: base_url,
          timeout: options.timeout === undefined ? undefined : Duration.millis(options.timeout),
        })),
      options,
    );
  }

  /** Alias of {@linkcode SecureChatCompletion.create} (the Python client's name). */
  acreate(
    request: ChatCompletionCreateParams,
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
