/**
 * Sleeps that do not keep the process alive, for background work nobody waits for (the key
 * rotation timer): a script that forgets `dispose()` still exits once its own work is done, as
 * with openai-node. The timer is unref'd: `timer.unref()` on Node and Bun, `Deno.unrefTimer`
 * on Deno; browsers have no such notion and need none.
 *
 * Only the default clock is replaced: under a `TestClock` (or any clock a caller provided),
 * sleeps stay that clock's, so tests still drive the rotation.
 *
 * @module
 */
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as DefaultServices from "effect/DefaultServices";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";

/** Effect's own clock, to tell it from a `TestClock` or a caller's clock. */
const defaultClock: Clock.Clock = Context.get(DefaultServices.liveServices, Clock.Clock);

/** Timers longer than this never fire in JavaScript; Effect's clock treats them as infinite. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/** Lets a timer handle not keep the process alive, in each runtime's way. */
const unref = (handle: unknown): void => {
  if (typeof handle === "object" && handle !== null && "unref" in handle) {
    (handle as { unref: () => void }).unref(); // Node, Bun
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof handle === "number") deno?.unrefTimer?.(handle);
};

/** One unref'd timer, of at most `MAX_TIMER_MILLIS`. */
const unrefTimer = (millis: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const handle = setTimeout(() => resume(Effect.void), millis);
    unref(handle);
    return Effect.sync(() => clearTimeout(handle));
  });

/**
 * Sleeps `duration`: a finite one longer than one timer can wait (a rotation every 30 days)
 * as several timers, not never (as Effect's clock does: the keys would silently never
 * rotate); an infinite one never ends.
 */
const unrefSleep = (duration: Duration.Duration): Effect.Effect<void> => {
  const millis = Duration.toMillis(duration);
  if (!Number.isFinite(millis)) return Effect.never;
  if (millis <= MAX_TIMER_MILLIS) return unrefTimer(millis);
  return Effect.zipRight(
    unrefTimer(MAX_TIMER_MILLIS),
    unrefSleep(Duration.millis(millis - MAX_TIMER_MILLIS)),
  );
};

/** `clock`, with sleeps on unref'd timers. */
const idleClock = (clock: Clock.Clock): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => clock.unsafeCurrentTimeMillis(),
  unsafeCurrentTimeNanos: () => clock.unsafeCurrentTimeNanos(),
  currentTimeMillis: clock.currentTimeMillis,
  currentTimeNanos: clock.currentTimeNanos,
  sleep: unrefSleep,
});

/**
 * Runs `effect` so that its sleeps do not keep the process alive, when the clock in use is
 * the default one; otherwise (a `TestClock`, a caller's clock) unchanged.
 *
 * @param effect Background work whose waiting must not hold the event loop.
 * @returns The same work.
 */
export const withIdleSleeps = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.clock,
    (clock) => clock === defaultClock ? Effect.withClock(effect, idleClock(clock)) : effect,
  );
