/**
 * The client's RSA keys: generate, import and export them, read router keys.
 *
 * Keys are RSA-OAEP with SHA-256 `CryptoKey`s; every key is checked from its DER (RSA, at least
 * 2048 bits, odd public exponent above 65536) before WebCrypto sees it. Private key files may be
 * PKCS#8, PKCS#1 or encrypted PKCS#8 (PBES2: PBKDF2 + AES-CBC); exports are PKCS#8, encrypted
 * with PBKDF2-HMAC-SHA256 and AES-256-CBC when a password is given.
 *
 * @example Generate, export encrypted, import again
 * ```ts
 * import { Effect } from "effect";
 * import {
 *   exportPrivateKeyPem,
 *   generateRsaKeyPair,
 *   importPrivateKeyPem,
 *   layerSecureBytes,
 * } from "@nomyo/client";
 *
 * const password = "correct horse battery staple";
 * const program = Effect.gen(function* () {
 *   const pair = yield* generateRsaKeyPair({ bits: 2048, extractable: true });
 *   const again = yield* Effect.scoped(
 *     Effect.flatMap(exportPrivateKeyPem(pair, { password }), (pem) => importPrivateKeyPem(pem, { password })),
 *   );
 *   return again.publicKey.fingerprint === pair.publicKey.fingerprint;
 * });
 * const same = await Effect.runPromise(program.pipe(Effect.provide(layerSecureBytes)));
 * ```
 *
 * @module
 */
export {
  MAX_RSA_BITS,
  MIN_PUBLIC_EXPONENT,
  MIN_RSA_BITS,
  type RsaKeyPair,
  type RsaKeySize,
  type RsaPublicKey,
} from "./rsa_key.ts";
export { fingerprintSpki } from "./rsa_key_checks.ts";
export {
  exportPrivateKeyPem,
  importPrivateKeyPem,
  importPublicKeyPem,
  importPublicKeySpki,
} from "./rsa_key_import_export.ts";
export { generateRsaKeyPair } from "./rsa_key_generation.ts";
export {
  DEFAULT_PBKDF2_ITERATIONS,
  KEY_DECRYPTION_FAILED_MESSAGE,
  MAX_PBKDF2_ITERATIONS,
  MIN_PASSWORD_LENGTH,
  MIN_PBKDF2_ITERATIONS,
} from "./pkcs8_encrypted.ts";
