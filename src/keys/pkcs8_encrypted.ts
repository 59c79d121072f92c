/**
 * Encrypted PKCS#8 (`EncryptedPrivateKeyInfo`, RFC 5958 / RFC 8018 PBES2) with WebCrypto only.
 *
 * Reads PBES2 with PBKDF2 (PRF HMAC-SHA-1, -SHA-224, -SHA-256, -SHA-384 or -SHA-512; SHA-1 is the
 * DEFAULT when the PRF is left out, as `openssl -v2prf hmacWithSHA1` writes) and AES-128/192/256-CBC:
 * what OpenSSL 3 and pyca/cryptography write. Everything else is refused with
 * `"UnsupportedEncryption"` and a message naming it: scrypt (pyca and `openssl -scrypt` can use
 * it; WebCrypto has no scrypt), PBES1 and PKCS#12 PBE schemes, DES-EDE3-CBC, DES, RC2, and so on.
 * Iteration counts outside 1,000…10,000,000 are refused before any work is done.
 *
 * Writes PBES2 with PBKDF2-HMAC-SHA256 (600,000 iterations by default, OWASP 2023), a 16-byte
 * random salt and AES-256-CBC with a random IV; `openssl pkey` opens the result.
 *
 * Reading allows any non-empty password (files made elsewhere may have short ones); writing
 * requires {@linkcode MIN_PASSWORD_LENGTH} characters (Unicode code points). Passwords are
 * encoded as UTF-8 without normalization, as OpenSSL and pyca do.
 *
 * A wrong password and a corrupted file fail in the same way (`"DecryptionFailed"` with
 * {@linkcode KEY_DECRYPTION_FAILED_MESSAGE}), whether the padding was wrong or the plaintext was
 * not a private key.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import { KeyError } from "../errors.ts";
import { wipe } from "../crypto/secure_bytes.ts";
import {
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSmallInteger,
  DerTag,
  encodeDer,
  encodeOid,
  expectTag,
  isOid,
  parseDer,
  readOctetString,
  readOid,
  readSequence,
  readSmallInteger,
} from "./der.ts";

/** PBKDF2 iterations written by default (OWASP 2023 for PBKDF2-HMAC-SHA256). */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
/** Fewest PBKDF2 iterations read or written (RFC 8018 §4.2). */
export const MIN_PBKDF2_ITERATIONS = 1_000;
/** Most PBKDF2 iterations read or written: more is refused before any work (denial of service). */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** Fewest characters of a password used to encrypt a key. */
export const MIN_PASSWORD_LENGTH = 8;
/** The one message of a wrong password or a corrupted encrypted key. */
export const KEY_DECRYPTION_FAILED_MESSAGE =
  "Cannot decrypt private key: wrong password or corrupted file";

const OID_PBES2 = encodeOid("1.2.840.113549.1.5.13");
const OID_PBKDF2 = encodeOid("1.2.840.113549.1.5.12");
const OID_HMAC_SHA256 = encodeOid("1.2.840.113549.2.9");
const OID_AES256_CBC = encodeOid("2.16.840.1.101.3.4.1.42");

const PRFS: ReadonlyMap<string, string> = new Map([
  ["1.2.840.113549.2.7", "SHA-1"],
  ["1.2.840.113549.2.8", "SHA-224"],
  ["1.2.840.113549.2.9", "SHA-256"],
  ["1.2.840.113549.2.10", "SHA-384"],
  ["1.2.840.113549.2.11", "SHA-512"],
]);

/** AES-CBC OIDs → key length in bytes. */
const CIPHERS: ReadonlyMap<string, number> = new Map([
  ["2.16.840.1.101.3.4.1.2", 16],
  ["2.16.840.1.101.3.4.1.22", 24],
  ["2.16.840.1.101.3.4.1.42", 32],
]);

/** Names of schemes, KDFs and ciphers we refuse, for the message. */
const KNOWN_NAMES: ReadonlyMap<string, string> = new Map([
  ["1.2.840.113549.3.7", "DES-EDE3-CBC"],
  ["1.3.14.3.2.7", "DES-CBC"],
  ["1.2.840.113549.3.2", "RC2-CBC"],
  ["1.2.840.113549.3.9", "RC5-CBC-PAD"],
  ["2.16.840.1.101.3.4.1.6", "AES-128-GCM"],
  ["2.16.840.1.101.3.4.1.26", "AES-192-GCM"],
  ["2.16.840.1.101.3.4.1.46", "AES-256-GCM"],
  ["2.16.840.1.101.3.4.1.1", "AES-128-ECB"],
  ["2.16.840.1.101.3.4.1.41", "AES-256-ECB"],
  ["1.2.410.200004.1.4", "SEED-CBC"],
  ["1.2.392.200011.61.1.1.1.4", "Camellia-256-CBC"],
  ["1.3.6.1.4.1.11591.4.11", "scrypt"],
  ["1.2.840.113549.2.5", "HMAC-MD5"],
  ["1.2.840.113549.1.5.1", "PBES1 pbeWithMD2AndDES-CBC"],
  ["1.2.840.113549.1.5.3", "PBES1 pbeWithMD5AndDES-CBC"],
  ["1.2.840.113549.1.5.4", "PBES1 pbeWithMD2AndRC2-CBC"],
  ["1.2.840.113549.1.5.6", "PBES1 pbeWithMD5AndRC2-CBC"],
  ["1.2.840.113549.1.5.10", "PBES1 pbeWithSHA1AndDES-CBC"],
  ["1.2.840.113549.1.5.11", "PBES1 pbeWithSHA1AndRC2-CBC"],
  ["1.2.840.113549.1.12.1.1", "PKCS#12 pbeWithSHAAnd128BitRC4"],
  ["1.2.840.113549.1.12.1.2", "PKCS#12 pbeWithSHAAnd40BitRC4"],
  ["1.2.840.113549.1.12.1.3", "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC"],
  ["1.2.840.113549.1.12.1.4", "PKCS#12 pbeWithSHAAnd2-KeyTripleDES-CBC"],
  ["1.2.840.113549.1.12.1.5", "PKCS#12 pbeWithSHAAnd128BitRC2-CBC"],
  ["1.2.840.113549.1.12.1.6", "PKCS#12 pbeWithSHAAnd40BitRC2-CBC"],
]);

const nameOf = (oid: string): string => KNOWN_NAMES.get(oid) ?? `OID ${oid}`;

const unsupported = (action: string, detail: string): KeyError =>
  new KeyError({ reason: "UnsupportedEncryption", message: `Cannot ${action}: ${detail}` });

const decryptFailed = (): KeyError =>
  new KeyError({ reason: "DecryptionFailed", message: KEY_DECRYPTION_FAILED_MESSAGE });

/** What an `EncryptedPrivateKeyInfo` says, checked. */
interface Pbes2 {
  readonly hash: string;
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly iterations: number;
  readonly keyBytes: number;
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly ciphertext: Uint8Array<ArrayBuffer>;
}

const READ = "decrypt private key";

const readPbes2 = (der: Uint8Array<ArrayBuffer>): Effect.Effect<Pbes2, KeyError> =>
  parseDer(der, "read encrypted private key", (root): Pbes2 => {
    const [algorithm, data] = readSequence(root, "EncryptedPrivateKeyInfo", 2);
    const [schemeOid, schemeParams] = readSequence(algorithm, "encryptionAlgorithm", 1, 2);
    if (!isOid(schemeOid, OID_PBES2)) {
      throw unsupported(
        READ,
        `scheme ${nameOf(readOid(schemeOid, "encryption scheme"))} is not supported, only PBES2`,
      );
    }
    const [kdf, cipher] = readSequence(schemeParams, "PBES2-params", 2);
    const [kdfOid, kdfParams] = readSequence(kdf, "keyDerivationFunc", 1, 2);
    if (!isOid(kdfOid, OID_PBKDF2)) {
      throw unsupported(
        READ,
        `key derivation ${nameOf(readOid(kdfOid, "key derivation"))} is not supported, only PBKDF2`,
      );
    }
    const [cipherOid, cipherParams] = readSequence(cipher, "encryptionScheme", 1, 2);
    const cipherName = readOid(cipherOid, "encryption scheme");
    const keyBytes = CIPHERS.get(cipherName);
    if (keyBytes === undefined) {
      throw unsupported(READ, `cipher ${nameOf(cipherName)} is not supported, only AES-CBC`);
    }
    const iv = readOctetString(cipherParams, "AES-CBC IV");
    if (iv.length !== 16) {
      throw new KeyError({
        reason: "Malformed",
        message: `Cannot ${READ}: AES-CBC IV is not 16 bytes`,
      });
    }

    const fields = readSequence(kdfParams, "PBKDF2-params", 2, 4);
    const [saltNode, countNode] = fields;
    if (saltNode?.tag === DerTag.Sequence) {
      throw unsupported(READ, "PBKDF2 salt from another source is not supported");
    }
    const salt = readOctetString(saltNode, "PBKDF2 salt");
    if (salt.length === 0 || salt.length > 1024) {
      throw new KeyError({
        reason: "Malformed",
        message: `Cannot ${READ}: PBKDF2 salt length is out of range`,
      });
    }
    const iterations = readSmallInteger(countNode, "PBKDF2 iteration count");
    if (iterations > MAX_PBKDF2_ITERATIONS) {
      throw unsupported(READ, `PBKDF2 iteration count is above ${MAX_PBKDF2_ITERATIONS}`);
    }
    if (iterations < MIN_PBKDF2_ITERATIONS) {
      throw unsupported(
        READ,
        `PBKDF2 iteration count is below ${MIN_PBKDF2_ITERATIONS}; re-encrypt the key`,
      );
    }
    let i = 2;
    if (fields[i]?.tag === DerTag.Integer) {
      if (readSmallInteger(fields[i], "PBKDF2 key length") !== keyBytes) {
        throw new KeyError({
          reason: "Malformed",
          message: `Cannot ${READ}: PBKDF2 key length does not match the cipher`,
        });
      }
      i++;
    }
    let hash = "SHA-1"; // RFC 8018: prf DEFAULT algid-hmacWithSHA1
    if (fields[i] !== undefined) {
      const [prfOid, prfParams] = readSequence(fields[i], "PBKDF2 prf", 1, 2);
      const prfName = readOid(prfOid, "PBKDF2 prf");
      const known = PRFS.get(prfName);
      if (known === undefined) {
        throw unsupported(READ, `PBKDF2 PRF ${nameOf(prfName)} is not supported`);
      }
      if (prfParams !== undefined) expectTag(prfParams, DerTag.Null, "PBKDF2 prf parameters");
      hash = known;
      i++;
    }
    if (i !== fields.length) {
      throw new KeyError({
        reason: "Malformed",
        message: `Cannot ${READ}: PBKDF2-params has unexpected fields`,
      });
    }
    const ciphertext = readOctetString(data, "encryptedData");
    return { hash, salt, iterations, keyBytes, iv, ciphertext };
  });

/** Derives an AES-CBC key; the password bytes and derived bits are zeroed right after use. */
const deriveAesKey = (
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  hash: string,
  keyBytes: number,
  usage: "encrypt" | "decrypt",
  action: string,
): Effect.Effect<CryptoKey, KeyError> =>
  Effect.acquireUseRelease(
    Effect.sync(() => new TextEncoder().encode(password)),
    (pw) =>
      Effect.tryPromise({
        try: async () => {
          const base = await crypto.subtle.importKey("raw", pw, "PBKDF2", false, ["deriveBits"]);
          const bits = new Uint8Array(
            await crypto.subtle.deriveBits(
              { name: "PBKDF2", salt, iterations, hash },
              base,
              keyBytes * 8,
            ),
          );
          try {
            return await crypto.subtle.importKey("raw", bits, "AES-CBC", false, [usage]);
          } finally {
            wipe(bits);
          }
        },
        catch: () => unsupported(action, "PBKDF2 or AES-CBC is not available"),
      }),
    (pw) => Effect.sync(() => wipe(pw)),
  );

/** Whether `der` looks like a `PrivateKeyInfo` (so a lucky padding with a wrong key is caught). */
const looksLikePrivateKeyInfo = (der: Uint8Array<ArrayBuffer>): Effect.Effect<boolean> =>
  parseDer(der, READ, (root) => {
    const fields = readSequence(root, "PrivateKeyInfo", 3, 5);
    expectTag(fields[0], DerTag.Integer, "version");
    expectTag(fields[1], DerTag.Sequence, "privateKeyAlgorithm");
    expectTag(fields[2], DerTag.OctetString, "privateKey");
    return true;
  }).pipe(Effect.orElseSucceed(() => false));

/**
 * Decrypts an `EncryptedPrivateKeyInfo` (PBES2, PBKDF2, AES-CBC) into the `PrivateKeyInfo` DER.
 *
 * @param der The DER of the `ENCRYPTED PRIVATE KEY` block.
 * @param password The password; `undefined` or `""` is `"PasswordRequired"`.
 * @returns The PKCS#8 DER, lent to the scope: zeroed when the scope closes. Fails with
 * `"DecryptionFailed"` ({@linkcode KEY_DECRYPTION_FAILED_MESSAGE}) for a wrong password or a
 * corrupted file, `"UnsupportedEncryption"` for schemes, ciphers or counts this library refuses,
 * `"Malformed"` for bad DER.
 */
export const decryptPkcs8 = (
  der: Uint8Array<ArrayBuffer>,
  password: string | undefined,
): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError, Scope.Scope> =>
  Effect.gen(function* () {
    if (password === undefined || password.length === 0) {
      return yield* Effect.fail(
        new KeyError({
          reason: "PasswordRequired",
          message:
            "Cannot decrypt private key: the key file is encrypted and no password was given",
        }),
      );
    }
    const p = yield* readPbes2(der);
    if (p.ciphertext.length === 0 || p.ciphertext.length % 16 !== 0) {
      return yield* Effect.fail(decryptFailed());
    }
    const key = yield* deriveAesKey(
      password,
      p.salt,
      p.iterations,
      p.hash,
      p.keyBytes,
      "decrypt",
      READ,
    );
    const plain = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () =>
          new Uint8Array(
            await crypto.subtle.decrypt({ name: "AES-CBC", iv: p.iv }, key, p.ciphertext),
          ),
        catch: decryptFailed,
      }),
      (b) => Effect.sync(() => wipe(b)),
    );
    if (!(yield* looksLikePrivateKeyInfo(plain))) return yield* Effect.fail(decryptFailed());
    return plain;
  });

/** Options of {@linkcode encryptPkcs8}. */
export interface EncryptPkcs8Options {
  /** PBKDF2 iterations, from 1,000 to 10,000,000; default {@linkcode DEFAULT_PBKDF2_ITERATIONS}. */
  readonly iterations?: number | undefined;
}

/**
 * Checks a password and iteration count for writing, before any work is done.
 *
 * @param password The password.
 * @param iterations The PBKDF2 iteration count.
 * @returns Nothing, or `"PasswordTooShort"` / `"UnsupportedEncryption"`.
 */
export const checkEncryptOptions = (
  password: string,
  iterations: number,
): Effect.Effect<void, KeyError> => {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    return Effect.fail(
      new KeyError({
        reason: "PasswordTooShort",
        message:
          `Cannot encrypt private key: the password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      }),
    );
  }
  if (
    !Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS ||
    iterations > MAX_PBKDF2_ITERATIONS
  ) {
    return Effect.fail(
      unsupported(
        "encrypt private key",
        `the iteration count must be an integer from ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}`,
      ),
    );
  }
  return Effect.void;
};

/**
 * Encrypts a `PrivateKeyInfo` as an `EncryptedPrivateKeyInfo`: PBES2, PBKDF2-HMAC-SHA256 with a
 * 16-byte random salt, AES-256-CBC with a random IV.
 *
 * @param pkcs8 The PKCS#8 DER (not modified; the caller zeroes it).
 * @param password At least {@linkcode MIN_PASSWORD_LENGTH} characters.
 * @param options The iteration count.
 * @returns The DER of the `ENCRYPTED PRIVATE KEY` block (ciphertext: no need to zero it).
 */
export const encryptPkcs8 = (
  pkcs8: Uint8Array<ArrayBuffer>,
  password: string,
  options: EncryptPkcs8Options = {},
): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError> =>
  Effect.gen(function* () {
    const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    yield* checkEncryptOptions(password, iterations);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(16));
    const action = "encrypt private key";
    const key = yield* deriveAesKey(password, salt, iterations, "SHA-256", 32, "encrypt", action);
    const ciphertext = yield* Effect.tryPromise({
      try: async () =>
        new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, pkcs8)),
      catch: () => unsupported(action, "AES-CBC failed"),
    });
    return encodeDer(
      derSequence(
        derSequence(
          derOid(OID_PBES2),
          derSequence(
            derSequence(
              derOid(OID_PBKDF2),
              derSequence(
                derOctetString(salt),
                derSmallInteger(iterations),
                derSequence(derOid(OID_HMAC_SHA256), derNull()),
              ),
            ),
            derSequence(derOid(OID_AES256_CBC), derOctetString(iv)),
          ),
        ),
        derOctetString(ciphertext),
      ),
    );
  });
