/**
 * The client's key pair as files: `private_key.pem` (mode `0600`) and `public_key.pem` (mode
 * `0644`) in a key directory (mode `0700` when created).
 *
 * Saving writes each file to a new temporary file in the same directory (created
 * `O_EXCL | O_NOFOLLOW` with its final mode, then `fchmod`ed, whatever the umask), `fsync`s it and
 * renames it over the target: the private key is never readable by others, a symbolic link at
 * the target is replaced (never followed), and a crash leaves the old file or the new one. The
 * private key is renamed first; a crash before the public key follows is repaired by the next
 * {@linkcode loadOrCreateKeyPair}, which also removes temporary files a crashed save left. The
 * private PEM bytes are zeroed after writing.
 *
 * Loading refuses a private key file that is a symbolic link, or (except on Windows) that group
 * or others can access (`chmod 600` fixes it, as for SSH keys); the bytes read are zeroed after
 * parsing. In browsers there is no file system: every function fails with `"Unavailable"`.
 *
 * The files are reached through the `KeyFileSystem` in context, else this runtime's `node:fs`
 * (`file_system.ts`, `node_file_system.ts`); the atomic writes are `atomic_write.ts`, the
 * checked reads `file_access.ts`.
 *
 * @example Create the key pair on first run, load it afterwards
 * ```ts
 * import { Effect } from "effect";
 * import { loadOrCreateKeyPair, layerSecureBytes } from "@nomyo/client";
 *
 * const dir = await Deno.makeTempDir();
 * const run = () =>
 *   Effect.runPromise(
 *     loadOrCreateKeyPair(`${dir}/client_keys`, {
 *       password: "correct horse battery staple",
 *       bits: 2048,
 *     }).pipe(Effect.provide(layerSecureBytes)),
 *   );
 * const first = await run(); // generated and saved
 * const second = await run(); // loaded
 * console.assert(first.publicKey.fingerprint === second.publicKey.fingerprint);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";
import { SecureBytes } from "../crypto/secure_bytes.ts";
import { removeStaleTemps, writeFilesAtomically } from "./atomic_write.ts";
import { makeKeyDir, pathExists, readKeyFile, statPath } from "./file_access.ts";
import type { FileStats } from "./file_system.ts";
import { currentKeyFileSystem } from "./node_file_system.ts";
import { warnPlainKeyOnce } from "./plain_key_warning.ts";
import { MAX_PEM_LENGTH } from "./pem.ts";
import { checkEncryptOptions, DEFAULT_PBKDF2_ITERATIONS } from "./pkcs8_encrypted.ts";
import type { RsaKeyPair, RsaKeySize } from "./rsa_key.ts";
import { generateRsaKeyPair } from "./rsa_key_generation.ts";
import {
  exportPrivateKeyPem,
  importPrivateKeyPem,
  importPublicKeyPem,
} from "./rsa_key_import_export.ts";

/** The private key's file name in a key directory. */
export const PRIVATE_KEY_FILE = "private_key.pem";
/** The public key's file name in a key directory. */
export const PUBLIC_KEY_FILE = "public_key.pem";

/** Where {@linkcode saveKeyPair} wrote the key pair. */
export interface SavedKeyFiles {
  /** `<dir>/private_key.pem`, mode `0600`. */
  readonly privateKeyPath: string;
  /** `<dir>/public_key.pem`, mode `0644`. */
  readonly publicKeyPath: string;
}

const utf8 = new TextEncoder();

/**
 * Loads a key pair from a private key file and, when given, checks the public key file belongs
 * to it.
 *
 * @param privateKeyPath A PEM private key: PKCS#8, PKCS#1 or encrypted PKCS#8 (PBES2). It must be
 * a regular file, not a symbolic link, and (except on Windows) not accessible to group or others.
 * @param options `publicKeyPath`: a PEM public key file that must hold the private key's public
 * key. `password`: for an encrypted private key. `extractable` (default `false`): allow
 * exporting the private key later.
 * @returns The key pair. Fails with `KeyError`: `"InsecurePermissions"` (a mode with group/others
 * bits, the message says `chmod 600 <path>`, or a symbolic link), `"Io"` (missing, unreadable,
 * not a regular file; the message names the path), `"Mismatch"` (the public key file holds
 * another key), `"Unavailable"` (no file system), or any failure of `importPrivateKeyPem`
 * (`"PasswordRequired"`, `"DecryptionFailed"` for a wrong password or a corrupted file alike,
 * `"Malformed"`, …). No message contains file contents or the password.
 *
 * @example Load `private_key.pem` and check `public_key.pem`
 * ```ts
 * import { Effect } from "effect";
 * import { generateRsaKeyPair, loadKeyPair, saveKeyPair, layerSecureBytes } from "@nomyo/client";
 *
 * const dir = await Deno.makeTempDir();
 * const password = "correct horse battery staple";
 * const program = Effect.gen(function* () {
 *   const pair = yield* generateRsaKeyPair({ bits: 2048, extractable: true });
 *   const files = yield* saveKeyPair(pair, dir, { password });
 *   const loaded = yield* loadKeyPair(files.privateKeyPath, {
 *     publicKeyPath: files.publicKeyPath,
 *     password,
 *   });
 *   return loaded.publicKey.fingerprint === pair.publicKey.fingerprint;
 * });
 * const same = await Effect.runPromise(program.pipe(Effect.provide(layerSecureBytes)));
 * console.assert(same);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export const loadKeyPair = (
  privateKeyPath: string,
  options?: {
    readonly publicKeyPath?: string | undefined;
    readonly password?: string | undefined;
    readonly extractable?: boolean;
  },
): Effect.Effect<RsaKeyPair, KeyError, SecureBytes> =>
  Effect.gen(function* () {
    const fs = yield* currentKeyFileSystem;
    const secure = yield* SecureBytes;
    const pair = yield* Effect.scoped(
      Effect.flatMap(
        // Registered with the scope as soon as read: zeroed after parsing, on any outcome.
        secure.acquire(
          readKeyFile(fs, privateKeyPath, {
            private: true,
            maxBytes: MAX_PEM_LENGTH,
            action: "load private key",
          }),
        ),
        (pem) =>
          importPrivateKeyPem(pem, {
            password: options?.password,
            extractable: options?.extractable ?? false,
          }),
      ),
    );
    const publicKeyPath = options?.publicKeyPath;
    if (publicKeyPath !== undefined) {
      const bytes = yield* readKeyFile(fs, publicKeyPath, {
        private: false,
        maxBytes: MAX_PEM_LENGTH,
        action: "load public key",
      });
      const publicKey = yield* importPublicKeyPem(bytes);
      if (publicKey.fingerprint !== pair.publicKey.fingerprint) {
        return yield* Effect.fail(
          new KeyError({
            reason: "Mismatch",
            message:
              `Cannot load key pair: ${publicKeyPath} does not hold the public key of ${privateKeyPath}`,
          }),
        );
      }
    }
    return pair;
  });

/**
 * Saves a key pair as `private_key.pem` (mode `0600`) and `public_key.pem` (mode `0644`) in
 * `dir`, created with mode `0700` (and its parents) when missing; an existing directory keeps
 * its mode. Existing files are replaced atomically (a symbolic link is replaced, not followed).
 *
 * With a password the private key is encrypted PKCS#8 (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC);
 * without one it is plain PKCS#8, and the first such save of the process prints a warning.
 * `openssl pkey` reads both.
 *
 * @param pair The pair; its private key must be extractable (`generateRsaKeyPair({ extractable:
 * true })`).
 * @param dir The key directory.
 * @param options `password`: at least 8 characters. `iterations`: PBKDF2 iterations (default
 * 600,000).
 * @returns The two paths. Fails with `KeyError` before anything is written when the pair or the
 * password is unfit (`"NotExtractable"`, `"Mismatch"`, `"PasswordTooShort"`,
 * `"UnsupportedEncryption"` for an iteration count out of range); `"Io"` naming the path when a
 * file cannot be written (then no file was replaced, except when a rename fails between the two
 * files); `"Unavailable"` without a file system.
 *
 * @example Save an encrypted key pair
 * ```ts
 * import { Effect } from "effect";
 * import { generateRsaKeyPair, saveKeyPair, layerSecureBytes } from "@nomyo/client";
 *
 * const dir = await Deno.makeTempDir();
 * const files = await Effect.runPromise(
 *   Effect.flatMap(
 *     generateRsaKeyPair({ bits: 2048, extractable: true }),
 *     (pair) => saveKeyPair(pair, `${dir}/keys`, { password: "correct horse battery staple" }),
 *   ).pipe(Effect.provide(layerSecureBytes)),
 * );
 * console.assert((await Deno.stat(files.privateKeyPath)).mode! % 0o1000 === 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export const saveKeyPair = (
  pair: RsaKeyPair,
  dir: string,
  options?: { readonly password?: string | undefined; readonly iterations?: number },
): Effect.Effect<SavedKeyFiles, KeyError, SecureBytes> =>
  Effect.scoped(
    Effect.gen(function* () {
      const action = "save key pair";
      const fs = yield* currentKeyFileSystem;
      const password = options?.password;
      // Checks the pair and the password before anything touches the disk; the PEM bytes are
      // lent to this scope and zeroed when it closes, after the write.
      const pem = yield* exportPrivateKeyPem(
        pair,
        options?.iterations === undefined
          ? { password }
          : { password, iterations: options.iterations },
      );
      const privateKeyPath = fs.join(dir, PRIVATE_KEY_FILE);
      const publicKeyPath = fs.join(dir, PUBLIC_KEY_FILE);
      yield* makeKeyDir(fs, dir, action);
      yield* removeStaleTemps(fs, dir);
      // The private key is renamed into place first: it is the commit point. A crash before
      // the public key follows leaves a new private key with the old public key, which
      // loadOrCreateKeyPair repairs (the public key is derived from the private one).
      yield* writeFilesAtomically(fs, [
        { path: privateKeyPath, bytes: pem, mode: 0o600 },
        { path: publicKeyPath, bytes: utf8.encode(pair.publicKey.pem), mode: 0o644 },
      ], action);
      if (password === undefined) yield* warnPlainKeyOnce(privateKeyPath);
      return { privateKeyPath, publicKeyPath };
    }),
  );

const sameFile = (a: FileStats, b: FileStats): boolean =>
  a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;

/**
 * Makes `publicKeyPath` hold the public key of `pair` (loaded from `privateKeyPath`) when it is
 * missing, unreadable or holds another key, as a crash between the two renames of a save
 * leaves it. Skipped when the private key file changed since it was read (`before`): another
 * process is saving, and writes its own public key.
 */
const repairPublicKey = (
  pair: RsaKeyPair,
  privateKeyPath: string,
  publicKeyPath: string,
  before: FileStats,
): Effect.Effect<void, KeyError> =>
  Effect.gen(function* () {
    const action = "repair public key";
    const fs = yield* currentKeyFileSystem;
    const existed = yield* pathExists(fs, publicKeyPath, action);
    if (existed) {
      const current = yield* readKeyFile(fs, publicKeyPath, {
        private: false,
        maxBytes: MAX_PEM_LENGTH,
        action,
      }).pipe(Effect.flatMap(importPublicKeyPem), Effect.option);
      if (current._tag === "Some" && current.value.fingerprint === pair.publicKey.fingerprint) {
        return;
      }
    }
    const now = yield* statPath(fs, privateKeyPath, action);
    if (!sameFile(before, now)) return;
    yield* writeFilesAtomically(
      fs,
      [{ path: publicKeyPath, bytes: utf8.encode(pair.publicKey.pem), mode: 0o644 }],
      action,
    ).pipe(
      // A missing public key file was never required (a read-only directory still loads).
      Effect.catchAll((e) => existed ? Effect.fail(e) : Effect.void),
    );
  });

/**
 * The `keyDir` behaviour: loads `dir/private_key.pem` if it exists; otherwise generates a pair,
 * saves it with {@linkcode saveKeyPair} and loads it back from the files, so both runs return
 * the same kind of pair (not extractable) and a pair that cannot be loaded (a file system
 * without modes) fails on the first run.
 *
 * Crash-safe: the private key is the truth. A `dir/public_key.pem` that is missing, unreadable
 * or holds another key (a save killed between its two renames leaves that) is rewritten from
 * the private key, atomically; and temporary files a killed save left in `dir` are removed
 * (see `STALE_TEMP_MILLIS`). {@linkcode loadKeyPair} with a `publicKeyPath` still refuses a
 * mismatch: there the caller named both files.
 *
 * Anything at `dir/private_key.pem` (even a symbolic link, or a file with a bad mode) counts as
 * existing: it is loaded, or refused, never overwritten.
 *
 * @param dir The key directory.
 * @param options `password`: of the existing file, or to encrypt a new one (at least 8
 * characters, checked before generating). `bits`: 2048 or 4096 (default 4096) for a new pair.
 * `iterations`: PBKDF2 iterations for a new encrypted file (default 600,000).
 * @returns The key pair; failures as for {@linkcode loadKeyPair} and {@linkcode saveKeyPair}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadOrCreateKeyPair, layerSecureBytes } from "@nomyo/client";
 *
 * const dir = await Deno.makeTempDir();
 * const pair = await Effect.runPromise(
 *   loadOrCreateKeyPair(dir, { password: "correct horse battery staple", bits: 2048 }).pipe(
 *     Effect.provide(layerSecureBytes),
 *   ),
 * );
 * console.assert(pair.publicKey.bits === 2048);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export const loadOrCreateKeyPair = (
  dir: string,
  options?: {
    readonly password?: string | undefined;
    readonly bits?: RsaKeySize;
    readonly iterations?: number;
  },
): Effect.Effect<RsaKeyPair, KeyError, SecureBytes> =>
  Effect.gen(function* () {
    const action = "load or create key pair";
    const fs = yield* currentKeyFileSystem;
    const password = options?.password;
    const privateKeyPath = fs.join(dir, PRIVATE_KEY_FILE);
    const publicKeyPath = fs.join(dir, PUBLIC_KEY_FILE);
    yield* removeStaleTemps(fs, dir);
    if (yield* pathExists(fs, privateKeyPath, action)) {
      const before = yield* statPath(fs, privateKeyPath, action);
      const pair = yield* loadKeyPair(privateKeyPath, { password });
      yield* repairPublicKey(pair, privateKeyPath, publicKeyPath, before);
      return pair;
    }
    const iterations = options?.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    if (password !== undefined) yield* checkEncryptOptions(password, iterations);
    const pair = yield* generateRsaKeyPair({ bits: options?.bits ?? 4096, extractable: true });
    const saved = yield* saveKeyPair(pair, dir, { password, iterations });
    return yield* loadKeyPair(saved.privateKeyPath, {
      publicKeyPath: saved.publicKeyPath,
      password,
    });
  });
