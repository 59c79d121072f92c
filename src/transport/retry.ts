/**
 * The retry policy as an Effect `Schedule`: exponential backoff with jitter on 429, 500, 502,
 * 503, 504 and connection failures, honouring `Retry-After` up to a cap.
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Schedule from "effect/Schedule";
import { APIError } from "../errors.ts";
import { isRetryable } from "./status_errors.ts";

/** Settings of {@linkcode retrySchedule}. */
export interface RetryOptions {
  /** Retries after the first attempt (0 = none). */
  readonly maxRetries: number;
  /** First backoff delay (default 1 s); each retry doubles it. */
  readonly initialDelay?: Duration.DurationInput;
  /** Largest backoff delay (default 8 s). */
  readonly maxDelay?: Duration.DurationInput;
  /** A `Retry-After` longer than this is ignored in favour of the backoff (default 60 s). */
  readonly retryAfterCap?: Duration.DurationInput;
}

/**
 * The retry schedule. Its input is the failure of the last attempt: it goes on while the
 * failure is retryable and retries remain, waiting `Retry-After` when the router sent one (and
 * it is under the cap), else 1 s, 2 s, 4 s, … (±20 % jitter) up to the maximum delay.
 *
 * @param options Number of retries, delays and the `Retry-After` cap.
 * @returns A schedule for `Effect.retry`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { retrySchedule } from "@nomyo/client";
 * const withRetries = <A, E, R>(attempt: Effect.Effect<A, E, R>) =>
 *   Effect.retry(attempt, retrySchedule({ maxRetries: 2 }));
 * ```
 */
export const retrySchedule = (
  options: RetryOptions,
): Schedule.Schedule<unknown, unknown> => {
  const maxDelay = Duration.decode(options.maxDelay ?? "8 seconds");
  const cap = Duration.decode(options.retryAfterCap ?? "60 seconds");
  const backoff = Schedule.exponential(options.initialDelay ?? "1 second", 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay)),
  );
  return Schedule.identity<unknown>().pipe(
    Schedule.zipLeft(backoff),
    Schedule.modifyDelay((error, delay) => {
      const seconds = error instanceof APIError ? error.retryAfter : undefined;
      if (seconds === undefined) return delay;
      const asked = Duration.seconds(seconds);
      return Duration.lessThanOrEqualTo(asked, cap) ? asked : delay;
    }),
    Schedule.zipLeft(Schedule.recurs(Math.max(0, Math.floor(options.maxRetries)))),
    Schedule.whileInput(isRetryable),
  );
};
