/**
 * KeyRing: background generation, rotation as a scoped fiber on the TestClock, spare pairs made
 * shortly before their rotation (never alongside the first), failures that keep the current pair, and the rotation fiber's end with its scope.
 */
import assert from "node:assert/strict";
import { Effect, Exit, Fiber, Scope, TestClock, TestContext } from "effect";
import { KeyError } from "../../src/errors.ts";
import { makeKeyRing, rotationEvery, SPARE_LEAD_MILLIS } from "../../src/keys/key_ring.ts";
import type { RsaKeyPair } from "../../src/keys/rsa_key.ts";
import { generateRsaKeyPair } from "../../src/keys/rsa_key_generation.ts";

// A few real 2048-bit pairs, handed out in turn by a counting generator (fast and observable).
const pool: RsaKeyPair[] = await Promise.all(
  Array.from({ length: 3 }, () => Effect.runPromise(generateRsaKeyPair({ bits: 2048 }))),
);
const counting = () => {
  let made = 0;
  const generate = Effect.sync(() => pool[made++ % pool.length]!);
  return { generate, made: () => made };
};

const settle = Effect.promise(() => new Promise((r) => setTimeout(r, 5)));

Deno.test("makeKeyRing() without rotation makes one pair, and the next only when asked", async () => {
  const gen = counting();
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const ring = yield* makeKeyRing({ generate: gen.generate });
    yield* ring.current;
    yield* settle;
    assert.equal(gen.made(), 1, "no pair made ahead when rotation is off");
    const rotated = yield* ring.rotate;
    assert.equal(rotated.generation, 1);
    assert.equal(gen.made(), 2);
  })));
});

Deno.test("makeKeyRing() with rotation makes only the first pair until the spare's lead time", async () => {
  const gen = counting();
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const ring = yield* makeKeyRing({
        generate: gen.generate,
        rotation: rotationEvery(3_600_000),
      });
      const first = yield* ring.current;
      assert.equal(first.generation, 0);
      assert.equal(first.publicKey.pem.startsWith("-----BEGIN PUBLIC KEY-----\n"), true);
      yield* settle;
      assert.equal(gen.made(), 1, "no spare alongside the first pair");
      const again = yield* ring.current;
      assert.equal(again, first, "current is cached, not remade per request");
      yield* TestClock.adjust(3_600_000 - SPARE_LEAD_MILLIS - 1);
      yield* settle;
      assert.equal(gen.made(), 1, "still no spare just before its lead time");
      yield* TestClock.adjust(1);
      yield* settle;
      assert.equal(gen.made(), 2, "the spare starts SPARE_LEAD_MILLIS before the rotation");
      assert.equal((yield* ring.current).generation, 0, "made ahead, not yet installed");
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("a ring with the default 24 h rotation, used for an hour, makes one key pair", async () => {
  const gen = counting();
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const ring = yield* makeKeyRing({
        generate: gen.generate,
        rotation: rotationEvery(86_400_000),
      });
      yield* ring.current;
      yield* TestClock.adjust("1 hour");
      yield* settle;
      assert.equal(gen.made(), 1);
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("the spare never starts before the first pair is ready", async () => {
  let firstDone = false;
  let spareStartedEarly = false;
  const gen = counting();
  const generate = Effect.suspend(() => {
    if (!firstDone) spareStartedEarly = true;
    return gen.generate;
  });
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const slowFirst = Effect.as(Effect.sleep("5 seconds"), pool[0]!).pipe(
        Effect.tap(() => Effect.sync(() => firstDone = true)),
      );
      // An interval shorter than the lead: the spare is due at once, yet waits for the first.
      const ring = yield* makeKeyRing({
        initial: slowFirst,
        generate,
        rotation: rotationEvery(1000),
      });
      yield* settle;
      assert.equal(gen.made(), 0, "nothing but the first pair while it is being made");
      yield* TestClock.adjust("5 seconds");
      yield* settle;
      assert.equal((yield* ring.current).publicKey.fingerprint, pool[0]!.publicKey.fingerprint);
      assert.equal(spareStartedEarly, false);
      yield* TestClock.adjust("1 second");
      yield* settle;
      assert.ok(gen.made() >= 1, "the spare came after the first pair");
      assert.ok((yield* ring.current).generation >= 1, "and rotation goes on");
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("KeyRing rotates on its schedule, never before, with the TestClock", async () => {
  const gen = counting();
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const ring = yield* makeKeyRing({
        generate: gen.generate,
        rotation: rotationEvery(3_600_000),
      });
      const first = yield* ring.current;
      yield* TestClock.adjust("59 minutes");
      yield* settle;
      assert.equal((yield* ring.current).generation, 0, "no rotation before the interval");
      yield* TestClock.adjust("1 minute");
      yield* settle;
      const second = yield* ring.current;
      assert.equal(second.generation, 1);
      assert.notEqual(second.publicKey.fingerprint, first.publicKey.fingerprint);
      yield* TestClock.adjust("1 hour");
      yield* settle;
      assert.equal((yield* ring.current).generation, 2);
      // The first pair and one spare per rotation, each made ahead of its rotation.
      assert.equal(gen.made(), 3);
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("rotationEvery(0) turns rotation off", async () => {
  assert.equal(rotationEvery(0), undefined);
  const gen = counting();
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const ring = yield* makeKeyRing({ generate: gen.generate, rotation: rotationEvery(0) });
      yield* TestClock.adjust("1000 days");
      yield* settle;
      assert.equal((yield* ring.current).generation, 0);
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("KeyRing keeps the current pair when a rotation fails, and tries again", async () => {
  const gen = counting();
  let failSaves = 1;
  await Effect.runPromise(
    Effect.scoped(Effect.gen(function* () {
      const ring = yield* makeKeyRing({
        generate: gen.generate,
        rotation: rotationEvery(1000),
        onRotate: (pair) =>
          failSaves-- > 0
            ? Effect.fail(new KeyError({ reason: "Io", message: "Cannot save key: disk full" }))
            : Effect.succeed(pair),
      });
      const first = yield* ring.current;
      yield* TestClock.adjust("1 second");
      yield* settle;
      assert.equal(yield* ring.current, first, "failed save: no rotation");
      yield* TestClock.adjust("1 second");
      yield* settle;
      assert.equal((yield* ring.current).generation, 1, "next step rotates");
    })).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("KeyRing's rotation fiber stops when its scope closes", async () => {
  const gen = counting();
  await Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make();
      const ring = yield* Scope.extend(
        makeKeyRing({ generate: gen.generate, rotation: rotationEvery(1000) }),
        scope,
      );
      yield* ring.current;
      yield* Scope.close(scope, Exit.void);
      const madeAtClose = gen.made();
      yield* TestClock.adjust("1 hour");
      yield* settle;
      assert.equal(gen.made(), madeAtClose, "no rotation after the scope closed");
    }).pipe(Effect.provide(TestContext.TestContext)),
  );
});

Deno.test("KeyRing.install() makes a given pair current", async () => {
  const gen = counting();
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const ring = yield* makeKeyRing({ generate: gen.generate });
    const installed = yield* ring.install(pool[2]!);
    assert.equal((yield* ring.current).publicKey.fingerprint, pool[2]!.publicKey.fingerprint);
    assert.ok(installed.generation > 0);
  })));
});

Deno.test("a request in flight keeps its pair through a rotation", async () => {
  const gen = counting();
  await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const ring = yield* makeKeyRing({ generate: gen.generate });
    const taken = yield* ring.current;
    const fiber = yield* Effect.fork(Effect.as(Effect.sleep("10 millis"), taken));
    yield* ring.rotate;
    const held = yield* Fiber.join(fiber);
    assert.equal(held, taken);
    assert.notEqual((yield* ring.current).publicKey.fingerprint, taken.publicKey.fingerprint);
  })));
});
