/**
 * `@nomyo/client/effect-ai`: `@effect/ai`'s `LanguageModel` over the end-to-end encrypted
 * `SecureCompletion` service, in the style of `@effect/ai-openai`'s `OpenAiLanguageModel`
 * (which cannot be reused: it speaks OpenAI's `/responses` API, NOMYO routers speak Chat
 * Completions). Import it as a namespace, the way Effect modules read:
 * `import * as NomyoLanguageModel from "@nomyo/client/effect-ai"`.
 *
 * - `layer({ model, config })` / `make(…)`: the `LanguageModel` on the `SecureCompletion` in
 *   context (from `nomyoLayer` / `nomyoLayerFetch`); `model(…)` as an `@effect/ai` `Model`.
 * - Prompts (system, user, assistant, tool messages; text, image, tool-call and tool-result
 *   parts), `Toolkit`s (OpenAI `tools` / `tool_calls`, JSON Schema of the parameters),
 *   `generateObject` (`response_format: json_schema`), finish reasons and usage are mapped.
 * - `streamText` is emulated: the protocol delivers each answer whole, so the stream is made
 *   from the whole answer (one delta per text), after it has been decrypted.
 * - Per-call settings (security tier, timeout, API key, OpenAI parameters): `Config`, through
 *   the layer's `config` or {@linkcode withConfigOverride}.
 * - Every client error becomes an `AiError` with the original as `cause`: router statuses are
 *   `HttpResponseError` (`response.status`), connection failures `HttpRequestError`, refused
 *   requests `MalformedInput`, refused answers `MalformedOutput`, the rest `UnknownError`.
 *
 * Needs `@effect/ai` (^0.37, Effect 3) next to `effect` and `@effect/platform`; the main
 * entry point does not.
 *
 * @example generateText and a tool call, against the bundled test router
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel";
 * import * as Tool from "@effect/ai/Tool";
 * import * as Toolkit from "@effect/ai/Toolkit";
 * import { Effect, Layer, Schema } from "effect";
 * import { nomyoLayerFetch } from "@nomyo/client";
 * import * as NomyoLanguageModel from "@nomyo/client/effect-ai";
 * import { startTestRouter } from "@nomyo/client/testing";
 *
 * const Weather = Tool.make("get_weather", {
 *   parameters: { echo: Schema.String },
 *   success: Schema.String,
 * });
 * const tools = Toolkit.make(Weather);
 * const handlers = tools.toLayer({ get_weather: ({ echo }) => Effect.succeed(`sunny in ${echo}`) });
 *
 * const router = await startTestRouter();
 * const live = Layer.mergeAll(
 *   NomyoLanguageModel.layer({ model: "Qwen/Qwen3-0.6B" }).pipe(
 *     Layer.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, keySize: 2048 })),
 *   ),
 *   handlers,
 * );
 * const program = Effect.gen(function* () {
 *   const hello = yield* LanguageModel.generateText({ prompt: "Hello!" });
 *   const call = yield* LanguageModel.generateText({ prompt: "Paris", toolkit: tools });
 *   return [hello.text, call.toolResults[0]?.result];
 * });
 * const [text, result] = await Effect.runPromise(Effect.provide(program, live));
 * console.log(text, result); // "Echo: Hello!" "sunny in Paris"
 * if (text !== "Echo: Hello!" || result !== "sunny in Paris") throw new Error("unexpected");
 * await router.close();
 * ```
 *
 * @module
 */
export {
  type ChatParams,
  Config,
  layer,
  type LayerOptions,
  make,
  model,
  withConfigOverride,
} from "./language_model.ts";
