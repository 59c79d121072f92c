/**
 * The lock file of the known-routers read-modify-write (`file_lock.ts`): created exclusively,
 * `0600`, never through a symbolic link; removed however the work ends and only by its holder;
 * waited for on the TestClock up to the bound, then a typed error naming it; a stale one taken
 * over, safely against a second process taking it over too. The fake file system is in memory;
 * the hostile cases run on the real one too.
 */
import assert from "node:assert/strict";
import { Deferred, Effect, Exit, Fiber, Option, TestClock, TestContext } from "effect";
import { KeyError } from "../../src/errors.ts";
import {
  LOCK_WAIT_MILLIS,
  lockPathOf,
  STALE_LOCK_MILLIS,
  withFileLock,
} from "../../src/keys/file_lock.ts";
import { importNodeFileSystem } from "../../src/keys/node_file_system.ts";
import { failureOf } from "../_helpers.ts";
import { memFileSystem } from "./_mem_file_system.ts";
import { withTempDir } from "./_helpers.ts";

const PATH = "/keys/known_routers.json";
const LOCK = lockPathOf(PATH);
const ACTION = "record router key";

const onTestClock = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(TestContext.TestContext)));

/** Advances the TestClock by `step` until the fiber ends (or `maxMillis` passed); the elapsed ms. */
const driveUntilDone = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  step = 10,
  maxMillis = 60_000,
): Effect.Effect<number> =>
  Effect.gen(function* () {
    let elapsed = 0;
    while (elapsed < maxMillis && Option.isNone(yield* Fiber.poll(fiber))) {
      yield* TestClock.adjust(step);
      elapsed += step;
    }
    return elapsed;
  });

/** Advances the TestClock by `millis` in steps of 10 ms. */
const advance = (millis: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let t = 0; t < millis; t += 10) yield* TestClock.adjust(10);
  });

Deno.test("withFileLock() creates the lock with O_CREAT|O_EXCL|O_NOFOLLOW, 0600, and removes it after the work", async () => {
  const fs = memFileSystem();
  fs.put("/keys", { kind: "dir" });
  let during: string | undefined;
  const result = await onTestClock(
    withFileLock(fs, PATH, ACTION, Effect.sync(() => (during = fs.text(LOCK), 42))),
  );
  assert.equal(result, 42);
  const open = fs.opens.find((o) => o.path === LOCK);
  assert.ok(open !== undefined);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  assert.equal(open.flags, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW!);
  assert.equal(open.mode, 0o600);
  assert.match(during ?? "", /^4242 [0-9a-f]{32}\n$/, "holds a token while the work runs");
  assert.equal(fs.nodes.has(LOCK), false, "removed after");
});

Deno.test("withFileLock() removes the lock when the work fails, and when it is interrupted", async () => {
  const fs = memFileSystem();
  const boom = new Error("work failed");
  const exit = await Effect.runPromiseExit(withFileLock(fs, PATH, ACTION, Effect.fail(boom)));
  assert.equal(failureOf(exit), boom);
  assert.equal(fs.nodes.has(LOCK), false, "removed after a failure");

  const defect = await Effect.runPromiseExit(withFileLock(fs, PATH, ACTION, Effect.die(boom)));
  assert.ok(Exit.isFailure(defect));
  assert.equal(fs.nodes.has(LOCK), false, "removed after a defect");

  await onTestClock(Effect.gen(function* () {
    const started = yield* Deferred.make<void>();
    const fiber = yield* Effect.fork(
      withFileLock(
        fs,
        PATH,
        ACTION,
        Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never)),
      ),
    );
    yield* Deferred.await(started);
    assert.equal(fs.nodes.has(LOCK), true, "held while the work runs");
    yield* Fiber.interrupt(fiber);
    assert.equal(fs.nodes.has(LOCK), false, "removed after an interruption");
  }));
});

Deno.test("withFileLock() waits while a live holder has the lock, then proceeds once it is released (TestClock)", async () => {
  const fs = memFileSystem();
  const order: string[] = [];
  await onTestClock(Effect.gen(function* () {
    const held = yield* Deferred.make<void>();
    const release = yield* Deferred.make<void>();
    const holder = yield* Effect.fork(
      withFileLock(
        fs,
        PATH,
        ACTION,
        Effect.gen(function* () {
          order.push("holder in");
          yield* Deferred.succeed(held, undefined);
          yield* Deferred.await(release);
          order.push("holder out");
        }),
      ),
    );
    yield* Deferred.await(held);
    const waiter = yield* Effect.fork(
      withFileLock(fs, PATH, ACTION, Effect.sync(() => void order.push("waiter in"))),
    );
    yield* advance(LOCK_WAIT_MILLIS / 2);
    assert.equal(Option.isNone(yield* Fiber.poll(waiter)), true, "still waiting");
    assert.deepEqual(order, ["holder in"]);
    yield* Deferred.succeed(release, undefined);
    yield* Fiber.join(holder);
    yield* driveUntilDone(waiter);
    yield* Fiber.join(waiter);
  }));
  assert.deepEqual(order, ["holder in", "holder out", "waiter in"]);
  assert.equal(fs.nodes.has(LOCK), false);
});

Deno.test("withFileLock() fails with KeyError Io naming the lock file when it is never released (TestClock)", async () => {
  const fs = memFileSystem();
  const token = "4243 secret-looking-holder-token\n";
  const lock = fs.put(LOCK, { bytes: new TextEncoder().encode(token) });
  let ran = false;
  const exit = await onTestClock(Effect.gen(function* () {
    const fiber = yield* Effect.fork(
      Effect.exit(withFileLock(fs, PATH, ACTION, Effect.sync(() => void (ran = true)))),
    );
    yield* advance(LOCK_WAIT_MILLIS - 200);
    assert.equal(Option.isNone(yield* Fiber.poll(fiber)), true, "still waiting before the bound");
    const elapsed = yield* driveUntilDone(fiber);
    assert.ok(elapsed <= 1_000, `ended soon after the bound (${elapsed} ms more)`);
    return yield* Fiber.join(fiber);
  }));
  const error = failureOf(exit);
  assert.ok(error instanceof KeyError);
  assert.equal(error.reason, "Io");
  assert.ok(error.message.includes(LOCK), error.message);
  assert.ok(!error.message.includes("secret-looking"), "never what the lock holds");
  assert.equal(ran, false);
  assert.equal(fs.nodes.get(LOCK), lock, "another's lock is never removed");
});

Deno.test("withFileLock() takes over a stale lock (older than STALE_LOCK_MILLIS), not a younger one", async () => {
  const fs = memFileSystem();
  fs.put(LOCK, { mtimeMs: fs.clock - STALE_LOCK_MILLIS, bytes: new TextEncoder().encode("1 x\n") });
  let ran = 0;
  await onTestClock(Effect.gen(function* () {
    const fiber = yield* Effect.fork(withFileLock(fs, PATH, ACTION, Effect.sync(() => void ran++)));
    yield* driveUntilDone(fiber);
    yield* Fiber.join(fiber);
  }));
  assert.equal(ran, 1);
  assert.deepEqual([...fs.nodes.keys()], [], "the stale lock and its renamed copy are gone");

  // One millisecond younger than the bound: a live holder, waited for, never removed.
  const young = fs.put(LOCK, { mtimeMs: fs.clock - STALE_LOCK_MILLIS + 1 });
  const exit = await onTestClock(Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.exit(withFileLock(fs, PATH, ACTION, Effect.void)));
    yield* driveUntilDone(fiber);
    return yield* Fiber.join(fiber);
  }));
  const error = failureOf(exit);
  assert.ok(error instanceof KeyError && error.reason === "Io");
  assert.equal(fs.nodes.get(LOCK), young);
});

Deno.test("withFileLock() waits for a lock that turns stale while waited for, then takes it over", async () => {
  const fs = memFileSystem();
  fs.put(LOCK, { mtimeMs: fs.clock - STALE_LOCK_MILLIS + 500 });
  let ran = false;
  await onTestClock(Effect.gen(function* () {
    const fiber = yield* Effect.fork(
      withFileLock(fs, PATH, ACTION, Effect.sync(() => void (ran = true))),
    );
    yield* advance(300);
    assert.equal(ran, false);
    fs.clock += 500; // the file system's clock: the lock is now 30 s old
    yield* driveUntilDone(fiber);
    yield* Fiber.join(fiber);
  }));
  assert.equal(ran, true);
  assert.equal(fs.nodes.has(LOCK), false);
});

Deno.test("withFileLock(): two processes taking over the same stale lock; the fresh lock of the first is put back", async () => {
  const fs = memFileSystem();
  fs.put("/keys", { kind: "dir" });
  fs.put(LOCK, { mtimeMs: fs.clock - STALE_LOCK_MILLIS - 1 });
  // Between our lstat (stale) and our rename, another process took the stale lock over and
  // holds a fresh one: our rename moves *that* one.
  let theirs: ReturnType<typeof fs.put> | undefined;
  fs.beforeRename = (from) => {
    if (from === LOCK && theirs === undefined) {
      theirs = fs.put(LOCK, { bytes: new TextEncoder().encode("4243 theirs\n") });
    }
  };
  let ran = false;
  await onTestClock(Effect.gen(function* () {
    const fiber = yield* Effect.fork(
      withFileLock(fs, PATH, ACTION, Effect.sync(() => void (ran = true))),
    );
    yield* advance(200);
    assert.equal(ran, false, "their lock is respected");
    assert.equal(fs.nodes.get(LOCK), theirs, "their lock is back at the lock path");
    assert.equal(fs.text(LOCK), "4243 theirs\n");
    assert.deepEqual(
      [...fs.nodes.keys()].filter((p) => p.endsWith(".stale")),
      [],
      "the renamed copy is gone",
    );
    fs.nodes.delete(LOCK); // they release it
    yield* driveUntilDone(fiber);
    yield* Fiber.join(fiber);
  }));
  assert.equal(ran, true);
  assert.equal(fs.nodes.has(LOCK), false);
});

Deno.test("withFileLock(): only the holder removes the lock (same inode and token)", async () => {
  for (const replace of ["another inode", "the same inode, another token"] as const) {
    const fs = memFileSystem();
    let other: ReturnType<typeof fs.put> | undefined;
    await onTestClock(
      withFileLock(
        fs,
        PATH,
        ACTION,
        Effect.sync(() => {
          // Taken over meanwhile (as stale) by another process, which now holds its own.
          const ours = fs.nodes.get(LOCK)!;
          other = fs.put(LOCK, {
            ino: replace === "another inode" ? ours.ino + 1000 : ours.ino,
            bytes: new TextEncoder().encode("4243 someone else\n"),
          });
        }),
      ),
    );
    assert.equal(fs.nodes.get(LOCK), other, replace);
  }
});

Deno.test("withFileLock() refuses a symbolic link or a directory at the lock path, and touches neither", async () => {
  const fs = memFileSystem();
  const target = fs.put("/etc/important", { bytes: new TextEncoder().encode("keep\n") });
  fs.put(LOCK, { kind: "symlink", target: "/etc/important", mtimeMs: 0 });
  let ran = false;
  const work = Effect.sync(() => void (ran = true));
  const link = failureOf(await Effect.runPromiseExit(withFileLock(fs, PATH, ACTION, work)));
  assert.ok(link instanceof KeyError);
  assert.equal(link.reason, "InsecurePermissions");
  assert.ok(link.message.includes(LOCK) && /symbolic link/.test(link.message), link.message);
  assert.equal(fs.text("/etc/important"), "keep\n");
  assert.equal(fs.nodes.get("/etc/important"), target);
  assert.equal(fs.nodes.get(LOCK)?.kind, "symlink", "an old link is not taken over as stale");

  fs.nodes.delete(LOCK);
  fs.put(LOCK, { kind: "dir", mtimeMs: 0 });
  const dir = failureOf(await Effect.runPromiseExit(withFileLock(fs, PATH, ACTION, work)));
  assert.ok(dir instanceof KeyError);
  assert.equal(dir.reason, "Io");
  assert.ok(dir.message.includes(LOCK) && /not a regular file/.test(dir.message), dir.message);
  assert.equal(fs.nodes.get(LOCK)?.kind, "dir");
  assert.equal(ran, false);
});

Deno.test("withFileLock() on the real file system: a symbolic link (dangling or not) or a directory at the lock path is refused, never written through", async () => {
  const fs = await importNodeFileSystem();
  await withTempDir(async (dir) => {
    const path = `${dir}/known_routers.json`;
    const lock = lockPathOf(path);
    const run = () =>
      Effect.runPromiseExit(withFileLock(fs, path, ACTION, Effect.fail("the work ran" as const)));

    await Deno.writeTextFile(`${dir}/target`, "keep\n");
    await Deno.symlink(`${dir}/target`, lock);
    const link = failureOf(await run());
    assert.ok(link instanceof KeyError && link.reason === "InsecurePermissions", String(link));
    assert.ok(link.message.includes(lock));
    assert.equal(await Deno.readTextFile(`${dir}/target`), "keep\n");
    assert.ok((await Deno.lstat(lock)).isSymlink);
    await Deno.remove(lock);

    await Deno.symlink(`${dir}/created-through-the-link`, lock);
    const dangling = failureOf(await run());
    assert.ok(dangling instanceof KeyError && dangling.reason === "InsecurePermissions");
    await assert.rejects(Deno.lstat(`${dir}/created-through-the-link`), Deno.errors.NotFound);
    await Deno.remove(lock);

    await Deno.mkdir(lock);
    const directory = failureOf(await run());
    assert.ok(directory instanceof KeyError && directory.reason === "Io", String(directory));
    assert.ok(directory.message.includes(lock));
    assert.ok((await Deno.lstat(lock)).isDirectory);
    await Deno.remove(lock);

    // A plain run: made 0600, removed after.
    let mode = 0;
    const ok = await Effect.runPromiseExit(
      withFileLock(
        fs,
        path,
        ACTION,
        Effect.promise(async () => void (mode = (await Deno.lstat(lock)).mode! & 0o777)),
      ),
    );
    assert.ok(Exit.isSuccess(ok));
    assert.equal(mode, 0o600);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["target"]);
  });
});

Deno.test("withFileLock() on the real file system takes over a stale lock left by a crashed holder", async () => {
  const fs = await importNodeFileSystem();
  await withTempDir(async (dir) => {
    const path = `${dir}/known_routers.json`;
    const lock = lockPathOf(path);
    await Deno.writeTextFile(lock, "1 crashed\n", { mode: 0o600 });
    const old = new Date(Date.now() - STALE_LOCK_MILLIS - 1_000);
    await Deno.utime(lock, old, old);
    let ran = false;
    const exit = await Effect.runPromiseExit(
      withFileLock(fs, path, ACTION, Effect.sync(() => void (ran = true))),
    );
    assert.ok(Exit.isSuccess(exit));
    assert.equal(ran, true);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});
