/**
 * Warnings shown once, as Effect log lines: where "once" is remembered is a `FiberRef`, so each
 * client keeps its own memory (a second client with the same `http://` router warns again, to
 * its own logger) and code outside any client shares one per process.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as FiberRef from "effect/FiberRef";

/**
 * The warnings already given, by key: the client installs its own set around its effects (see
 * `client/observability.ts`); outside a client, the process-wide one.
 */
export const warnedOnce: FiberRef.FiberRef<Set<string>> = FiberRef.unsafeMake<Set<string>>(
  new Set(),
  // A forked fiber (the rotation fiber, a shared key fetch) remembers in the same set.
  { fork: (set) => set, join: (parent) => parent },
);

/**
 * Logs `message` at warning level, unless a warning with the same `key` was already logged
 * where the current fiber remembers them.
 *
 * @param key What the warning is about (e.g. `"plain-http:http://127.0.0.1:8000"`).
 * @param message The line; it must hold no secret.
 * @returns An effect that logs at most once per key.
 */
export const warnOnce = (key: string, message: string): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(warnedOnce), (warned) => {
    if (warned.has(key)) return Effect.void;
    warned.add(key);
    return Effect.logWarning(message);
  });
