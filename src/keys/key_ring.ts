/**
 * The client's key pair over its life: made (or loaded) in the background when the ring is
 * built, rotated by a fiber owned by the ring's scope. The next pair (the spare) is generated in
 * the background {@linkcode SPARE_LEAD_MILLIS} before its rotation is due (at once when the
 * interval is shorter), never alongside the first pair: a short-lived script makes one RSA
 * generation, not two (a WebCrypto generation cannot be cancelled, and a second one would
 * compete with the first answer and hold the process after `dispose()`). No request ever waits
 * for a rotation: requests use the current pair until the new one is installed. A request takes
 * the pair it seals with and keeps it until its answer is opened, so a rotation mid-request
 * loses nothing.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Layer from "effect/Layer";
import * as Clock from "effect/Clock";
import * as Schedule from "effect/Schedule";
import * as ScheduleDecision from "effect/ScheduleDecision";
import * as ScheduleIntervals from "effect/ScheduleIntervals";
import type * as Scope from "effect/Scope";
import type { KeyError } from "../errors.ts";
import { withIdleSleeps } from "./idle_clock.ts";
import type { RsaKeyPair, RsaKeySize } from "./rsa_key.ts";
import { generateRsaKeyPair } from "./rsa_key_generation.ts";

/** A key pair as requests use it. */
export interface ClientKeyPair extends RsaKeyPair {
  /** Generation number: 0 for the first pair, then one more per rotation. */
  readonly generation: number;
}

/** The client's current key pair, and its rotation. */
export interface KeyRing {
  /** The pair new requests use (waits for the first one to be ready). */
  readonly current: Effect.Effect<ClientKeyPair, KeyError>;
  /** Rotates now: the spare pair (generated now when there is none yet) becomes current. */
  readonly rotate: Effect.Effect<ClientKeyPair, KeyError>;
  /** Makes `pair` (generated or loaded by the caller) the current pair. */
  readonly install: (pair: RsaKeyPair) => Effect.Effect<ClientKeyPair>;
}

/** Tag for {@linkcode KeyRing}. */
export const KeyRing: Context.Tag<KeyRing, KeyRing> = Context.GenericTag<KeyRing>(
  "@nomyo/client/KeyRing",
);

/** Settings of {@linkcode makeKeyRing}. */
export interface KeyRingOptions {
  /** Size of generated keys (default 4096). */
  readonly keySize?: RsaKeySize;
  /** When to rotate; `undefined` turns rotation off. */
  readonly rotation?: Schedule.Schedule<unknown, unknown> | undefined;
  /** Where the first pair comes from (e.g. a key file); default: generated. */
  readonly initial?: Effect.Effect<RsaKeyPair, KeyError> | undefined;
  /** Makes a new pair (default: generated in memory, non-extractable). */
  readonly generate?: Effect.Effect<RsaKeyPair, KeyError> | undefined;
  /**
   * Runs at each rotation before the new pair becomes current (e.g. to save it); the pair it
   * returns is the one installed (e.g. the saved pair re-imported as non-extractable). When it
   * fails, the rotation does not happen and the current pair stays.
   */
  readonly onRotate?: ((pair: RsaKeyPair) => Effect.Effect<RsaKeyPair, KeyError>) | undefined;
}

const toClientPair = (pair: RsaKeyPair, generation: number): ClientKeyPair => ({
  ...pair,
  generation,
});

/**
 * How long before a rotation is due its spare pair starts generating: RSA-4096 takes a second or
 * two, tens of seconds on a loaded machine; ten minutes leaves room for both.
 */
export const SPARE_LEAD_MILLIS = 10 * 60 * 1000;

/**
 * Builds a key ring in the current scope: the first pair starts in the background at once; with
 * rotation on, the rotation fiber is forked into the scope and stops with it. It makes each
 * spare pair {@linkcode SPARE_LEAD_MILLIS} before its rotation (after the first pair is ready,
 * never alongside it), so a ring that lives shorter than the interval makes one pair.
 *
 * @param options Key size, rotation schedule and key sources.
 * @returns The ring, within a scope.
 */
export const makeKeyRing = (
  options: KeyRingOptions = {},
): Effect.Effect<KeyRing, never, Scope.Scope> =>
  Effect.gen(function* () {
    const generate = options.generate ??
      generateRsaKeyPair({ bits: options.keySize ?? 4096, extractable: false });
    const first = yield* Effect.forkScoped(
      Effect.map(options.initial ?? generate, (pair) => toClientPair(pair, 0)),
    );
    // Joined, not cached: a caller interrupted while it waits (an aborted first request) must
    // not leave its interruption memoized as every later caller's key pair.
    let current: Effect.Effect<ClientKeyPair, KeyError> = Fiber.join(first);
    // The spare, once the rotation fiber has started it; a rotation without one makes one.
    let next: Fiber.RuntimeFiber<RsaKeyPair, KeyError> | undefined;
    let generation = 0;
    const scope = yield* Effect.scope;
    const startSpare = Effect.gen(function* () {
      next ??= yield* Effect.forkIn(generate, scope);
    });

    const rotate: Effect.Effect<ClientKeyPair, KeyError> = Effect.uninterruptible(
      Effect.gen(function* () {
        const ready = next ?? (yield* Effect.forkIn(generate, scope));
        // Used once, whatever happens below: a failed rotation's next try makes a fresh spare.
        next = undefined;
        const fresh = yield* Fiber.join(ready);
        const installed = options.onRotate === undefined ? fresh : yield* options.onRotate(fresh);
        const pair = toClientPair(installed, ++generation);
        current = Effect.succeed(pair);
        yield* Effect.annotateCurrentSpan("nomyo.key.generation", pair.generation);
        return pair;
      }),
    ).pipe(Effect.withSpan("nomyo.key.rotate"));

    if (options.rotation !== undefined) {
      // Steps the schedule by hand to know when each rotation is due: the spare starts
      // SPARE_LEAD_MILLIS before it (Schedule.driver only sleeps). Waits first, then rotates at
      // each step. Its waiting does not keep the process alive: an idle client lets a script exit.
      const schedule = options.rotation;
      const sleepUntil = (at: number) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => at > now ? Effect.sleep(at - now) : Effect.void,
        );
      yield* Effect.forkScoped(withIdleSleeps(Effect.gen(function* () {
        let state = schedule.initial;
        while (true) {
          const now = yield* Clock.currentTimeMillis;
          const [nextState, , decision] = yield* schedule.step(now, undefined, state);
          state = nextState;
          if (ScheduleDecision.isDone(decision)) return;
          const due = ScheduleIntervals.start(decision.intervals);
          yield* sleepUntil(due - SPARE_LEAD_MILLIS);
          // Never alongside the first pair: the first answer does not compete with the spare.
          yield* Fiber.await(first);
          yield* startSpare;
          yield* sleepUntil(due);
          // A failed rotation keeps the current pair; the next step tries again.
          yield* Effect.ignore(rotate);
        }
      })));
    }
    const install = (pair: RsaKeyPair): Effect.Effect<ClientKeyPair> =>
      Effect.sync(() => {
        const installed = toClientPair(pair, ++generation);
        current = Effect.succeed(installed);
        return installed;
      });

    return { current: Effect.suspend(() => current), rotate, install };
  });

/**
 * A rotation schedule: every `interval` (no rotation when it is 0).
 *
 * @param intervalMillis Milliseconds between rotations; 0 turns rotation off.
 * @returns The schedule, or `undefined` for none.
 */
export const rotationEvery = (
  intervalMillis: number,
): Schedule.Schedule<unknown, unknown> | undefined =>
  intervalMillis > 0 ? Schedule.spaced(intervalMillis) : undefined;

/**
 * Layer of a {@linkcode KeyRing}; its rotation fiber lives as long as the layer.
 *
 * @param options Key size, rotation schedule and key sources.
 * @returns The layer.
 */
export const layerKeyRing = (options: KeyRingOptions = {}): Layer.Layer<KeyRing> =>
  Layer.scoped(KeyRing, makeKeyRing(options));
