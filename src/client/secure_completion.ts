/**
 * The secure completion service: one OpenAI chat completion request in, the decrypted answer
 * with `_metadata` out. Guards run before anything is sent; every attempt is sealed afresh;
 * retries follow the schedule; cancellation is interruption.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Redacted from "effect/Redacted";
import * as Schedule from "effect/Schedule";
import { withAttestationResult } from "../attestation/evidence.ts";
import { type AttestationRouter, verifyAttestationEffect } from "../attestation/tpm_quote.ts";
import { HybridCipher } from "../crypto/hybrid_cipher.ts";
import { SecureBytes } from "../crypto/secure_bytes.ts";
import {
  type APIConnectionError,
  APIError,
  type AttestationError,
  type HttpStatusError,
  type KeyError,
  type SecurityError,
} from "../errors.ts";
import { type ClientKeyPair, KeyRing } from "../keys/key_ring.ts";
import type { RsaPublicKey } from "../keys/rsa_key.ts";
import type { ChatCompletion, ChatCompletionRequest } from "../protocol/chat.ts";
import { type ClosedKeys, closedKeysError, ownData } from "../protocol/closed_keys.ts";
import { checkHeaderValue, checkSecurityTier, type SecurityTier } from "../protocol/headers.ts";
import { parsePackage } from "../protocol/package.ts";
import { encodeRequest } from "../protocol/request.ts";
import { REQUEST_FIELDS, type RequestDoor, splitRequest } from "../protocol/request_fields.ts";
import { toChatCompletion } from "../protocol/response.ts";
import { RouterKeys } from "../transport/router_keys.ts";
import { RouterTransport } from "../transport/router_transport.ts";
import type { ClientObservability } from "./observability.ts";
import { spanAttributesOf, withRequestId } from "./request_trace.ts";
import { admitBaseUrl } from "./warnings.ts";

/** What `_metadata.tpm_attestation` checking does with answers. */
export type AttestationMode = "off" | "verify-if-present" | "require";

/** Everything that can fail a completion. */
export type CompletionError =
  | HttpStatusError
  | APIConnectionError
  | SecurityError
  | KeyError
  | AttestationError;

/**
 * Per-request overrides; none of them is ever put into the encrypted plaintext. The keys are
 * closed (an unknown one is a `TypeError`) and only own data properties are read. The request
 * body may give `security_tier`, `api_key` and `base_url` instead; the same field given both
 * ways is a `TypeError`.
 */
export interface CompletionOverrides {
  /** API key for this request. */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined;
  /** Router for this request. */
  readonly baseUrl?: string | undefined;
  /** Security tier for this request. */
  readonly securityTier?: SecurityTier | undefined;
  /** Time allowed per attempt for this request. */
  readonly timeout?: Duration.DurationInput | undefined;
  /** `X-Payload-ID` to use instead of a fresh UUID v4 (the Python client's `payload_id`). */
  readonly payloadId?: string | undefined;
}

/** Settings of the service: closed keys, own data properties only. */
export interface SecureCompletionConfig {
  /** Default router (checked when the service is made). */
  readonly baseUrl: string;
  /** Whether `http://` routers are allowed (local development only). */
  readonly allowHttp: boolean;
  /** Default API key. */
  readonly apiKey?: Redacted.Redacted<string> | undefined;
  /** Default security tier. */
  readonly securityTier?: SecurityTier | undefined;
  /** When to retry a failed attempt (see `retrySchedule`). */
  readonly retry: Schedule.Schedule<unknown, unknown>;
  /** Attestation policy (default `"off"`). */
  readonly attestation?: AttestationMode | undefined;
  /** Expected PCR values, checked when attestation is verified. */
  readonly pcrBaseline?: Readonly<Record<string, string>> | undefined;
  /** The client's logger, level and tracer around each request (default: the context's). */
  readonly observability?: ClientObservability | undefined;
}

/**
 * Sends end-to-end encrypted chat completions.
 *
 * @example An Effect program
 * ```ts
 * import { Effect } from "effect";
 * import { SecureCompletion } from "@nomyo/client";
 * const ask = Effect.flatMap(SecureCompletion, (s) =>
 *   s.create({ model: "Qwen/Qwen3-0.6B", messages: [{ role: "user", content: "Hi" }] }));
 * ```
 */
export interface SecureCompletion {
  /**
   * Encrypts `request`, sends it, and opens the answer. The request contract is enforced here,
   * for every door: `security_tier`, `api_key` and `base_url` in the body are applied (the
   * `X-Security-Tier` header, `Authorization`, the router, admitted as the client's own), taken
   * out, never encrypted; any other spelling of them (`securityTier`, `apiKey`, `baseURL`, …),
   * and `stream: true` or `stream_options` (this answers whole), is a `TypeError` naming the
   * field. The effect dies with it: it is a bug to fix, and nothing is sent.
   */
  readonly create: (
    request: ChatCompletionRequest,
    overrides?: CompletionOverrides,
  ) => Effect.Effect<ChatCompletion, CompletionError>;
}

/** Tag for {@linkcode SecureCompletion}. */
export const SecureCompletion: Context.Tag<SecureCompletion, SecureCompletion> = Context
  .GenericTag<SecureCompletion>("@nomyo/client/SecureCompletion");

/** The body fields the service applies; streaming is a door's shape, not the service's. */
const SERVICE_DOOR: RequestDoor = {
  action: "send request",
  applies: ["securityTier", "apiKey", "baseUrl"],
  refusals: {
    stream: "the service answers whole; SecureChatCompletion.create and client.fetch stream",
    streamOptions: "the service answers whole; SecureChatCompletion.create and client.fetch " +
      "stream",
  },
};

/** The keys of {@linkcode CompletionOverrides}: a `Record`, so the compiler keeps it whole. */
const OVERRIDES: Readonly<Record<keyof CompletionOverrides, true>> = {
  apiKey: true,
  baseUrl: true,
  securityTier: true,
  timeout: true,
  payloadId: true,
};

const OVERRIDE_KEYS: ClosedKeys = {
  action: "send request",
  label: "override",
  known: Object.keys(OVERRIDES),
};

/** The keys of {@linkcode SecureCompletionConfig}. */
const CONFIG: Readonly<Record<keyof SecureCompletionConfig, true>> = {
  baseUrl: true,
  allowHttp: true,
  apiKey: true,
  securityTier: true,
  retry: true,
  attestation: true,
  pcrBaseline: true,
  observability: true,
};

const CONFIG_KEYS: ClosedKeys = {
  action: "create client",
  label: "config key",
  known: Object.keys(CONFIG),
};

/** A caller's mistake: the effect dies with its `TypeError`, and nothing is sent. */
const misuse = (message: string): Effect.Effect<never> =>
  Effect.die(new TypeError(`Cannot send request: ${message}`));

/** The router's word that it could not open our package (its key changed). */
const isRouterDecryptFailure = (e: unknown): boolean =>
  e instanceof APIError && e.status === 400 && /decrypt/i.test(e.message);

/** The services {@linkcode SecureCompletion} is built on. */
export type SecureCompletionParts =
  | HybridCipher
  | SecureBytes
  | KeyRing
  | RouterKeys
  | RouterTransport;

/**
 * Builds the service from its parts.
 *
 * @param config Router, credentials, tier, retry and attestation policy.
 * @returns An effect that makes the service from the services it needs.
 */
export const makeSecureCompletion = (
  settings: SecureCompletionConfig,
): Effect.Effect<SecureCompletion, SecurityError, SecureCompletionParts> =>
  Effect.gen(function* () {
    // Closed keys, own data only: a polluted `Object.prototype.securityTier` sets no tier.
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
      return yield* Effect.die(new TypeError("Cannot create client: config must be an object"));
    }
    const keysError = closedKeysError(settings, CONFIG_KEYS);
    if (keysError !== undefined) return yield* Effect.die(keysError);
    const config = Object.fromEntries(
      Object.keys(CONFIG).map((key) => [key, ownData(settings, key)]),
    ) as unknown as SecureCompletionConfig;
    const cipher = yield* HybridCipher;
    const secureBytes = yield* SecureBytes;
    const keyRing = yield* KeyRing;
    const routerKeys = yield* RouterKeys;
    const transport = yield* RouterTransport;
    const defaultBaseUrl = yield* admitBaseUrl(config.baseUrl, config.allowHttp, {
      action: "create client",
      name: "baseUrl",
    });
    const attestation = config.attestation ?? "off";
    const observe = config.observability?.within ?? ((effect) => effect);

    /** One attempt: seal with a fresh AES key and nonce, send, open; each step a span. */
    const attempt = (
      plaintext: Uint8Array<ArrayBuffer>,
      pair: ClientKeyPair,
      routerKey: RsaPublicKey,
      send: {
        baseUrl: string;
        payloadId: string;
        apiKey: Redacted.Redacted<string> | undefined;
        securityTier: SecurityTier | undefined;
        timeout: Duration.DurationInput | undefined;
      },
      number: number,
      delayMillis: number | undefined,
    ): Effect.Effect<ChatCompletion, CompletionError> =>
      Effect.gen(function* () {
        yield* Effect.logDebug(
          `attempt ${number}: sending to ${send.baseUrl} (router key ` +
            `${routerKey.fingerprint.slice(0, 16)}…, client key generation ${pair.generation})`,
        );
        // Borrowed: the plaintext is lent to the request's scope, zeroed after the last retry.
        const requestBody = yield* cipher.sealToBody(plaintext, routerKey.key).pipe(
          Effect.withSpan("nomyo.seal", {
            attributes: { "nomyo.plaintext.bytes": plaintext.length },
          }),
        );
        const answer = yield* transport.send({
          baseUrl: send.baseUrl,
          body: requestBody,
          payloadId: send.payloadId,
          publicKey: pair.publicKey,
          apiKey: send.apiKey,
          securityTier: send.securityTier,
          timeout: send.timeout,
        }).pipe(
          Effect.tap((a) =>
            Effect.annotateCurrentSpan({
              "http.response.status_code": a.status,
              "nomyo.response.bytes": a.body.length,
            })
          ),
          Effect.tapError((e) => Effect.annotateCurrentSpan(spanAttributesOf(e))),
          Effect.withSpan("nomyo.send", {
            kind: "client",
            attributes: {
              "nomyo.attempt": number,
              "nomyo.request.bytes": requestBody.length,
              "nomyo.router.key_fingerprint": routerKey.fingerprint,
              ...(delayMillis === undefined ? {} : { "nomyo.retry.delay_ms": delayMillis }),
            },
          }),
        );
        const completion = yield* Effect.gen(function* () {
          const decoded = yield* parsePackage(answer.body, send.payloadId);
          return yield* cipher.openWith(
            decoded,
            pair.privateKey,
            (opened) => toChatCompletion(opened, decoded, send.payloadId),
            send.payloadId,
          );
        }).pipe(
          Effect.withSpan("nomyo.open", {
            attributes: { "nomyo.response.bytes": answer.body.length },
          }),
        );
        yield* Effect.logDebug(`attempt ${number}: opened answer (${answer.body.length} bytes)`);
        return withRequestId(completion, answer.requestId ?? send.payloadId);
      }).pipe(
        // Error messages hold no secrets by construction, so they may be logged.
        Effect.tapError((e) =>
          Effect.logDebug(`attempt ${number} failed: ${e._tag}: ${e.message}`)
        ),
      );

    /** Verifies as `attestation` says; a verified answer carries its report. */
    const checkAttestation = (
      completion: ChatCompletion,
      router: AttestationRouter,
    ): Effect.Effect<ChatCompletion, AttestationError> => {
      // Only the client writes attestation_result: a router's own is dropped.
      if (
        attestation === "off" ||
        (attestation === "verify-if-present" && completion._metadata.tpm_attestation === undefined)
      ) {
        return Effect.succeed(withAttestationResult(completion, undefined));
      }
      return verifyAttestationEffect(
        completion,
        config.pcrBaseline === undefined ? {} : { pcrBaseline: config.pcrBaseline },
      ).pipe(
        Effect.map((result) => withAttestationResult(completion, { ...result, router })),
        Effect.tapError((e) => Effect.annotateCurrentSpan("nomyo.attestation.error", e.reason)),
        Effect.withSpan("nomyo.attestation", {
          attributes: { "nomyo.attestation.mode": attestation },
        }),
      );
    };

    const create = (
      request: ChatCompletionRequest,
      overrides: CompletionOverrides = {},
    ): Effect.Effect<ChatCompletion, CompletionError> =>
      Effect.scoped(Effect.gen(function* () {
        // Guards: nothing is sent, nothing is encrypted, until all of them pass.
        if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
          return yield* misuse("the overrides must be an object");
        }
        const keysError = closedKeysError(overrides, OVERRIDE_KEYS);
        if (keysError !== undefined) return yield* Effect.die(keysError);
        const split = splitRequest(request, SERVICE_DOOR);
        if (split._tag === "Left") return yield* Effect.die(split.left);
        /** A client field from the body or the overrides (own data only); not from both. */
        const field = (name: "securityTier" | "apiKey" | "baseUrl") =>
          Effect.suspend(() => {
            const fromBody = split.right.fields[name];
            const fromOverride = ownData(overrides, name);
            return fromBody !== undefined && fromOverride !== undefined
              ? misuse(
                `${REQUEST_FIELDS[name].name} is given both in the request and as ${name}`,
              )
              : Effect.succeed(fromBody ?? fromOverride);
          });
        const baseUrlInput = yield* field("baseUrl");
        if (baseUrlInput !== undefined && typeof baseUrlInput !== "string") {
          return yield* misuse("base_url must be a string (a URL)");
        }
        const baseUrl = baseUrlInput === undefined
          ? defaultBaseUrl
          : yield* admitBaseUrl(baseUrlInput, config.allowHttp, {
            action: "send request",
            name: "base_url",
          });
        const tierInput = (yield* field("securityTier")) ?? config.securityTier;
        const securityTier = tierInput === undefined
          ? undefined
          : yield* checkSecurityTier(tierInput);
        const apiKeyInput = (yield* field("apiKey")) ?? config.apiKey;
        if (
          apiKeyInput !== undefined && typeof apiKeyInput !== "string" &&
          !Redacted.isRedacted(apiKeyInput)
        ) {
          return yield* misuse("api_key must be a string");
        }
        const apiKey = apiKeyInput === undefined
          ? undefined
          : Redacted.isRedacted(apiKeyInput)
          ? apiKeyInput as Redacted.Redacted<string>
          : Redacted.make(apiKeyInput);
        if (apiKey !== undefined) yield* checkHeaderValue("Authorization", Redacted.value(apiKey));
        const payloadIdInput = ownData(overrides, "payloadId");
        const timeout = ownData(overrides, "timeout") as Duration.DurationInput | undefined;
        if (payloadIdInput !== undefined && typeof payloadIdInput !== "string") {
          return yield* misuse("payloadId must be a string");
        }
        if (payloadIdInput === "") return yield* misuse("payloadId is empty");
        const payloadId = payloadIdInput === undefined
          ? crypto.randomUUID()
          : yield* checkHeaderValue("X-Payload-ID", payloadIdInput);
        const plaintext = yield* secureBytes.lend(
          yield* encodeRequest(split.right.body, "send request"),
        );

        // The pair is taken once: a rotation meanwhile does not change what opens the answer.
        const pair = yield* keyRing.current;
        const send = {
          baseUrl,
          payloadId,
          apiKey,
          securityTier,
          timeout,
        };
        yield* Effect.annotateCurrentSpan({
          "nomyo.payload_id": payloadId,
          "nomyo.router.origin": new URL(baseUrl).origin,
          ...(securityTier === undefined ? {} : { "nomyo.security_tier": securityTier }),
          ...(typeof ownData(request, "model") === "string"
            ? { "nomyo.model": ownData(request, "model") as string }
            : {}),
        });
        // The router key of the last attempt sent: the one the answer came back for.
        let sentTo: RsaPublicKey | undefined;
        let attempts = 0;
        // The wait before the next attempt, as the schedule decided it (for its span and log).
        let delayMillis: number | undefined;
        const sendTo = (routerKey: RsaPublicKey) => {
          sentTo = routerKey;
          return attempt(plaintext, pair, routerKey, send, attempts, delayMillis);
        };
        const withFreshRouterKey = Effect.gen(function* () {
          attempts++; // one attempt of the retry budget: the key fetch and the send(s) in it
          // One attempt: the retry below is the one budget of key fetch and sends.
          const routerKey = yield* routerKeys.getOnce(baseUrl);
          return yield* sendTo(routerKey).pipe(
            // The router could not open the package: its key changed. Fetch it, try once more.
            Effect.catchIf(isRouterDecryptFailure, () =>
              Effect.flatMap(routerKeys.refresh(baseUrl, routerKey), sendTo)),
          );
        });
        const retry = Schedule.modifyDelayEffect(config.retry, (_, delay) =>
          Effect.sync(() => {
            delayMillis = Duration.toMillis(delay);
            return delay;
          }).pipe(Effect.tap((ms) =>
            Effect.logDebug(`retrying in ${Duration.format(ms)}`)
          )));
        const completion = yield* Effect.retry(withFreshRouterKey, retry).pipe(
          Effect.annotateLogs({ payload_id: payloadId }),
        );
        yield* Effect.annotateCurrentSpan("nomyo.attempts", attempts);
        return yield* checkAttestation(completion, {
          url: baseUrl,
          keyFingerprint: sentTo?.fingerprint ?? "",
        });
      })).pipe(Effect.withSpan("nomyo.create", { kind: "client" }), observe);

    return { create };
  });

/**
 * Layer of the service on its parts.
 *
 * @param config Router, credentials, tier, retry and attestation policy.
 * @returns The layer; it fails with a `SecurityError` when the default base URL is refused.
 */
export const layerSecureCompletion = (
  config: SecureCompletionConfig,
): Layer.Layer<SecureCompletion, SecurityError, SecureCompletionParts> =>
  Layer.effect(SecureCompletion, makeSecureCompletion(config));
