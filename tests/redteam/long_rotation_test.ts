/**
 * Background sleeps longer than one JavaScript timer can wait (2^31 - 1 ms, about 24.8 days):
 * Effect's own clock treats them as infinite, so `keyRotationInterval: 30 days` meant that keys
 * silently never rotated. The idle clock splits them into timers of at most 2^31 - 1 ms.
 */
import assert from "node:assert/strict";
import { Duration, Effect, Exit, Fiber } from "effect";
import { withIdleSleeps } from "../../src/keys/idle_clock.ts";

const MAX_TIMER = 2 ** 31 - 1;

Deno.test("withIdleSleeps() sleeps 30 days as timers of at most 2^31 - 1 ms, then wakes", async () => {
  const original = globalThis.setTimeout;
  const asked: number[] = [];
  const pending: Array<() => void> = [];
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    if (typeof ms === "number" && ms > 1_000) {
      asked.push(ms);
      pending.push(fn);
      return original(() => undefined, 0);
    }
    return original(fn, ms);
  }) as typeof setTimeout;
  try {
    const thirtyDays = Duration.days(30);
    const fiber = Effect.runFork(withIdleSleeps(Effect.sleep(thirtyDays)));
    const fire = async () => {
      for (let i = 0; i < 50 && pending.length === 0; i++) {
        await new Promise((r) => original(r, 5));
      }
      pending.shift()?.();
    };
    await fire();
    await fire();
    const exit = await Promise.race([
      Effect.runPromise(Fiber.await(fiber)),
      new Promise<undefined>((r) => original(() => r(undefined), 2_000)),
    ]);
    assert.ok(exit !== undefined && Exit.isSuccess(exit), "the sleep ended after its timers");
    assert.deepEqual(asked, [MAX_TIMER, Duration.toMillis(thirtyDays) - MAX_TIMER]);
  } finally {
    globalThis.setTimeout = original;
  }
});
