/**
 * Secure memory, as the peers name it: what JavaScript can and cannot do to protect secrets in
 * memory, the process-wide switch, and Promise-friendly scoped buffers (`withSecureBytes`, and
 * nomyo-js's `SecureByteContext` under its own name) built on the same {@linkcode SecureBytes}
 * service the core uses.
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
  /**
   * nomyo-js's values: `"zero-only"` when buffers are wiped after use (no page locking),
   * `"none"` when that was turned off. `"mlock"` never occurs: JavaScript cannot lock pages.
   */
  readonly method: "zero-only" | "none";
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
 * console.log(getMemoryProtectionInfo().method); // "zero-only"
 * ```
 */
export const getMemoryProtectionInfo = (): MemoryProtectionInfo => ({
  method: secureMemorySwitch.enabled ? "zero-only" : "none",
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

/**
 * nomyo-js's `SecureByteContext`: a buffer holding a secret, lent to one function and zeroed in
 * `finally`, whether the function resolved or threw. The same mechanism as
 * {@linkcode withSecureBytes}, under the peer's name and shape.
 *
 * @example Its documented use: a secret that lives only as long as the work on it
 * ```ts
 * import { SecureByteContext } from "@nomyo/client";
 * const secret = new TextEncoder().encode("patient record");
 * const context = new SecureByteContext(secret.buffer);
 * const length = await context.use(async (data) => data.byteLength);
 * console.log(length, new Uint8Array(secret.buffer).every((b) => b === 0)); // 14 true
 * ```
 */
export class SecureByteContext {
  readonly #bytes: Uint8Array;
  readonly #useSecure: boolean;
  #used = false;

  /**
   * Wraps a secret buffer; nothing is copied.
   *
   * @param data The secret: an `ArrayBuffer` (as nomyo-js takes), or a `Uint8Array` over the
   *   whole of one.
   * @param useSecure Zero it after use (default `true`, as in nomyo-js).
   * @throws {TypeError} When `data` is anything else (a view of part of a buffer would lend
   *   bytes that are not zeroed).
   */
  constructor(data: ArrayBuffer | Uint8Array, useSecure: boolean = true) {
    if (data instanceof ArrayBuffer) this.#bytes = new Uint8Array(data);
    else if (
      data instanceof Uint8Array && data.buffer instanceof ArrayBuffer && data.byteOffset === 0 &&
      data.byteLength === data.buffer.byteLength
    ) {
      this.#bytes = data; // the whole buffer: what `use` lends is exactly what is zeroed
    } else {
      throw new TypeError(
        "SecureByteContext takes an ArrayBuffer, or a Uint8Array over a whole ArrayBuffer",
      );
    }
    this.#useSecure = useSecure !== false;
  }

  /**
   * Runs `fn` on the secret, then zeroes it (unless `useSecure` was `false`). A context is used
   * once: its buffer is zeros afterwards.
   *
   * @param fn Work with the secret: it gets the `ArrayBuffer` (nomyo-js's shape).
   * @returns What `fn` returned.
   * @throws {TypeError} When the context was already used.
   */
  use<T>(fn: (data: ArrayBuffer) => T | Promise<T>): Promise<T> {
    if (this.#used) {
      return Promise.reject(
        new TypeError("SecureByteContext.use(): this context was already used"),
      );
    }
    this.#used = true;
    const bytes = this.#bytes;
    const data = bytes.buffer as ArrayBuffer;
    if (!this.#useSecure) return (async () => await fn(data))();
    return withSecureBytes(bytes, () => fn(data));
  }
}
