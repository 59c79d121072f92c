/**
 * The whole client as one Layer, for Effect programs (and under the Promise facade).
 *
 * @module
 */
import { CLIENT_VERSION } from "../protocol/client_version.ts";
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import type * as HttpClient from "@effect/platform/HttpClient";
import * as Config from "effect/Config";
import * as ConfigError from "effect/ConfigError";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import type * as Redacted from "effect/Redacted";
import { type HybridCipher, layerHybridCipher } from "../crypto/hybrid_cipher.ts";
import { layerSecureBytes, makeSecureBytes, SecureBytes } from "../crypto/secure_bytes.ts";
import type { KeyError, SecurityError } from "../errors.ts";
import { loadKeyPair, loadOrCreateKeyPair, saveKeyPair } from "../keys/key_files.ts";
import {
  type KeyRing,
  type KeyRingOptions,
  layerKeyRing,
  rotationEvery,
} from "../keys/key_ring.ts";
import { generateRsaKeyPair } from "../keys/rsa_key_generation.ts";
import { refuseRedirects } from "../transport/redirects.ts";
import { retrySchedule } from "../transport/retry.ts";
import { layerRouterKeys, type RouterKeys } from "../transport/router_keys.ts";
import { makeRouterKeyTrust } from "../transport/router_key_trust.ts";
import { layerRouterTransport, type RouterTransport } from "../transport/router_transport.ts";
import {
  BASE_URL_NAMES,
  type ClientOptions,
  optionKeysError,
  type ResolvedOptions,
  resolveOptionsEffect,
} from "./options.ts";
import { ownData } from "../protocol/closed_keys.ts";
import { layerSecureCompletion, type SecureCompletion } from "./secure_completion.ts";
import { type ClientObservability, makeClientObservability } from "./observability.ts";

/** Every service the client layer provides. */
export type NomyoServices =
  | SecureCompletion
  | KeyRing
  | RouterKeys
  | RouterTransport
  | HybridCipher
  | SecureBytes;

/** The `User-Agent` this library sends: its name and version, nothing about the machine. */
export const USER_AGENT: string = `nomyo-client-ts/${CLIENT_VERSION}`;

/**
 * Where the client's key pairs come from: generated in memory (non-extractable), or, with
 * `keyDir`, loaded from / saved to key files, rotated pairs saved to `keyRotationDir` and
 * re-imported from the file as non-extractable keys.
 */
const keyRingOptions = (o: ResolvedOptions): KeyRingOptions => {
  const rotation = o.keyRotationSchedule ?? rotationEvery(o.keyRotationInterval);
  const generated = (extractable: boolean) =>
    generateRsaKeyPair({ bits: o.keySize, extractable }).pipe(
      Effect.withSpan("nomyo.key.generate", { attributes: { "nomyo.key.bits": o.keySize } }),
    );
  if (o.keyDir === undefined) return { keySize: o.keySize, rotation, generate: generated(false) };
  const withBytes = <A, E>(effect: Effect.Effect<A, E, SecureBytes>): Effect.Effect<A, E> =>
    Effect.provideService(effect, SecureBytes, makeSecureBytes());
  const rotationDir = o.keyRotationDir ?? o.keyDir;
  return {
    keySize: o.keySize,
    rotation,
    initial: withBytes(loadOrCreateKeyPair(o.keyDir, { password: o.keyPassword, bits: o.keySize }))
      .pipe(Effect.withSpan("nomyo.key.load", { attributes: { "nomyo.key.bits": o.keySize } })),
    generate: generated(true),
    onRotate: (pair) =>
      withBytes(Effect.gen(function* () {
        const saved = yield* saveKeyPair(pair, rotationDir, { password: o.keyRotationPassword });
        return yield* loadKeyPair(saved.privateKeyPath, {
          publicKeyPath: saved.publicKeyPath,
          password: o.keyRotationPassword,
        });
      })),
  };
};

/**
 * The client's logger, level, warning memory and tracer, from resolved options: one per client
 * (the Promise classes make one and run every call within it).
 *
 * @param o The resolved options.
 * @returns The client's observability.
 */
export const observabilityOf = (o: ResolvedOptions): ClientObservability =>
  makeClientObservability({ logger: o.logger, logLevel: o.logLevel, tracer: o.tracer });

/** Every client service from resolved options, on the `HttpClient` in context. */
const layerOf = (
  o: ResolvedOptions,
  observability: ClientObservability = observabilityOf(o),
): Layer.Layer<NomyoServices, SecurityError | KeyError, HttpClient.HttpClient> => {
  const schedule = retrySchedule({
    maxRetries: o.maxRetries,
    retryAfterCap: Duration.millis(o.maxRetryAfter),
  });
  const secureBytes = o.secureMemory
    ? layerSecureBytes
    : Layer.sync(SecureBytes, () => makeSecureBytes({ enabled: false }));
  const cipher = layerHybridCipher.pipe(Layer.provideMerge(secureBytes));
  const transport = layerRouterTransport({
    timeout: Duration.millis(o.timeout),
    maxResponseBytes: o.maxResponseBytes,
    userAgent: USER_AGENT,
  });
  const trust = o.routerKeyPolicy === "tofu"
    ? makeRouterKeyTrust({
      path: o.knownRoutersPath,
      dir: o.keyDir,
      onChange: o.onRouterKeyChange,
    })
    : undefined;
  const routerKeys = layerRouterKeys({ pin: o.serverKeyFingerprint, retry: schedule, trust }).pipe(
    Layer.provideMerge(transport),
  );
  const keyRing = layerKeyRing(keyRingOptions(o));
  const completion = layerSecureCompletion({
    baseUrl: o.baseUrl,
    allowHttp: o.allowHttp,
    apiKey: o.apiKey,
    securityTier: o.securityTier,
    retry: schedule,
    attestation: o.attestation,
    pcrBaseline: o.pcrBaseline,
    observability,
  });
  // A failed request is the caller's error, not an "unhandled error" with a stack in the log.
  const quiet = Layer.setUnhandledErrorLogLevel(Option.none());
  return observability.layer(
    completion.pipe(
      Layer.provideMerge(Layer.mergeAll(cipher, routerKeys, keyRing)),
      Layer.provideMerge(quiet),
    ),
  );
};

/**
 * Every client service from resolved options, on a fetch-based `HttpClient` (`o.fetch`, else
 * the runtime's). Internal: the Promise classes resolve (and throw) first, then build this.
 *
 * @param o The resolved options.
 * @returns A self-contained layer of every client service.
 */
export const layerFetchOf = (
  o: ResolvedOptions,
  observability: ClientObservability = observabilityOf(o),
): Layer.Layer<NomyoServices, SecurityError | KeyError> => {
  // Redirects are refused at the fetch too (see refuseRedirects), the caller's fetch included.
  const http = FetchHttpClient.layer.pipe(
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, refuseRedirects(o.fetch))),
  );
  return layerOf(o, observability).pipe(Layer.provide(http));
};

/**
 * The client's services on the `HttpClient` in context (provide your own, or use
 * {@linkcode nomyoLayerFetch}). The options are checked while the layer is built, never when
 * this function is called: a refused base URL or security tier fails the layer with its
 * `SecurityError` (`Effect.catchTag("SecurityError", …)` sees it); an unknown option or a
 * wrong type is a programming error, and the layer dies with its `TypeError`. `options.fetch`
 * is not used here (the `HttpClient` is yours); {@linkcode nomyoLayerFetch} uses it.
 *
 * @param options The client's options (see `ClientOptions`).
 * @returns A layer of every client service; its scope owns the key rotation fiber.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
 * import { Effect, Layer } from "effect";
 * import { nomyoLayer, SecureCompletion } from "@nomyo/client";
 * const live = nomyoLayer({ baseUrl: "https://api.nomyo.ai" }).pipe(
 *   Layer.provide(FetchHttpClient.layer),
 * );
 * const program = Effect.flatMap(SecureCompletion, (s) =>
 *   s.create({ model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content: "Hi" }] }));
 * // Effect.runPromise(Effect.provide(program, live))
 * ```
 */
export const nomyoLayer = (
  options: ClientOptions = {},
): Layer.Layer<NomyoServices, SecurityError | KeyError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(resolveOptionsEffect(options), layerOf));

/**
 * {@linkcode nomyoLayer} on a fetch-based `HttpClient` (the runtime's `fetch`, or
 * `options.fetch`), asked never to follow redirects. Refused options fail (or kill) the layer as in
 * {@linkcode nomyoLayer}.
 *
 * @param options The client's options.
 * @returns A self-contained layer of every client service.
 */
export const nomyoLayerFetch = (
  options: ClientOptions = {},
): Layer.Layer<NomyoServices, SecurityError | KeyError> =>
  Layer.unwrapEffect(Effect.map(resolveOptionsEffect(options), layerFetchOf));

/**
 * Options of {@linkcode nomyoLayerConfig}: each option of `ClientOptions` as a value or as an
 * Effect `Config` that is loaded when the layer is built.
 */
export type NomyoConfigOptions = {
  readonly [K in keyof ClientOptions]?: ClientOptions[K] | Config.Config<ClientOptions[K]>;
};

/**
 * Read when neither `baseUrl` nor one of its aliases is given. Set but empty is an error, not
 * "unset": an empty URL must not quietly mean the default router.
 */
const BASE_URL_CONFIG: Config.Config<string | undefined> = Config.string("NOMYO_BASE_URL").pipe(
  Config.option,
  Config.mapOrFail((url) =>
    Option.isSome(url) && url.value === ""
      ? Either.left(ConfigError.InvalidData(["NOMYO_BASE_URL"], "Expected a URL, not empty"))
      : Either.right(Option.getOrUndefined(url))
  ),
);
/** Read when `apiKey` is not given; set but empty means no key, as in the environment. */
const API_KEY_CONFIG: Config.Config<Redacted.Redacted<string> | undefined> = Config.redacted(
  "NOMYO_API_KEY",
).pipe(Config.option, Config.map(Option.getOrUndefined));

/**
 * {@linkcode nomyoLayer} configured through Effect's `Config` (the `ConfigProvider` in context,
 * the environment by default), as `@effect/ai-openai`'s `OpenAiClient.layerConfig` is: the base
 * URL from `NOMYO_BASE_URL` and the API key from `NOMYO_API_KEY` (as a `Redacted`), unless given
 * in `options`. Any option may be given as a plain value or as a `Config`; the process
 * environment is not read behind the `ConfigProvider`'s back. A missing or malformed config
 * fails the layer with a `ConfigError`; refused options fail it as in {@linkcode nomyoLayer}.
 *
 * @param options Options, as values or `Config`s; they win over `NOMYO_BASE_URL` / `NOMYO_API_KEY`.
 * @returns A layer of every client service on the `HttpClient` in context.
 *
 * @example Against a local router named by `NOMYO_BASE_URL`
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
 * import { Config, Layer } from "effect";
 * import { nomyoLayerConfig } from "@nomyo/client";
 * const live = nomyoLayerConfig({
 *   allowHttp: Config.boolean("NOMYO_ALLOW_HTTP").pipe(Config.withDefault(false)),
 * }).pipe(Layer.provide(FetchHttpClient.layer));
 * ```
 */
export const nomyoLayerConfig = (
  options: NomyoConfigOptions = {},
): Layer.Layer<
  NomyoServices,
  SecurityError | KeyError | ConfigError.ConfigError,
  HttpClient.HttpClient
> =>
  Layer.unwrapEffect(Effect.gen(function* () {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      return yield* Effect.die(new TypeError("Cannot create client: options must be an object"));
    }
    // The keys are checked before any `Config` is loaded, and only own data is read: an
    // inherited `baseUrl` must not stop `NOMYO_BASE_URL` from being read, and then be dropped.
    const keysError = optionKeysError(options);
    if (keysError !== undefined) return yield* Effect.die(keysError);
    const loaded: Record<string, unknown> = {};
    // As everywhere, an option given as `undefined` is an option left out.
    const given = (key: string) => ownData(options, key) !== undefined;
    if (!BASE_URL_NAMES.some(given)) loaded.baseUrl = yield* BASE_URL_CONFIG;
    if (!given("apiKey")) loaded.apiKey = yield* API_KEY_CONFIG;
    for (const key of Object.keys(options)) {
      const value = ownData(options, key);
      if (value !== undefined) loaded[key] = Config.isConfig(value) ? yield* value : value;
    }
    const resolved = yield* resolveOptionsEffect(loaded, { environment: false });
    return layerOf(resolved);
  }));
