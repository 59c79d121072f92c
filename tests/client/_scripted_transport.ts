/**
 * A scripted RouterTransport for service tests: it records what it was asked (and the
 * TestClock time), and answers from a script: a real sealed echo answer, or a failure.
 */
import { Clock, Effect, Layer } from "effect";
import { HybridCipher, layerHybridCipher } from "../../src/crypto/hybrid_cipher.ts";
import { layerSecureBytes, type SecureBytes } from "../../src/crypto/secure_bytes.ts";
import type { APIConnectionError } from "../../src/errors.ts";
import { layerKeyRing } from "../../src/keys/key_ring.ts";
import type { RsaKeyPair } from "../../src/keys/rsa_key.ts";
import { generateRsaKeyPair } from "../../src/keys/rsa_key_generation.ts";
import { importPublicKeyPem } from "../../src/keys/rsa_key_import_export.ts";
import { encodePackage, parsePackage } from "../../src/protocol/package.ts";
import { retrySchedule } from "../../src/transport/retry.ts";
import { layerRouterKeys } from "../../src/transport/router_keys.ts";
import {
  type AttemptError,
  RouterTransport,
  type SecureRequest,
} from "../../src/transport/router_transport.ts";
import {
  layerSecureCompletion,
  type SecureCompletionConfig,
} from "../../src/client/secure_completion.ts";

/** One scripted answer: "ok" seals an echo; "hang" never answers; a function makes the failure. */
export type Step = "ok" | "hang" | (() => AttemptError | APIConnectionError);

export interface Recorded {
  readonly at: number;
  readonly request: SecureRequest;
  readonly plaintext: unknown;
}

export interface Scripted {
  readonly sent: Recorded[];
  readonly keyFetches: { at: number; baseUrl: string }[];
  readonly layer: Layer.Layer<RouterTransport>;
}

const cipherLayer = layerHybridCipher.pipe(Layer.provide(layerSecureBytes));

/** The router key every scripted transport uses (2048 bits for speed). */
export const routerPair: RsaKeyPair = await Effect.runPromise(generateRsaKeyPair({ bits: 2048 }));

export const makeScripted = (script: Step[]): Scripted => {
  const sent: Recorded[] = [];
  const keyFetches: { at: number; baseUrl: string }[] = [];
  let i = 0;
  const send = (request: SecureRequest) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis;
      const cipher = yield* HybridCipher;
      const decoded = yield* Effect.orDie(parsePackage(request.body));
      const plaintext = yield* Effect.orDie(Effect.scoped(
        Effect.map(
          cipher.open(decoded, routerPair.privateKey),
          (b) => JSON.parse(new TextDecoder().decode(b)),
        ),
      ));
      sent.push({ at, request, plaintext });
      const step = script[Math.min(i++, script.length - 1)] ?? "ok";
      if (step === "hang") return yield* Effect.never;
      if (step !== "ok") return yield* Effect.fail(step());
      const clientKey = yield* Effect.orDie(
        importPublicKeyPem(request.publicKey.pem),
      );
      const last = plaintext.messages[plaintext.messages.length - 1];
      const answer = {
        id: "chatcmpl-test",
        object: "chat.completion",
        created: 1,
        model: plaintext.model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: `Echo: ${last.content}` },
          finish_reason: "stop",
        }],
      };
      const sealed = yield* Effect.orDie(
        cipher.seal(new TextEncoder().encode(JSON.stringify(answer)), clientKey.key),
      );
      return {
        body: encodePackage({ ...sealed, processed_at: 7 }),
        requestId: undefined,
        status: 200,
      };
    }).pipe(Effect.provide(cipherLayer));
  const fetchPublicKey = (baseUrl: string) =>
    Effect.gen(function* () {
      keyFetches.push({ at: yield* Clock.currentTimeMillis, baseUrl });
      return routerPair.publicKey.pem;
    });
  return { sent, keyFetches, layer: Layer.succeed(RouterTransport, { send, fetchPublicKey }) };
};

/** The secure completion service on a scripted transport, 2048-bit client keys, no rotation. */
export const serviceLayer = (
  scripted: Scripted,
  config: Partial<SecureCompletionConfig> & {
    maxRetries?: number;
    retryAfterCap?: `${number} seconds`;
    secureBytes?: Layer.Layer<SecureBytes>;
  } = {},
) => {
  const secureBytes = config.secureBytes ?? layerSecureBytes;
  const retry = config.retry ??
    retrySchedule(
      config.retryAfterCap === undefined
        ? { maxRetries: config.maxRetries ?? 2 }
        : { maxRetries: config.maxRetries ?? 2, retryAfterCap: config.retryAfterCap },
    );
  const keys = layerRouterKeys({ pin: undefined, retry }).pipe(Layer.provide(scripted.layer));
  // The service's config is closed: the helper's own keys are not passed on.
  const { maxRetries: _maxRetries, retryAfterCap: _retryAfterCap, secureBytes: _, ...service } =
    config;
  return layerSecureCompletion({
    baseUrl: "https://router.test",
    allowHttp: false,
    ...service,
    retry,
  }).pipe(
    Layer.provide(
      Layer.mergeAll(
        layerHybridCipher.pipe(Layer.provide(secureBytes)),
        secureBytes,
        keys,
        scripted.layer,
        layerKeyRing({ keySize: 2048 }),
      ),
    ),
  );
};
