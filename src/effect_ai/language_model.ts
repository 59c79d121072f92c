/**
 * `@effect/ai`'s `LanguageModel` over the client's `SecureCompletion` service: every prompt and
 * answer end-to-end encrypted, in the style of `@effect/ai-openai`'s `OpenAiLanguageModel`.
 *
 * @module
 */
import type * as AiError from "@effect/ai/AiError";
import * as LanguageModel from "@effect/ai/LanguageModel";
import * as AiModel from "@effect/ai/Model";
import type * as Response from "@effect/ai/Response";
import { addGenAIAnnotations } from "@effect/ai/Telemetry";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Stream from "effect/Stream";
import { dual } from "effect/Function";
import type { Span } from "effect/Tracer";
import { type CompletionOverrides, SecureCompletion } from "../client/secure_completion.ts";
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import { type ClosedKeys, closedKeysError, ownData } from "../protocol/closed_keys.ts";
import { toAiError } from "./ai_error.ts";
import { checkParams, makeRequest } from "./request.ts";
import { makeResponse, toStreamParts } from "./response.ts";

/**
 * OpenAI chat completion parameters for the encrypted body. `model`, `messages`, `tools`,
 * `tool_choice` and `response_format` are set by the adapter, and the client's fields
 * (`security_tier`, `api_key`, `base_url`, `stream: true`, `stream_options`, in any spelling)
 * are settings of the {@linkcode Config}, not parameters: any of them here is a `TypeError`
 * naming it, never sent and never silently dropped.
 */
export interface ChatParams {
  /** Sampling temperature. */
  readonly temperature?: number;
  /** Nucleus sampling. */
  readonly top_p?: number;
  /** Upper bound on generated tokens. */
  readonly max_tokens?: number;
  /** Stop sequences. */
  readonly stop?: string | ReadonlyArray<string>;
  /** Seed for reproducible sampling. */
  readonly seed?: number;
  /** End-user id for abuse monitoring. */
  readonly user?: string;
  /** Any other OpenAI parameter, sent unchanged. */
  readonly [key: string]: unknown;
}

/**
 * Settings of the language model: the client's per-request options (security tier, timeout,
 * API key, router) and OpenAI parameters. Give them to {@linkcode layer}, or for a part of a
 * program with {@linkcode withConfigOverride} (its fields win; `params` are merged).
 * `payloadId` applies to every call that sees it: set it around one call only.
 *
 * @example Ask the `high` tier for one call
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel";
 * import { withConfigOverride } from "@nomyo/client/effect-ai";
 * const answer = LanguageModel.generateText({ prompt: "Summarise the record" }).pipe(
 *   withConfigOverride({ securityTier: "high", params: { temperature: 0 } }),
 * );
 * ```
 */
export interface Config extends CompletionOverrides {
  /** The model to ask, instead of the layer's. */
  readonly model?: string | undefined;
  /** OpenAI parameters for the encrypted body. */
  readonly params?: ChatParams | undefined;
}

/**
 * Tag of the {@linkcode Config} in context.
 *
 * @example Read the settings `withConfigOverride` put in context
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Config, withConfigOverride } from "@nomyo/client/effect-ai";
 * const tier = Effect.map(Effect.serviceOption(Config), Option.map((c) => c.securityTier));
 * const high = await Effect.runPromise(withConfigOverride(tier, { securityTier: "high" }));
 * console.log(high); // { _id: "Option", _tag: "Some", value: "high" }
 * ```
 */
export const Config: Context.Tag<Config, Config> = Context.GenericTag<Config>(
  "@nomyo/client/effect-ai/Config",
);

/** Options of {@linkcode make} and {@linkcode layer}. */
export interface LayerOptions {
  /** The model to ask (the router's model name). */
  readonly model: string;
  /** Default settings for every call. */
  readonly config?: Omit<Config, "model"> | undefined;
}

/** Every key of a `Config`: a `Record` over them, so the compiler keeps the list whole. */
const CONFIG_KEYS: Readonly<Record<keyof Config, true>> = {
  model: true,
  params: true,
  apiKey: true,
  baseUrl: true,
  securityTier: true,
  timeout: true,
  payloadId: true,
};

/** Every key of {@linkcode LayerOptions}. */
const LAYER_KEYS: Readonly<Record<keyof LayerOptions, true>> = { model: true, config: true };

/** The settings' closed keys (`security_tier`, `base_url` suggest the setting's name). */
const SETTINGS: ClosedKeys = {
  action: "use language model settings",
  label: "option",
  known: Object.keys(CONFIG_KEYS),
  renamed: { routerUrl: "baseUrl", tier: "securityTier" },
};

/** The options' closed keys: a setting given outside `config` suggests `config.<name>`. */
const LAYER_OPTIONS: ClosedKeys = {
  action: "use language model options",
  label: "option",
  known: Object.keys(LAYER_KEYS),
  renamed: Object.fromEntries(
    Object.keys(CONFIG_KEYS).filter((k) => k !== "model").map((k) => [k, `config.${k}`]),
  ),
};

/**
 * A caller's object with closed keys, read as own data only: every known key an own property
 * of the result (`undefined` when not given), so no later read reaches `Object.prototype`. An
 * unknown key, an inherited one from the caller's prototype, or a getter is caller misuse: the
 * effect dies with a `TypeError` that names it (a typo such as `securitytier` would otherwise
 * be dropped, and the call sent at the default tier or to the default router).
 */
const ownKeys = <K extends string>(
  value: unknown,
  keys: ClosedKeys,
  known: Readonly<Record<K, true>>,
): Effect.Effect<{ readonly [P in K]: unknown }> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return Effect.die(new TypeError(`Cannot ${keys.action}: they must be an object`));
  }
  const error = closedKeysError(value, keys);
  if (error !== undefined) return Effect.die(error);
  const out = {} as { [P in K]: unknown };
  for (const key of Object.keys(known) as K[]) out[key] = ownData(value, key);
  return Effect.succeed(out);
};

/** Settings checked: closed keys, own data, `params` by the request contract. */
const checkConfig = (value: unknown): Effect.Effect<Config> =>
  Effect.flatMap(ownKeys(value, SETTINGS, CONFIG_KEYS), (config) => {
    const params = checkParams(config.params);
    return Either.isLeft(params) ? Effect.die(params.left) : Effect.succeed(
      { ...config, params: config.params === undefined ? undefined : params.right } as Config,
    );
  });

/** Later settings win where they are given; `params` are merged key by key. */
const mergeConfig = (base: Config, over: Config): Config => {
  const merged = {} as Record<keyof Config, unknown>;
  for (const key of Object.keys(CONFIG_KEYS) as Array<keyof Config>) {
    merged[key] = over[key] !== undefined ? over[key] : base[key];
  }
  merged.params = base.params === undefined && over.params === undefined
    ? undefined
    : { ...base.params, ...over.params };
  return merged as Config;
};

/** The client options of a `Config`, picked by name so nothing else reaches the transport. */
const overridesOf = (config: Config): CompletionOverrides => ({
  apiKey: config.apiKey,
  baseUrl: config.baseUrl,
  securityTier: config.securityTier,
  timeout: config.timeout,
  payloadId: config.payloadId,
});

const annotateRequest = (span: Span, request: ChatCompletionRequest): void =>
  addGenAIAnnotations(span, {
    system: "nomyo",
    operation: { name: "chat" },
    request: {
      model: request.model,
      temperature: request.temperature,
      topP: request.top_p,
      maxTokens: request.max_tokens,
    },
  });

const annotateResponse = (span: Span, completion: ChatCompletion): void => {
  const finish = completion.choices[0]?.finish_reason;
  addGenAIAnnotations(span, {
    response: {
      id: completion.id,
      model: completion.model,
      finishReasons: finish === null || finish === undefined ? undefined : [finish],
    },
    usage: {
      inputTokens: completion.usage?.prompt_tokens,
      outputTokens: completion.usage?.completion_tokens,
    },
  });
};

/**
 * Builds the `LanguageModel` service on the `SecureCompletion` in context.
 *
 * Each call sends one encrypted chat completion: the prompt's messages, the toolkit's tools
 * (`tools`, with the JSON Schema of their parameters) and, for `generateObject`,
 * `response_format: {type: "json_schema", …}`. The first choice becomes the response parts,
 * its `finish_reason` and the `usage` the finish part; the client's `_metadata` (payload id,
 * attestation block, …) is the `nomyo` metadata of the `response-metadata` part. `streamText`
 * is emulated: the protocol delivers the answer whole, so the stream is made from it (one
 * delta per text). Every client error becomes an `AiError` whose `cause` is the original.
 *
 * @param options The model and default settings.
 * @returns An effect that makes the service.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel";
 * import { Effect, Layer } from "effect";
 * import { nomyoLayerFetch } from "@nomyo/client";
 * import { make } from "@nomyo/client/effect-ai";
 * const live = Layer.effect(LanguageModel.LanguageModel, make({ model: "Qwen/Qwen3-0.6B" })).pipe(
 *   Layer.provide(nomyoLayerFetch({ apiKey: "…" })),
 * );
 * ```
 */
export const make = (
  options: LayerOptions,
): Effect.Effect<LanguageModel.Service, never, SecureCompletion> =>
  Effect.gen(function* () {
    const completions = yield* SecureCompletion;
    const layerOptions = yield* ownKeys(options, LAYER_OPTIONS, LAYER_KEYS);
    const defaults = yield* checkConfig(layerOptions.config ?? {});
    const defaultModel = layerOptions.model;
    if (typeof defaultModel !== "string") {
      return yield* Effect.die(
        new TypeError("Cannot use language model options: model must be a string"),
      );
    }

    const complete = (
      method: string,
      provider: LanguageModel.ProviderOptions,
    ): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
      Effect.gen(function* () {
        const override = yield* Effect.serviceOption(Config);
        // A `Config` provided by hand is checked as `withConfigOverride` checks it.
        const config = Option.isNone(override)
          ? defaults
          : mergeConfig(defaults, yield* checkConfig(override.value));
        const request = yield* makeRequest(config.model ?? defaultModel, config.params, provider);
        annotateRequest(provider.span, request);
        const completion = yield* completions.create(request, overridesOf(config)).pipe(
          Effect.mapError((error) => toAiError(method, error)),
        );
        annotateResponse(provider.span, completion);
        return yield* makeResponse(completion);
      });

    return yield* LanguageModel.make({
      generateText: (provider) => complete("generateText", provider),
      streamText: (provider) =>
        Stream.fromIterableEffect(Effect.map(complete("streamText", provider), toStreamParts)),
    });
  });

/**
 * The `LanguageModel` layer on the `SecureCompletion` in context (see {@linkcode make}).
 *
 * @param options The model and default settings.
 * @returns The layer.
 *
 * @example Encrypted `generateText` against the bundled test router
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel";
 * import { Effect, Layer } from "effect";
 * import { nomyoLayerFetch } from "@nomyo/client";
 * import { layer } from "@nomyo/client/effect-ai";
 * import { startTestRouter } from "@nomyo/client/testing";
 * const router = await startTestRouter();
 * const live = layer({ model: "Qwen/Qwen3-0.6B" }).pipe(
 *   Layer.provide(nomyoLayerFetch({ baseUrl: router.url, allowHttp: true, keySize: 2048 })),
 * );
 * const response = await Effect.runPromise(
 *   LanguageModel.generateText({ prompt: "Hello!" }).pipe(Effect.provide(live)),
 * );
 * if (response.text !== "Echo: Hello!") throw new Error("unexpected answer");
 * await router.close();
 * ```
 */
export const layer = (
  options: LayerOptions,
): Layer.Layer<LanguageModel.LanguageModel, never, SecureCompletion> =>
  Layer.effect(LanguageModel.LanguageModel, make(options));

/**
 * The language model as an `@effect/ai` `Model` (provider name `"nomyo"`), for
 * `Effect.provide` or to switch between providers.
 *
 * @param model The model to ask.
 * @param config Default settings.
 * @returns The model.
 *
 * @example
 * ```ts
 * import { model } from "@nomyo/client/effect-ai";
 * const qwen = model("Qwen/Qwen3-0.6B", { securityTier: "high" });
 * ```
 */
export const model = (
  model: string,
  config?: Omit<Config, "model">,
): AiModel.Model<"nomyo", LanguageModel.LanguageModel, SecureCompletion> =>
  AiModel.make("nomyo", layer({ model, config }));

/**
 * Runs `self` with settings over those in context (and those of the layer). An unknown key
 * (e.g. `security_tier` for `securityTier`) is a `TypeError`: the effect dies with it.
 *
 * @example
 * ```ts
 * import * as LanguageModel from "@effect/ai/LanguageModel";
 * import { withConfigOverride } from "@nomyo/client/effect-ai";
 * const careful = withConfigOverride(
 *   LanguageModel.generateText({ prompt: "Hi" }),
 *   { securityTier: "maximum", timeout: "30 seconds" },
 * );
 * ```
 */
export const withConfigOverride: {
  /**
   * @param overrides The settings.
   * @returns A function of the effect.
   */
  (overrides: Config): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;
  /**
   * @param self The effect.
   * @param overrides The settings.
   * @returns The effect with the settings.
   */
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config): Effect.Effect<A, E, R>;
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      Effect.zip(checkConfig(overrides), Effect.serviceOption(Config)),
      ([checked, current]) =>
        Effect.provideService(
          self,
          Config,
          Option.match(current, {
            onNone: () => checked,
            onSome: (c) => mergeConfig(c, checked),
          }),
        ),
    ),
);
