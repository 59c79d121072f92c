/**
 * A {@linkcode SecureBytes} that records every buffer lent to it, so a test can check that each
 * one is all zeros after its scope closed.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import { SecureBytes, wipe } from "../crypto/secure_bytes.ts";

/** The recording service and what it saw. */
export interface RecordingSecureBytes {
  /** Every buffer lent so far, in order. */
  readonly lent: ReadonlyArray<Uint8Array>;
  /** Every buffer that was zeroed when its scope closed, in order. */
  readonly wiped: ReadonlyArray<Uint8Array>;
  /** Copies of each buffer's content as it was lent (to tell what it held). */
  readonly snapshots: ReadonlyArray<Uint8Array>;
  /** A layer providing the recording service. */
  readonly layer: Layer.Layer<SecureBytes>;
}

/**
 * Makes a recording {@linkcode SecureBytes}: it zeroes exactly like the real service and keeps
 * a reference to every buffer, so tests can prove the zeroing. For tests only: the snapshots
 * it keeps are copies of secrets.
 *
 * @returns The recorder and its layer.
 */
export const makeRecordingSecureBytes = (): RecordingSecureBytes => {
  const lent: Uint8Array[] = [];
  const wiped: Uint8Array[] = [];
  const snapshots: Uint8Array[] = [];
  const record = <B extends Uint8Array, E, R>(
    make: Effect.Effect<B, E, R>,
  ): Effect.Effect<B, E, R> =>
    Effect.tap(make, (b) => {
      lent.push(b);
      snapshots.push(b.slice());
    });
  const release = (b: Uint8Array): Effect.Effect<void> =>
    Effect.sync(() => {
      wipe(b);
      wiped.push(b);
    });
  const acquire = <B extends Uint8Array, E, R>(
    make: Effect.Effect<B, E, R>,
  ): Effect.Effect<B, E, R | Scope.Scope> => Effect.acquireRelease(record(make), release);
  const service: SecureBytes = {
    acquire,
    lend: (bytes) => acquire(Effect.succeed(bytes)),
    use: (make, use) => Effect.acquireUseRelease(record(make), use, release),
  };
  return { lent, wiped, snapshots, layer: Layer.succeed(SecureBytes, service) };
};
