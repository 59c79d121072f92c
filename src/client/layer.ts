/**
 * The whole client as one Layer, for Effect programs (and under the Promise facade).
 *
 * @module
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient";
import type * as HttpClient from "@effect/platform/HttpClient";
import { Duration, Effect, Layer, Logger, LogLevel, Option } from "effect";
import { type HybridCipher, HybridCipherLive } from "../crypto/hybrid_cipher.ts";
import { makeSecureBytes, SecureBytes, SecureBytesLive } from "../crypto/secure_bytes.ts";
import type { KeyError, SecurityError } from "../errors.ts";
import { loadKeyPair, loadOrCreateKeyPair, saveKeyPair } from "../keys/key_files.ts";
import {
  type KeyRing,
  type KeyRingOptions,
  layerKeyRing,
  rotationEvery,
} from "../keys/key_ring.ts";
import { generateRsaKeyPair } from "../keys/rsa_key.ts";
import { refuseRedirects } from "../transport/redirects.ts";
import { retrySchedule } from "../transport/retry.ts";
import { layerRouterKeys, type RouterKeys } from "../transport/router_keys.ts";
import { layerRouterTransport, type RouterTransport } from "../transport/router_transport.ts";
import { type ClientOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { layerSecureCompletion, type SecureCompletion } from "./secure_completion.ts";

/** Every service the client layer provides. */
export type NomyoServices =
  | SecureCompletion
  | KeyRing
  | RouterKeys
  | RouterTransport
  | HybridCipher
  | SecureBytes;

/** The `User-Agent` this library sends: its name and version, nothing about the machine. */
export const USER_AGENT = "nomyo-client-ts/0.1.0";

/**
 * Where the client's key pairs come from: generated in memory (non-extractable), or, with
 * `keyDir`, loaded from / saved to key files, rotated pairs saved to `keyRotationDir` and
 * re-imported from the file as non-extractable keys.
 */
const keyRingOptions = (o: ResolvedOptions): KeyRingOptions => {
  const rotation = o.keyRotationSchedule ?? rotationEvery(o.keyRotationInterval);
  if (o.keyDir === undefined) return { keySize: o.keySize, rotation };
  const withBytes = <A, E>(effect: Effect.Effect<A, E, SecureBytes>): Effect.Effect<A, E> =>
    Effect.provideService(effect, SecureBytes, makeSecureBytes());
  const rotationDir = o.keyRotationDir ?? o.keyDir;
  return {
    keySize: o.keySize,
    rotation,
    initial: withBytes(loadOrCreateKeyPair(o.keyDir, { password: o.keyPassword, bits: o.keySize })),
    generate: generateRsaKeyPair({ bits: o.keySize, extractable: true }),
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
 * The client's services on the `HttpClient` in context (provide your own, or use
 * {@linkcode nomyoLayerFetch}).
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
): Layer.Layer<NomyoServices, SecurityError | KeyError, HttpClient.HttpClient> => {
  const o: ResolvedOptions = resolveOptions(options);
  const schedule = retrySchedule({
    maxRetries: o.maxRetries,
    retryAfterCap: Duration.millis(o.maxRetryAfter),
  });
  const secureBytes = o.secureMemory
    ? SecureBytesLive
    : Layer.sync(SecureBytes, () => makeSecureBytes({ enabled: false }));
  const cipher = HybridCipherLive.pipe(Layer.provideMerge(secureBytes));
  const transport = layerRouterTransport({
    timeout: Duration.millis(o.timeout),
    maxResponseBytes: o.maxResponseBytes,
    userAgent: USER_AGENT,
  });
  const routerKeys = layerRouterKeys({ pin: o.serverKeyFingerprint, retry: schedule }).pipe(
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
  });
  // A failed request is the caller's error, not an "unhandled error" with a stack in the log.
  const logging = Layer.merge(
    Logger.minimumLogLevel(o.debug ? LogLevel.Debug : LogLevel.Warning),
    Layer.setUnhandledErrorLogLevel(Option.none()),
  );
  return completion.pipe(
    Layer.provideMerge(Layer.mergeAll(cipher, routerKeys, keyRing)),
    Layer.provideMerge(logging),
  );
};

/**
 * {@linkcode nomyoLayer} on a fetch-based `HttpClient` (the runtime's `fetch`, or
 * `options.fetch`), asked never to follow redirects.
 *
 * @param options The client's options.
 * @returns A self-contained layer of every client service.
 */
export const nomyoLayerFetch = (
  options: ClientOptions = {},
): Layer.Layer<NomyoServices, SecurityError | KeyError> => {
  // Redirects are refused at the fetch too (see refuseRedirects), the caller's fetch included.
  const http = FetchHttpClient.layer.pipe(
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, refuseRedirects(options.fetch))),
  );
  return nomyoLayer(options).pipe(Layer.provide(http));
};
