/**
 * `SecureCompletionClient`: the lower-level Promise API of the Python and JavaScript peers
 * (keys, one-step encryption and decryption, raw sends), on the same Effect services as
 * `SecureChatCompletion`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import { HybridCipher } from "../crypto/hybrid_cipher.ts";
import { SecureBytes } from "../crypto/secure_bytes.ts";
import type { KeyError, SecurityError } from "../errors.ts";
import { loadKeyPair, type SavedKeyFiles, saveKeyPair } from "../keys/key_files.ts";
import { KeyRing } from "../keys/key_ring.ts";
import type { RsaKeySize } from "../keys/rsa_key.ts";
import { generateRsaKeyPair } from "../keys/rsa_key_generation.ts";
import type { ChatCompletion, ChatCompletionRequest, DecryptedResponse } from "../protocol/chat.ts";
import { type ClosedKeys, closedKeysError, ownData } from "../protocol/closed_keys.ts";
import type { SecurityTier } from "../protocol/headers.ts";
import { parsePackage } from "../protocol/package.ts";
import { encodeRequest } from "../protocol/request.ts";
import { type RequestDoor, splitRequest } from "../protocol/request_fields.ts";
import { openResponse } from "../protocol/response.ts";
import { RouterKeys } from "../transport/router_keys.ts";
import { layerFetchOf, type NomyoServices, observabilityOf } from "../client/layer.ts";
import { type ClientOptions, type ResolvedOptions, resolveOptions } from "../client/options.ts";
import { ClientRuntime } from "./runtime.ts";
import { SecureCompletion } from "../client/secure_completion.ts";

/** Options of {@linkcode SecureCompletionClient.generateKeys}. */
export interface GenerateKeysOptions {
  /** 4096 (default) or 2048 bits. */
  readonly keySize?: RsaKeySize;
  /** Save the pair as `private_key.pem` / `public_key.pem`. Default `false`. */
  readonly saveToFile?: boolean;
  /** Where to save. Default: the client's `keyDir`, else `"client_keys"`. */
  readonly keyDir?: string;
  /** Encrypts the saved private key (at least 8 characters). */
  readonly password?: string;
}

/** The keys of {@linkcode GenerateKeysOptions}: a `Record`, so the compiler keeps it whole. */
const GENERATE_KEYS_OPTIONS: Readonly<Record<keyof GenerateKeysOptions, true>> = {
  keySize: true,
  saveToFile: true,
  keyDir: true,
  password: true,
};

/** A typo (`keysize`, `savetofile`) must not silently give other keys, or none saved. */
const GENERATE_KEYS_KEYS: ClosedKeys = {
  action: "generate keys",
  label: "option",
  known: Object.keys(GENERATE_KEYS_OPTIONS),
  renamed: { bits: "keySize", save: "saveToFile", dir: "keyDir", keyPassword: "password" },
};

/** `encryptPayload` seals the model's fields only: the client's are headers, not plaintext. */
const ENCRYPT_DOOR: RequestDoor = {
  action: "encrypt payload",
  applies: [],
  refusals: {
    securityTier: "send it as the X-Security-Tier header, or use sendSecureRequest",
    apiKey: "send it as Authorization: Bearer, or use sendSecureRequest",
    baseUrl: "it is where the package is sent, not part of it",
    stream: "the protocol answers whole",
    streamOptions: "the protocol answers whole",
  },
};

/**
 * The lower-level client, named as in the Python `nomyo` and `nomyo-js` clients.
 *
 * @example Encrypt, send and decrypt step by step
 * ```ts
 * import { SecureCompletionClient } from "@nomyo/client";
 * await using client = new SecureCompletionClient({ baseUrl: "https://api.nomyo.ai" });
 * await client.generateKeys({ keySize: 4096 });
 * const pem = await client.getPublicKeyPem();
 * ```
 */
export class SecureCompletionClient implements AsyncDisposable {
  readonly #runtime: ClientRuntime<NomyoServices, SecurityError | KeyError>;
  readonly #options: ResolvedOptions;

  /**
   * Checks the options and prepares the client; keys are made on first use.
   *
   * @param options See `ClientOptions` (`baseUrl`, `apiKey`, `keySize`, …).
   * @throws {SecurityError} When the base URL is `http://` without `allowHttp`.
   * @throws {TypeError} On an unknown option, or one of the wrong type or range.
   */
  constructor(options: ClientOptions = {}) {
    this.#options = resolveOptions(options);
    // One logger, level, tracer and memory of warnings for the layer and every call.
    const observability = observabilityOf(this.#options);
    this.#runtime = new ClientRuntime<NomyoServices, SecurityError | KeyError>(
      layerFetchOf(this.#options, observability),
      observability.within,
    );
  }

  /**
   * Generates a new key pair and makes it current; optionally saves it. The private key in
   * memory is never extractable: a saved pair is re-imported from its file.
   *
   * @param options Key size, and whether and where to save it (with a password); an unknown
   *   key rejects with a `TypeError`.
   * @returns The saved file paths when `saveToFile`, else `undefined`.
   */
  generateKeys(options: GenerateKeysOptions = {}): Promise<SavedKeyFiles | undefined> {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      return Promise.reject(new TypeError("Cannot generate keys: options must be an object"));
    }
    const keysError = closedKeysError(options, GENERATE_KEYS_KEYS);
    if (keysError !== undefined) return Promise.reject(keysError);
    // Own data only: a polluted `Object.prototype.keyDir` does not choose where keys are saved.
    const given = <K extends keyof GenerateKeysOptions>(key: K) =>
      ownData(options, key) as GenerateKeysOptions[K] | undefined;
    const keySize = given("keySize");
    const keyDir = given("keyDir");
    const password = given("password");
    const save = given("saveToFile") === true;
    return this.#runtime.run(Effect.gen(this, function* () {
      const pair = yield* generateRsaKeyPair({
        bits: keySize ?? this.#options.keySize,
        extractable: save,
      });
      if (!save) {
        yield* Effect.flatMap(KeyRing, (ring) => ring.install(pair));
        return undefined;
      }
      const saved = yield* saveKeyPair(
        pair,
        keyDir ?? this.#options.keyDir ?? "client_keys",
        { password },
      );
      // The extractable pair was only for saving: the one installed is re-imported from the
      // file, non-extractable, as with keyDir.
      const loaded = yield* loadKeyPair(saved.privateKeyPath, {
        publicKeyPath: saved.publicKeyPath,
        password,
      });
      yield* Effect.flatMap(KeyRing, (ring) => ring.install(loaded));
      return saved;
    }));
  }

  /**
   * Loads a key pair from files and makes it current.
   *
   * @param privateKeyPath PEM private key (PKCS#8, PKCS#1 or encrypted PKCS#8); mode 0600.
   * @param publicKeyPath When given, must hold the matching public key.
   * @param password For an encrypted private key.
   */
  loadKeys(privateKeyPath: string, publicKeyPath?: string, password?: string): Promise<void> {
    return this.#runtime.run(Effect.gen(function* () {
      const pair = yield* loadKeyPair(privateKeyPath, { publicKeyPath, password });
      yield* Effect.flatMap(KeyRing, (ring) => ring.install(pair));
    }));
  }

  /**
   * The current public key, as sent in `X-Public-Key`.
   *
   * @returns SPKI PEM.
   */
  getPublicKeyPem(): Promise<string> {
    return this.#runtime.run(
      Effect.flatMap(KeyRing, (ring) => Effect.map(ring.current, (p) => p.publicKey.pem)),
    );
  }

  /**
   * The router's public key, fetched once per base URL and cached.
   *
   * @returns SPKI PEM.
   */
  fetchServerPublicKey(): Promise<string> {
    return this.#runtime.run(
      Effect.flatMap(
        RouterKeys,
        (keys) => Effect.map(keys.get(this.#options.baseUrl), (k) => k.pem),
      ),
    );
  }

  /**
   * Encrypts a request body to the router's key. The client's own fields (`security_tier`,
   * `api_key`, `base_url`, `stream: true`, `stream_options`, in any spelling) are headers or the
   * address, not plaintext: the call rejects with a `TypeError` naming the field.
   *
   * @param payload The OpenAI chat completion body.
   * @returns The package, UTF-8 JSON bytes, ready to POST.
   */
  encryptPayload(payload: ChatCompletionRequest): Promise<Uint8Array> {
    return this.#runtime.run(Effect.gen(this, function* () {
      const routerKey = yield* Effect.flatMap(
        RouterKeys,
        (keys) => keys.get(this.#options.baseUrl),
      );
      const split = splitRequest(payload, ENCRYPT_DOOR);
      if (Either.isLeft(split)) return yield* Effect.die(split.left);
      const plaintext = yield* encodeRequest(split.right.body, "encrypt payload");
      const cipher = yield* HybridCipher;
      return yield* Effect.flatMap(
        SecureBytes,
        (secure) =>
          secure.use(Effect.succeed(plaintext), (p) => cipher.sealToBody(p, routerKey.key)),
      );
    }));
  }

  /**
   * Decrypts a response body with the current key pair, as the Python and JavaScript peers do:
   * the answer is the decrypted JSON exactly as the router sent it, plus `_metadata` (nothing
   * added, such as OpenAI's `refusal: null`, and nothing checked but the protocol's rules: a
   * UTF-8 JSON object nested at most 64 deep). `sendSecureRequest` and
   * `SecureChatCompletion.create` give the typed {@linkcode ChatCompletion} instead.
   *
   * @param body The HTTP body (the response package).
   * @param payloadId The request's `X-Payload-ID`.
   * @returns The decrypted answer with `_metadata`; rejects with a `SecurityError` when the
   *   package is malformed or tampered with, or its plaintext is not a JSON object.
   */
  decryptResponse(
    body: Uint8Array | ArrayBuffer,
    payloadId: string,
  ): Promise<DecryptedResponse> {
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
    return this.#runtime.run(Effect.gen(function* () {
      const pair = yield* Effect.flatMap(KeyRing, (ring) => ring.current);
      const decoded = yield* parsePackage(bytes, payloadId);
      const cipher = yield* HybridCipher;
      return yield* cipher.openWith(
        decoded,
        pair.privateKey,
        (plaintext) => openResponse(plaintext, decoded, payloadId),
        payloadId,
      );
    }));
  }

  /**
   * Encrypts, sends (with retries) and decrypts one request. The payload follows the request
   * contract of `create()`: `security_tier`, `api_key` and `base_url` in it are applied and
   * taken out (given there and as an argument too is a `TypeError`); another spelling of them
   * (`securityTier`, …), `stream: true` or `stream_options` rejects with a `TypeError` naming
   * the field. Nothing client-side is encrypted.
   *
   * @param payload The OpenAI chat completion body.
   * @param payloadId `X-Payload-ID` to use.
   * @param apiKey API key of this request (default: the client's).
   * @param securityTier Security tier of this request.
   * @returns The completion with `_metadata`.
   */
  sendSecureRequest(
    payload: ChatCompletionRequest,
    payloadId: string,
    apiKey?: string,
    securityTier?: SecurityTier,
  ): Promise<ChatCompletion> {
    return this.#runtime.run(
      Effect.flatMap(
        SecureCompletion,
        (s) => s.create(payload, { payloadId, apiKey, securityTier }),
      ),
    );
  }

  /** Disposes the client (see `SecureChatCompletion.dispose`). Idempotent. */
  dispose(): Promise<void> {
    return this.#runtime.dispose();
  }

  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
