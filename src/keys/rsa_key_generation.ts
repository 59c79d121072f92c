/**
 * Generation of the client's RSA-OAEP (SHA-256) key pairs, off the main thread, each checked
 * as an imported key would be.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type { KeyError } from "../errors.ts";
import { generateKeyPairOffThread } from "./key_pair_worker.ts";
import { checkedPublicKey, keyError } from "./rsa_key_checks.ts";
import type { RsaKeyPair, RsaKeySize } from "./rsa_key.ts";

/**
 * Generates an RSA-OAEP (SHA-256) key pair with public exponent 65537.
 *
 * @param options `bits`: 2048 or 4096 (default 4096, as the protocol's `hybrid-aes256-rsa4096`);
 * any other size is `"WeakKey"`. `extractable`: whether the private key can be exported
 * (default `false`).
 * @returns The key pair.
 *
 * @example Generate an exportable 2048-bit pair
 * ```ts
 * import { Effect } from "effect";
 * import { generateRsaKeyPair } from "@nomyo/client";
 * const pair = await Effect.runPromise(generateRsaKeyPair({ bits: 2048, extractable: true }));
 * console.assert(pair.publicKey.bits === 2048 && pair.privateKey.extractable);
 * ```
 */
export const generateRsaKeyPair = (
  options?: { readonly bits?: RsaKeySize; readonly extractable?: boolean },
): Effect.Effect<RsaKeyPair, KeyError> =>
  Effect.gen(function* () {
    const action = "generate key pair";
    const bits: number = options?.bits ?? 4096;
    if (bits !== 2048 && bits !== 4096) {
      return yield* Effect.fail(keyError("WeakKey", action, "the size must be 2048 or 4096 bits"));
    }
    // Off the main thread even where the runtime's generateKey is not (Bun): a rotation must
    // not stall the requests in flight.
    const pair = yield* Effect.mapError(
      generateKeyPairOffThread(
        {
          name: "RSA-OAEP",
          modulusLength: bits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        },
        options?.extractable ?? false,
        ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
      ),
      () => keyError("Unavailable", action, "WebCrypto failed"),
    );
    const spki = yield* Effect.tryPromise({
      try: async () => new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
      catch: () => keyError("Unavailable", action, "WebCrypto failed to export the public key"),
    });
    const publicKey = yield* checkedPublicKey(spki, action, pair.publicKey);
    return { privateKey: pair.privateKey, publicKey };
  });
