/**
 * Import and export of RSA keys, with WebCrypto only: public keys from DER or PEM SPKI; private
 * keys from PKCS#8, PKCS#1 or encrypted PKCS#8 PEM; private keys out as PKCS#8 PEM, encrypted
 * when a password is given. Every key is checked (`rsa_key_checks.ts`) before WebCrypto sees it.
 *
 * Private material never goes through a JS string or JWK: the public half of a private key is
 * read from the DER `RSAPrivateKey` (n and e) and written as an SPKI with the DER writer, and
 * every buffer that held private material (decoded PEM, decrypted PKCS#8, the PKCS#8 wrapper of
 * a PKCS#1 key, exported PKCS#8) is zeroed right after use, also on failure or interruption.
 * What cannot be zeroed: a PEM given as a string (and the base64 string decoded from it), and
 * the password string.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import { KeyError } from "../errors.ts";
import { SecureBytes, wipe } from "../crypto/secure_bytes.ts";
import {
  bytesEqual,
  contextTag,
  derOctetString,
  derSequence,
  derSmallInteger,
  encodeDer,
  parseDer,
  readOctetString,
  readSequence,
  readSmallInteger,
  readUnsignedInteger,
} from "./der.ts";
import { formatPemBytes, parsePem } from "./pem.ts";
import {
  checkEncryptOptions,
  decryptPkcs8,
  DEFAULT_PBKDF2_ITERATIONS,
  encryptPkcs8,
  KEY_DECRYPTION_FAILED_MESSAGE,
} from "./pkcs8_encrypted.ts";
import {
  buildSpki,
  checkedPublicKey,
  keyError,
  pairwiseConsistent,
  readRsaAlgorithm,
  RSA_OAEP_SHA256,
  rsaAlgorithmIdentifier,
  type RsaNumbers,
} from "./rsa_key_checks.ts";
import type { RsaKeyPair, RsaPublicKey } from "./rsa_key.ts";

/** Reads n and e of a PKCS#1 `RSAPrivateKey` (views into `der`), checking its shape. */
const readRsaPrivateKey = (
  der: Uint8Array<ArrayBuffer>,
  action: string,
): Effect.Effect<RsaNumbers, KeyError> =>
  parseDer(der, action, (root) => {
    const fields = readSequence(root, "RSAPrivateKey", 9, 10);
    const version = readSmallInteger(fields[0], "RSAPrivateKey version");
    if (version === 1) {
      throw keyError("Malformed", action, "multi-prime RSA keys are not supported");
    }
    if (version !== 0 || fields.length !== 9) {
      throw keyError("Malformed", action, "RSAPrivateKey version is not 0");
    }
    const names = [
      "modulus",
      "publicExponent",
      "privateExponent",
      "prime1",
      "prime2",
      "exponent1",
      "exponent2",
      "coefficient",
    ];
    const values = names.map((name, i) => {
      const m = readUnsignedInteger(fields[i + 1], name);
      if (m.length === 1 && m[0] === 0) {
        throw keyError("Malformed", action, `${name} is zero`);
      }
      return m;
    });
    return { n: values[0]!, e: values[1]! };
  });

const TAG_ATTRIBUTES = contextTag(0, true);
const TAG_PUBLIC_KEY = contextTag(1, false);

/** Reads a `PrivateKeyInfo` (PKCS#8 v1 or v2) and returns the `RSAPrivateKey` DER it wraps (a view). */
const readPkcs8 = (
  der: Uint8Array<ArrayBuffer>,
  action: string,
): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError> =>
  parseDer(der, action, (root) => {
    const fields = readSequence(root, "PrivateKeyInfo", 3, 5);
    const version = readSmallInteger(fields[0], "PrivateKeyInfo version");
    if (version > 1) throw keyError("Malformed", action, "PrivateKeyInfo version is not 0 or 1");
    readRsaAlgorithm(fields[1], action);
    const inner = readOctetString(fields[2], "privateKey");
    let i = 3;
    if (fields[i]?.tag === TAG_ATTRIBUTES) i++;
    if (version === 1 && fields[i]?.tag === TAG_PUBLIC_KEY) i++;
    if (i !== fields.length) {
      throw keyError("Malformed", action, "PrivateKeyInfo has unexpected fields");
    }
    return inner;
  });

/** Checks an `RSAPrivateKey`, derives its public key, and imports it through a zeroed PKCS#8 wrapper. */
const importRsaPrivateKey = (
  rsaPrivateKey: Uint8Array<ArrayBuffer>,
  extractable: boolean,
  action: string,
): Effect.Effect<RsaKeyPair, KeyError> =>
  Effect.gen(function* () {
    const numbers = yield* readRsaPrivateKey(rsaPrivateKey, action);
    const publicKey = yield* checkedPublicKey(buildSpki(numbers), action);
    const privateKey = yield* Effect.acquireUseRelease(
      Effect.sync(() =>
        encodeDer(
          derSequence(derSmallInteger(0), rsaAlgorithmIdentifier(), derOctetString(rsaPrivateKey)),
        )
      ),
      (pkcs8) =>
        Effect.tryPromise({
          try: () =>
            crypto.subtle.importKey("pkcs8", pkcs8, RSA_OAEP_SHA256, extractable, [
              "decrypt",
              "unwrapKey",
            ]),
          catch: () => keyError("Malformed", action, "WebCrypto refused the private key"),
        }),
      (pkcs8) => Effect.sync(() => wipe(pkcs8)),
    );
    if (!(yield* pairwiseConsistent(publicKey.key, privateKey))) {
      return yield* Effect.fail(
        keyError("Malformed", action, "the private key does not work with its own public key"),
      );
    }
    return { privateKey, publicKey };
  });

/**
 * Imports a DER `SubjectPublicKeyInfo` (a router's key, or the client's own).
 *
 * @param der The DER SPKI (copied).
 * @returns The public key; `"NotRsa"`, `"WeakKey"` (under 2048 bits, exponent even or not above
 * 65536) or `"Malformed"` otherwise.
 */
export const importPublicKeySpki = (der: Uint8Array): Effect.Effect<RsaPublicKey, KeyError> =>
  Effect.suspend(() => checkedPublicKey(new Uint8Array(der), "import public key"));

/**
 * Imports a PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`), as served by a router's
 * `/pki/public_key`.
 *
 * @param pem The PEM text or its ASCII bytes.
 * @returns The public key; a `KeyError` as for {@linkcode importPublicKeySpki}, or `"Malformed"`
 * for anything but one strict `PUBLIC KEY` block.
 *
 * @example Read a router key (here: a freshly generated one)
 * ```ts
 * import { Effect } from "effect";
 * import { generateRsaKeyPair, importPublicKeyPem } from "@nomyo/client";
 * // In real use: the text of `GET {base}/pki/public_key`.
 * const { publicKey } = await Effect.runPromise(generateRsaKeyPair({ bits: 2048 }));
 * const router = await Effect.runPromise(importPublicKeyPem(publicKey.pem));
 * console.assert(router.fingerprint === publicKey.fingerprint && router.bits === 2048);
 * ```
 */
export const importPublicKeyPem = (
  pem: string | Uint8Array,
): Effect.Effect<RsaPublicKey, KeyError> =>
  Effect.flatMap(parsePem(pem), (block) => {
    if (block.label === "PUBLIC KEY") return checkedPublicKey(block.der, "import public key");
    wipe(block.der);
    return Effect.fail(
      keyError(
        "Malformed",
        "import public key",
        `the PEM holds a "${block.label}", not a "PUBLIC KEY"`,
      ),
    );
  });

/**
 * Imports a private key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or encrypted
 * PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 with PBKDF2 and AES-CBC).
 *
 * @param pem The PEM text or its ASCII bytes (bytes are not modified: zero them yourself).
 * @param options `password` for encrypted files (ignored for others); `extractable` (default
 * `false`) to allow {@linkcode exportPrivateKeyPem} later.
 * @returns The key pair. Fails with `"PasswordRequired"`, `"DecryptionFailed"` (wrong password or
 * corrupted file, one message), `"UnsupportedEncryption"` (legacy PEM encryption, scrypt, 3DES,
 * PBES1, absurd iteration counts), `"NotRsa"`, `"WeakKey"` or `"Malformed"`.
 *
 * @example Read a key file's bytes, then zero them
 * ```ts
 * import { Effect } from "effect";
 * import { importPrivateKeyPem } from "@nomyo/client";
 * // In real use: `await Deno.readFile("client_key.pem")`.
 * const bytes = new TextEncoder().encode("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n");
 * const exit = await Effect.runPromiseExit(importPrivateKeyPem(bytes, { password: undefined }));
 * bytes.fill(0);
 * console.assert(exit._tag === "Failure"); // not a real key: KeyError "Malformed"
 * ```
 */
export const importPrivateKeyPem = (
  pem: string | Uint8Array,
  options?: { readonly password?: string | undefined; readonly extractable?: boolean },
): Effect.Effect<RsaKeyPair, KeyError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const action = "import private key";
      const extractable = options?.extractable ?? false;
      const block = yield* Effect.acquireRelease(parsePem(pem), (b) =>
        Effect.sync(() => wipe(b.der)));
      switch (block.label) {
        case "PUBLIC KEY":
          return yield* Effect.fail(keyError("Malformed", action, "the PEM holds a public key"));
        case "RSA PRIVATE KEY":
          return yield* importRsaPrivateKey(block.der, extractable, action);
        case "PRIVATE KEY":
          return yield* importRsaPrivateKey(
            yield* readPkcs8(block.der, action),
            extractable,
            action,
          );
        case "ENCRYPTED PRIVATE KEY": {
          const pkcs8 = yield* decryptPkcs8(block.der, options?.password);
          // Past the padding and the outer DER, a wrong password or a corrupted file can still
          // show as a malformed key: keep the one decryption message.
          return yield* Effect.flatMap(
            readPkcs8(pkcs8, action),
            (inner) =>
              importRsaPrivateKey(inner, extractable, action),
          ).pipe(
            Effect.mapError((e) =>
              e.reason === "Malformed"
                ? new KeyError({
                  reason: "DecryptionFailed",
                  message: KEY_DECRYPTION_FAILED_MESSAGE,
                })
                : e
            ),
          );
        }
      }
    }),
  );

/**
 * Exports a key pair's private key as PEM: PKCS#8 (`PRIVATE KEY`), or encrypted PKCS#8
 * (`ENCRYPTED PRIVATE KEY`: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) when a password is given.
 * `openssl pkey` reads both.
 *
 * @param pair A pair whose private key is extractable (else `"NotExtractable"`) and belongs to
 * its public key (else `"Mismatch"`).
 * @param options `password`: at least 8 characters (else `"PasswordTooShort"`); `iterations`:
 * PBKDF2 iterations, 1,000 to 10,000,000, default 600,000.
 * @returns The ASCII PEM bytes, lent to the scope: zeroed when it closes (write them out inside
 * the scope).
 *
 * @example Export encrypted, use the bytes inside the scope
 * ```ts
 * import { Effect } from "effect";
 * import { exportPrivateKeyPem, generateRsaKeyPair, layerSecureBytes } from "@nomyo/client";
 * const pair = await Effect.runPromise(generateRsaKeyPair({ bits: 2048, extractable: true }));
 * const header = await Effect.runPromise(
 *   Effect.scoped(
 *     exportPrivateKeyPem(pair, { password: "correct horse battery staple" }).pipe(
 *       // In real use: write `pem` to a file with mode 0o600 here; it is zeroed after.
 *       Effect.map((pem) => new TextDecoder().decode(pem.subarray(0, 37))),
 *     ),
 *   ).pipe(Effect.provide(layerSecureBytes)),
 * );
 * console.assert(header === "-----BEGIN ENCRYPTED PRIVATE KEY-----");
 * ```
 */
export const exportPrivateKeyPem = (
  pair: RsaKeyPair,
  options?: { readonly password?: string | undefined; readonly iterations?: number },
): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError, Scope.Scope | SecureBytes> =>
  Effect.gen(function* () {
    const action = "export private key";
    const key = pair.privateKey;
    const algorithm = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
    if (
      key.type !== "private" || algorithm.name !== "RSA-OAEP" || algorithm.hash?.name !== "SHA-256"
    ) {
      return yield* Effect.fail(
        keyError("NotRsa", action, "the key is not an RSA-OAEP SHA-256 private key"),
      );
    }
    if (!key.extractable) {
      return yield* Effect.fail(
        keyError(
          "NotExtractable",
          action,
          "the key is not extractable (generate or import it with extractable: true)",
        ),
      );
    }
    const password = options?.password;
    const iterations = options?.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    if (password !== undefined) yield* checkEncryptOptions(password, iterations);
    const secure = yield* SecureBytes;
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: async () => new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)),
        catch: () => keyError("Unavailable", action, "WebCrypto failed to export the key"),
      }),
      (pkcs8) =>
        Effect.gen(function* () {
          const numbers = yield* readRsaPrivateKey(yield* readPkcs8(pkcs8, action), action);
          if (!bytesEqual(buildSpki(numbers), pair.publicKey.spki)) {
            return yield* Effect.fail(
              keyError("Mismatch", action, "the public key does not belong to the private key"),
            );
          }
          const der = password === undefined
            ? pkcs8
            : yield* encryptPkcs8(pkcs8, password, { iterations });
          const label = password === undefined ? "PRIVATE KEY" : "ENCRYPTED PRIVATE KEY";
          return yield* Effect.uninterruptible(
            Effect.flatMap(
              Effect.sync(() => formatPemBytes(label, der)),
              (pem) => secure.lend(pem),
            ),
          );
        }),
      (pkcs8) => Effect.sync(() => wipe(pkcs8)),
    );
  });
