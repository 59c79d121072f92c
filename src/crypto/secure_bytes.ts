/**
 * Scoped byte buffers: a buffer that held a secret (an AES key, a plaintext) is lent to a
 * {@linkcode Scope} and zeroed when that scope closes, whether the work inside succeeded,
 * failed or was interrupted. Zeroing is guaranteed by `Effect.acquireRelease`, not by a call
 * somebody has to remember.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";

/**
 * Lends secret bytes to a scope and wipes them when it closes.
 *
 * @example Zero a buffer when the scope closes
 * ```ts
 * import { Effect } from "effect";
 * import { layerSecureBytes, SecureBytes } from "@nomyo/client";
 * const bytes = new Uint8Array([1, 2, 3]);
 * await Effect.runPromise(
 *   Effect.scoped(Effect.flatMap(SecureBytes, (s) => s.lend(bytes))).pipe(
 *     Effect.provide(layerSecureBytes),
 *   ),
 * );
 * // bytes is now [0, 0, 0]
 * ```
 */
export interface SecureBytes {
  /**
   * Runs `make` without interruption and registers the bytes it gives with the current scope,
   * so they are zeroed when the scope closes: no interruption can fall between making a
   * secret buffer and registering it.
   */
  readonly acquire: <B extends Uint8Array, E, R>(
    make: Effect.Effect<B, E, R>,
  ) => Effect.Effect<B, E, R | Scope.Scope>;
  /** Registers `bytes` with the current scope; they are zeroed when the scope closes. */
  readonly lend: <B extends Uint8Array>(bytes: B) => Effect.Effect<B, never, Scope.Scope>;
  /**
   * Runs `make` without interruption, gives its bytes to `use`, and zeroes them when `use`
   * ends, whatever the outcome: {@linkcode SecureBytes.acquire} without a scope of its own,
   * for the hot path of every request.
   */
  readonly use: <B extends Uint8Array, E, R, A, E2, R2>(
    make: Effect.Effect<B, E, R>,
    use: (bytes: B) => Effect.Effect<A, E2, R2>,
  ) => Effect.Effect<A, E | E2, R | R2>;
}

/** Tag for {@linkcode SecureBytes}. */
export const SecureBytes: Context.Tag<SecureBytes, SecureBytes> = Context.GenericTag<SecureBytes>(
  "@nomyo/client/SecureBytes",
);

/** Overwrites `bytes` with zeros. */
export const wipe = (bytes: Uint8Array): void => {
  bytes.fill(0);
};

/** Whether zeroing is on. */
export interface SecureMemorySwitch {
  /** Zero buffers on release while `true`. */
  enabled: boolean;
}

/** The process-wide switch of `enableSecureMemory()` / `disableSecureMemory()`. */
export const secureMemorySwitch: SecureMemorySwitch = { enabled: true };

/**
 * The real service: zero on scope close while `state.enabled` (the default). Turning it off
 * exists for parity with the peers' `secureMemory: false`; it is never recommended.
 *
 * @param state The switch, read at each release.
 * @returns The service.
 */
export const makeSecureBytes = (state: SecureMemorySwitch = secureMemorySwitch): SecureBytes => {
  const release = (b: Uint8Array): Effect.Effect<void> =>
    Effect.sync(() => {
      if (state.enabled) wipe(b);
    });
  const acquire = <B extends Uint8Array, E, R>(
    make: Effect.Effect<B, E, R>,
  ): Effect.Effect<B, E, R | Scope.Scope> => Effect.acquireRelease(make, release);
  const use = <B extends Uint8Array, E, R, A, E2, R2>(
    make: Effect.Effect<B, E, R>,
    f: (bytes: B) => Effect.Effect<A, E2, R2>,
  ): Effect.Effect<A, E | E2, R | R2> => Effect.acquireUseRelease(make, f, release);
  return { acquire, lend: (bytes) => acquire(Effect.succeed(bytes)), use };
};

/** Layer of the real {@linkcode SecureBytes} service. */
export const layerSecureBytes: Layer.Layer<SecureBytes> = Layer.sync(
  SecureBytes,
  () => makeSecureBytes(),
);
