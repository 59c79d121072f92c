/**
 * The hybrid cipher of the NOMYO protocol: AES-256-GCM for the payload, RSA-OAEP-SHA256 to
 * wrap the AES key, as an Effect service.
 *
 * Sealing generates a fresh AES key inside WebCrypto for each message and wraps it with
 * `wrapKey`: that key never exists as bytes in JavaScript memory. Opening recovers the
 * response's key with `unwrapKey` straight into a non-extractable `CryptoKey`, or, on Deno,
 * whose `unwrapKey` blocks the event loop, with RSA-OAEP `decrypt` into a 32-byte buffer that
 * is imported and zeroed at once (see {@linkcode KeyUnwrapping}). Plaintext buffers and that
 * key buffer are lent through {@linkcode SecureBytes}, which zeroes them however the work
 * ends. Every failure found by the cryptography
 * (unwrap, key length, tag) carries the same message, {@linkcode DECRYPTION_FAILED_MESSAGE}.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import { DECRYPTION_FAILED_MESSAGE, SecurityError } from "../errors.ts";
import {
  buildPackage,
  type DecodedPackage,
  encodePackageParts,
  NONCE_BYTES,
  type PackageParts,
  type SealedPackage,
} from "../protocol/package.ts";
import { SecureBytes } from "./secure_bytes.ts";

/**
 * Seals plaintexts to an RSA public key and opens packages with an RSA private key.
 *
 * @example Seal to a key and open again
 * ```ts
 * import { Effect, Layer } from "effect";
 * import {
 *   generateRsaKeyPair,
 *   HybridCipher,
 *   layerHybridCipher,
 *   parsePackage,
 *   encodePackage,
 *   layerSecureBytes,
 * } from "@nomyo/client";
 * const program = Effect.gen(function* () {
 *   const cipher = yield* HybridCipher;
 *   const keys = yield* generateRsaKeyPair({ bits: 2048 });
 *   const pkg = yield* cipher.seal(new TextEncoder().encode("{}"), keys.publicKey.key);
 *   const decoded = yield* parsePackage(encodePackage(pkg));
 *   return yield* Effect.scoped(
 *     Effect.map(cipher.open(decoded, keys.privateKey), (b) => new TextDecoder().decode(b)),
 *   );
 * });
 * const layer = layerHybridCipher.pipe(Layer.provide(layerSecureBytes));
 * console.log(await Effect.runPromise(Effect.provide(program, layer))); // "{}"
 * ```
 */
export interface HybridCipher {
  /**
   * Seals `plaintext` to `recipient` with a fresh AES-256 key and nonce. The plaintext buffer
   * is zeroed when sealing ends, whatever the outcome: pass a buffer you own.
   */
  readonly seal: (
    plaintext: Uint8Array<ArrayBuffer>,
    recipient: CryptoKey,
  ) => Effect.Effect<SealedPackage, SecurityError>;
  /**
   * Seals `plaintext` like {@linkcode HybridCipher.seal}, giving the package as the UTF-8 JSON
   * bytes of the HTTP body (exactly what `encodePackage` makes of it) without making its base64
   * strings: the fast path.
   *
   * Unlike `seal`, it borrows `plaintext` and leaves zeroing it to the owner, who lends it to
   * a scope (as `SecureCompletion` does for a request, so that retries seal the same buffer
   * and it is zeroed once, after the last of them).
   */
  readonly sealToBody: (
    plaintext: Uint8Array<ArrayBuffer>,
    recipient: CryptoKey,
  ) => Effect.Effect<Uint8Array<ArrayBuffer>, SecurityError>;
  /**
   * Opens a decoded package. The plaintext is lent to the caller's scope and zeroed when it
   * closes. `privateKey` needs the `decrypt` usage.
   */
  readonly open: (
    pkg: DecodedPackage,
    privateKey: CryptoKey,
    payloadId?: string,
  ) => Effect.Effect<Uint8Array<ArrayBuffer>, SecurityError, Scope.Scope>;
  /**
   * Opens a decoded package, gives the plaintext to `use`, and zeroes it when `use` ends,
   * whatever the outcome: decrypt-then-zero without a scope of its own.
   */
  readonly openWith: <A, E, R>(
    pkg: DecodedPackage,
    privateKey: CryptoKey,
    use: (plaintext: Uint8Array<ArrayBuffer>) => Effect.Effect<A, E, R>,
    payloadId?: string,
  ) => Effect.Effect<A, SecurityError | E, R>;
}

/** Tag for {@linkcode HybridCipher}. */
export const HybridCipher: Context.Tag<HybridCipher, HybridCipher> = Context.GenericTag<
  HybridCipher
>("@nomyo/client/HybridCipher");

const OAEP = { name: "RSA-OAEP" } as const;
const AES_GCM_256 = { name: "AES-GCM", length: 256 } as const;
const AES_KEY_BITS = 256;

/** A key of the wrong kind is a programming error, not bad data: it dies with a `TypeError`. */
const requireRsaOaepKey = (key: CryptoKey, usage: KeyUsage): Effect.Effect<void> => {
  const algorithm = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
  return algorithm.name === "RSA-OAEP" && algorithm.hash?.name === "SHA-256" &&
      key.usages.includes(usage)
    ? Effect.void
    : Effect.die(new TypeError(`Cannot use key: expected an RSA-OAEP SHA-256 key for ${usage}`));
};

const decryptionFailed = (payloadId: string | undefined): SecurityError =>
  new SecurityError({ reason: "DecryptionFailed", message: DECRYPTION_FAILED_MESSAGE, payloadId });

const generateAesKey = (): Promise<CryptoKey> =>
  // Extractable only so that wrapKey can export it inside WebCrypto.
  crypto.subtle.generateKey(AES_GCM_256, true, ["encrypt"]) as Promise<CryptoKey>;

const unwrapped = (pkg: DecodedPackage, privateKey: CryptoKey): Promise<CryptoKey> =>
  crypto.subtle.unwrapKey("raw", pkg.wrappedKey, privateKey, OAEP, "AES-GCM", false, [
    "decrypt",
  ]);
const importAesKey = (raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> =>
  crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
// A 16- or 24-byte key would be AES-128/192: refused like any other failure.
const is256 = (key: CryptoKey): boolean =>
  (key.algorithm as AesKeyAlgorithm).length === AES_KEY_BITS;

const encryptionFailed = (): SecurityError =>
  new SecurityError({
    reason: "EncryptionFailed",
    message: "Cannot seal package: encryption failed",
  });

/**
 * How opening recovers a response's AES key from its RSA-OAEP-wrapped form.
 *
 * - `"unwrapKey"`: WebCrypto `unwrapKey` straight into a non-extractable `CryptoKey`; the key
 *   never exists as bytes in JavaScript memory.
 * - `"decrypt"`: WebCrypto RSA-OAEP `decrypt` into a 32-byte buffer, imported as a
 *   non-extractable `CryptoKey` and zeroed at once, however the import ends.
 *
 * Deno 2 runs RSA `unwrapKey` synchronously on the main thread (an 8 ms stall of the event
 * loop per response with RSA-4096, and no parallelism), and `decrypt` on a worker thread.
 */
export type KeyUnwrapping = "unwrapKey" | "decrypt";

/**
 * The {@linkcode KeyUnwrapping} for this runtime: `"decrypt"` on Deno, `"unwrapKey"` elsewhere.
 *
 * @returns The mode {@linkcode makeHybridCipher} uses when not told.
 */
export const defaultKeyUnwrapping = (): KeyUnwrapping =>
  typeof (globalThis as { Deno?: unknown }).Deno === "object" ? "decrypt" : "unwrapKey";

/** Options of {@linkcode makeHybridCipher}. */
export interface HybridCipherOptions {
  /** How to recover response keys; {@linkcode defaultKeyUnwrapping} when absent. */
  readonly keyUnwrapping?: KeyUnwrapping;
}

/**
 * Builds the cipher on top of a {@linkcode SecureBytes} service.
 *
 * Each message's AES key is made after the message before it was sealed, so that no request
 * waits for it (on Node, `generateKey` is a round trip through the thread pool). Each key is
 * taken exactly once, by one message, and never leaves WebCrypto.
 *
 * @param secureBytes Where plaintext buffers are lent.
 * @param options How to recover response keys.
 * @returns The cipher.
 */
export const makeHybridCipher = (
  secureBytes: SecureBytes,
  options: HybridCipherOptions = {},
): HybridCipher => {
  const keyUnwrapping = options.keyUnwrapping ?? defaultKeyUnwrapping();
  // The key for the next message, made once a seal has finished (started earlier, it would
  // compete for the thread pool with the seal it should not slow down).
  let nextAesKey: Promise<CryptoKey> | undefined;
  const takeAesKey = (): Promise<CryptoKey> => {
    const key = nextAesKey ?? generateAesKey();
    nextAesKey = undefined;
    return key;
  };
  const prepareNextAesKey = (): void => {
    if (nextAesKey !== undefined) return;
    nextAesKey = generateAesKey();
    // A failure shows when that key is taken; until then it must not count as unhandled.
    nextAesKey.catch(() => {});
  };

  const sealParts = (
    data: Uint8Array<ArrayBuffer>,
    recipient: CryptoKey,
  ): Effect.Effect<PackageParts, SecurityError> =>
    Effect.zipRight(
      requireRsaOaepKey(recipient, "wrapKey"),
      Effect.tryPromise({
        try: async (): Promise<PackageParts> => {
          const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
          const aesKey = await takeAesKey();
          const [sealed, wrappedKey] = await Promise.all([
            crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, aesKey, data),
            crypto.subtle.wrapKey("raw", aesKey, recipient, OAEP),
          ]);
          prepareNextAesKey();
          return {
            wrappedKey: new Uint8Array(wrappedKey),
            nonce,
            sealed: new Uint8Array(sealed),
          };
        },
        catch: encryptionFailed,
      }),
    );

  // "unwrapKey" stays interruptible: nothing secret reaches JavaScript. "decrypt" runs its RSA
  // step uninterruptibly (a few ms), so that the key bytes it makes are always zeroed.
  const unwrap = (
    pkg: DecodedPackage,
    privateKey: CryptoKey,
    payloadId: string | undefined,
  ): Effect.Effect<CryptoKey, SecurityError> => {
    const failed = () => decryptionFailed(payloadId);
    const recover = keyUnwrapping === "unwrapKey"
      ? Effect.tryPromise({ try: () => unwrapped(pkg, privateKey), catch: failed })
      : secureBytes.use(
        Effect.tryPromise({
          try: async () =>
            new Uint8Array(await crypto.subtle.decrypt(OAEP, privateKey, pkg.wrappedKey)),
          catch: failed,
        }),
        (raw) => Effect.tryPromise({ try: () => importAesKey(raw), catch: failed }),
      );
    return Effect.zipRight(
      requireRsaOaepKey(privateKey, keyUnwrapping), // the mode names the usage it needs
      Effect.filterOrFail(recover, is256, failed),
    );
  };
  const decrypt = (
    pkg: DecodedPackage,
    aesKey: CryptoKey,
    payloadId: string | undefined,
  ): Effect.Effect<Uint8Array<ArrayBuffer>, SecurityError> =>
    Effect.tryPromise({
      try: async () =>
        new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: pkg.nonce, tagLength: 128 },
            aesKey,
            pkg.sealed,
          ),
        ),
      catch: () => decryptionFailed(payloadId),
    });

  return {
    seal: (plaintext, recipient) =>
      secureBytes.use(
        Effect.succeed(plaintext),
        (data) => Effect.map(sealParts(data, recipient), buildPackage),
      ),
    sealToBody: (plaintext, recipient) =>
      Effect.map(sealParts(plaintext, recipient), encodePackageParts),
    open: (pkg, privateKey, payloadId) =>
      Effect.flatMap(
        unwrap(pkg, privateKey, payloadId),
        (aesKey) => secureBytes.acquire(decrypt(pkg, aesKey, payloadId)),
      ),
    openWith: (pkg, privateKey, use, payloadId) =>
      Effect.flatMap(
        unwrap(pkg, privateKey, payloadId),
        (aesKey) => secureBytes.use(decrypt(pkg, aesKey, payloadId), use),
      ),
  };
};

/** Layer of the real {@linkcode HybridCipher}; needs {@linkcode SecureBytes}. */
export const layerHybridCipher: Layer.Layer<HybridCipher, never, SecureBytes> = Layer.effect(
  HybridCipher,
  Effect.map(SecureBytes, (secureBytes) => makeHybridCipher(secureBytes)),
);
