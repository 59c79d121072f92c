/**
 * Secure memory, as the peers name it: what JavaScript can and cannot do to protect secrets in
 * memory, the process-wide switch, and a Promise-friendly scoped buffer (the equivalent of
 * nomyo-js `SecureByteContext`) built on the same {@linkcode SecureBytes} service the core uses.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import { makeSecureBytes, SecureBytes, secureMemorySwitch } from "./secure_bytes.ts";

/** What this runtime offers to protect secrets in memory. */
export interface MemoryProtectionInfo {
  /** `"zeroing"` when buffers are wiped after use, `"none"` when that was turned off. */
  readonly method: "zeroing" | "none";
  /** Always `false`: JavaScript cannot lock pages in RAM (no `mlock`), so they may be swapped. */
  readonly canLock: false;
  /** Always `false`: the runtime gives no OS-level guarantee (garbage collector copies, swap). */
  readonly isPlatformSecure: false;
  /** What is and is not protected, in words. */
  readonly details: string;
}

/**
 * Says, honestly, what memory protection is in effect.
 *
 * @returns The method, whether pages can be locked (never), and details.
 *
 * @example
 * ```ts
 * import { getMemoryProtectionInfo } from "@nomyo/client";
 * console.log(getMemoryProtectionInfo().method); // "zeroing"
 * ```
 */
export const getMemoryProtectionInfo = (): MemoryProtectionInfo => ({
  method: secureMemorySwitch.enabled ? "zeroing" : "none",
  canLock: false,
  isPlatformSecure: false,
  details: secureMemorySwitch.enabled
    ? "Plaintext buffers are zeroed when their scope closes; request AES keys never exist as " +
      "bytes in JavaScript (WebCrypto generateKey/wrapKey); a response AES key exists as 32 " +
      "bytes only between RSA-OAEP decryption and its import, then is zeroed; private keys " +
      "are non-extractable CryptoKeys unless persisted. JavaScript cannot lock memory pages " +
      "or wipe strings, parsed JSON or copies made by the garbage collector or by WebCrypto " +
      "internally."
    : "Zeroing is disabled (disableSecureMemory or secureMemory: false): plaintext buffers are " +
      "left to the garbage collector.",
});

/** Turns zeroing on for clients that use the process-wide setting (the default). */
export const enableSecureMemory = (): void => {
  secureMemorySwitch.enabled = true;
};

/** Turns zeroing off for clients that use the process-wide setting. Not recommended. */
export const disableSecureMemory = (): void => {
  secureMemorySwitch.enabled = false;
};

/**
 * Lends `bytes` to `use` and zeroes them afterwards, whether `use` resolved or threw — the
 * Promise form of the scoped {@linkcode SecureBytes} service.
 *
 * @param bytes A buffer holding a secret; it is all zeros once the returned Promise settles.
 * @param use Work with the secret.
 * @returns What `use` returned.
 *
 * @example
 * ```ts
 * import { withSecureBytes } from "@nomyo/client";
 * const secret = new TextEncoder().encode("patient record");
 * const length = await withSecureBytes(secret, (b) => b.length);
 * // secret is now all zeros
 * ```
 */
export const withSecureBytes = async <B extends Uint8Array, A>(
  bytes: B,
  use: (bytes: B) => A | Promise<A>,
): Promise<A> => {
  const program = Effect.scoped(Effect.gen(function* () {
    const lent = yield* (yield* SecureBytes).lend(bytes);
    return yield* Effect.tryPromise({ try: async () => await use(lent), catch: (e) => e });
  }));
  const exit = await Effect.runPromiseExit(
    Effect.provideService(program, SecureBytes, makeSecureBytes()),
  );
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = Cause.failureOption(exit.cause);
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause);
};
