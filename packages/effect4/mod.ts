/**
 * # @nomyo/effect4
 *
 * The end-to-end encrypted NOMYO client for **Effect 4** apps: a {@linkcode NomyoClient}
 * service with `create` (an Effect) and `stream` (a v4 `Stream` of chat completion chunks), a
 * {@linkcode layer} that disposes the client when its scope closes, and the client's own error
 * classes in the error channel, so `Effect.catchTag("SecurityError", …)` works.
 *
 * It reaches the client through its Promise facade (`SecureChatCompletion` of `@nomyo/client`),
 * whose Effect 3 runtime stays private to it: the app's Effect 4 and the client's Effect 3 never
 * exchange a fiber, a layer or a service, only Promises, plain values and error instances.
 * Interrupting a request aborts it (its `AbortSignal`); closing the layer's scope disposes the
 * client (keys zeroed, timers stopped).
 *
 * @example An encrypted completion and a stream, against the bundled test router
 * ```ts
 * import { Effect, Stream } from "effect";
 * import { NomyoClient, layer } from "@nomyo/effect4";
 * import { startTestRouter } from "@nomyo/client/testing";
 *
 * const router = await startTestRouter();
 * const program = Effect.gen(function* () {
 *   const nomyo = yield* NomyoClient;
 *   const answer = yield* nomyo.create({
 *     model: "echo",
 *     messages: [{ role: "user", content: "Hello!" }],
 *   });
 *   const chunks = yield* Stream.runCollect(
 *     nomyo.stream({ model: "echo", messages: [{ role: "user", content: "Hi" }] }),
 *   );
 *   return [answer.choices[0]?.message.content, chunks.length > 0];
 * }).pipe(
 *   Effect.catchTag("SecurityError", (error) => Effect.succeed([error.reason, false])),
 *   Effect.provide(layer({ baseUrl: router.url, allowHttp: true })),
 * );
 * const [text, streamed] = await Effect.runPromise(program);
 * if (text !== "Echo: Hello!" || streamed !== true) throw new Error("unexpected answer");
 * await router.close();
 * ```
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import {
  type AbortError,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionCreateParamsNonStreaming,
  type ChatCompletionCreateParamsStreaming,
  type ClientOptions,
  type CompletionError,
  type DisposedError,
  type KeyError,
  NomyoError,
  type RequestOptions,
  SecureChatCompletion,
  type SecurityError,
} from "@nomyo/client";

/**
 * What a request can fail with: the client's error classes (each with its literal `_tag`), as
 * the Promise API rejects with them. A defect (a bug, a `TypeError` for misuse) is not here: it
 * dies.
 */
export type NomyoClientError = CompletionError | DisposedError | AbortError;

/** What building the client can fail with: refused options (e.g. `http:` without `allowHttp`). */
export type NomyoClientBuildError = SecurityError | KeyError;

/** The body of {@linkcode NomyoClient.stream}: a chat completion request, without `stream`. */
export type StreamRequest = Omit<ChatCompletionCreateParamsStreaming, "stream">;

/** The end-to-end encrypted chat completion client, as an Effect 4 service. */
export interface NomyoClient {
  /**
   * Encrypts `body`, sends it, and opens the answer.
   *
   * @param body An OpenAI chat completion request (`stream` absent or `false`).
   * @param options A per-call `timeout` (ms); interruption aborts the request.
   * @returns The completion, with `_metadata`.
   */
  readonly create: (
    body: ChatCompletionCreateParamsNonStreaming,
    options?: Omit<RequestOptions, "signal">,
  ) => Effect.Effect<ChatCompletion, NomyoClientError>;
  /**
   * The streaming shape: the answer as chat completion chunks (decrypted whole first: the
   * protocol delivers each answer whole).
   *
   * @param body An OpenAI chat completion request.
   * @param options A per-call `timeout` (ms); interruption aborts the request.
   * @returns A `Stream` of chunks, ending with the finish reason (and usage when asked for).
   */
  readonly stream: (
    body: StreamRequest,
    options?: Omit<RequestOptions, "signal">,
  ) => Stream.Stream<ChatCompletionChunk, NomyoClientError>;
}

/** Tag for {@linkcode NomyoClient}. */
export const NomyoClient: Context.Service<NomyoClient, NomyoClient> = Context.Service<NomyoClient>(
  "@nomyo/effect4/NomyoClient",
);

/**
 * A client error (typed failure) or anything else (a defect: `TypeError`, bug). Every subclass
 * of `NomyoError` is in {@linkcode NomyoClientError}; a bare `NomyoError` is the facade's
 * "unexpected failure" (a bug inside it), so it dies.
 */
const toFailure = <E>(error: unknown): Effect.Effect<never, E> =>
  error instanceof NomyoError && error._tag !== "NomyoError"
    ? Effect.fail(error as E)
    : Effect.die(error);

/**
 * The body's own `stream` data field, if any: an inherited one (a polluted `Object.prototype`)
 * or a getter is not read here; the client refuses a getter itself.
 */
const streamOf = (body: unknown): unknown =>
  typeof body === "object" && body !== null
    ? Object.getOwnPropertyDescriptor(body, "stream")?.value
    : undefined;

/** A caller's mistake: a defect with a `TypeError`, as the Promise facade's own. */
const misuse = (what: string): Effect.Effect<never> =>
  Effect.die(new TypeError(`Cannot send request: ${what}`));

/** A Promise of the facade as an Effect: its signal aborts on interruption. */
const fromPromise = <A>(
  run: (signal: AbortSignal) => Promise<A>,
): Effect.Effect<A, NomyoClientError> =>
  Effect.tryPromise({ try: run, catch: (error) => error }).pipe(
    Effect.catch((error) => toFailure<NomyoClientError>(error)),
  );

/**
 * The service over a client the caller owns (and disposes).
 *
 * @param client A `SecureChatCompletion` of `@nomyo/client`.
 * @returns The {@linkcode NomyoClient} service; disposing stays the caller's.
 */
export const fromClient = (client: SecureChatCompletion): NomyoClient => ({
  create: (body, options) =>
    streamOf(body) === true
      ? misuse("stream: true is for stream(), which gives a Stream of chunks")
      : fromPromise((signal) => client.create(body, { ...options, signal })),
  stream: (body, options) =>
    Stream.unwrap(
      streamOf(body) !== undefined && streamOf(body) !== true
        ? misuse("stream() always streams: leave stream out or set it to true")
        : fromPromise((signal) => client.create({ ...body, stream: true }, { ...options, signal }))
          .pipe(
            Effect.map((chunks) =>
              Stream.fromAsyncIterable(chunks, (error) => error).pipe(
                Stream.catch((error) => Stream.fromEffect(toFailure<NomyoClientError>(error))),
              )
            ),
          ),
    ),
});

/**
 * Makes a client for the scope: disposed (keys zeroed, timers stopped) when the scope closes.
 *
 * @param options The client's options, as for `SecureChatCompletion`.
 * @returns The {@linkcode NomyoClient} service, in the scope.
 */
export const make = (
  options: ClientOptions = {},
): Effect.Effect<NomyoClient, NomyoClientBuildError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({ try: () => new SecureChatCompletion(options), catch: (error) => error }).pipe(
      Effect.catch((error) => toFailure<NomyoClientBuildError>(error)),
    ),
    (client) => Effect.promise(() => client.dispose()),
  ).pipe(Effect.map(fromClient));

/**
 * The {@linkcode NomyoClient} service as a layer; the client is disposed when the layer's scope
 * closes.
 *
 * @param options The client's options, as for `SecureChatCompletion`.
 * @returns A layer of {@linkcode NomyoClient}.
 */
export const layer = (
  options: ClientOptions = {},
): Layer.Layer<NomyoClient, NomyoClientBuildError> => Layer.effect(NomyoClient, make(options));
