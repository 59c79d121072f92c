/**
 * An idle client does not keep the process alive: a script that makes a client (rotation on,
 * the default) and never calls `dispose()` exits by itself, under Deno, Node and Bun, whether
 * the client was used or not. And `dispose()` of a fresh client does not wait for its key
 * generation.
 *
 * The subprocesses are killed after a generous bound: that detects "hangs for ever", it is not
 * a performance assertion.
 */
import assert from "node:assert/strict";
import { Deferred, Effect, Layer, Schedule } from "effect";
import { ClientRuntime } from "../../src/promise/runtime.ts";
import { KeyRing, layerKeyRing } from "../../src/keys/key_ring.ts";
import type { RsaKeyPair } from "../../src/keys/rsa_key.ts";
import { startTestRouter } from "../../src/testing/router.ts";
import { runBounded as runInTime, runtimeCommands } from "../_subprocess.ts";

/** Longer than any key generation and request here; only a hang reaches it. */
const HANG_MILLIS = 20_000;
const child = new URL("./_idle_child.ts", import.meta.url).pathname;

const runBounded = (command: string, args: string[]) => runInTime(command, args, HANG_MILLIS);
/** Deno runs the child's source; Node and Bun a bundle of it, as .ci/run bundles its smoke test. */
const runtimes = runtimeCommands(child, "browser");

for (const [runtime, commandFor] of Object.entries(runtimes)) {
  // The idle clock and the joined first key pair together: an aborted first call through
  // client.fetch leaves the client usable, and the process still exits without dispose().
  Deno.test(`a client whose first client.fetch call was aborted still answers and lets ${runtime} exit`, async () => {
    const router = await startTestRouter();
    try {
      const [command, args] = await commandFor([router.url, "abort-first"]);
      const result = await runBounded(command, args);
      assert.notEqual(result, "hung", `${runtime} did not exit within ${HANG_MILLIS} ms`);
      if (result === "hung") return;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^done$/m);
      const sealed = router.requests.filter((r) => r.path === "/v1/chat/secure_completion");
      assert.equal(sealed.length, 1, "the aborted call sent nothing; the second one was sealed");
    } finally {
      await router.close();
    }
  });
  // Exit time after dispose() of a first run (one request, default 4096-bit key and 24 h
  // rotation): reported, not asserted. Before the spare was made lazily, a second RSA-4096
  // generation ran alongside the first answer and could hold Node 20 for seconds.
  Deno.test(`one request then dispose(): ${runtime} exits (exit time after dispose reported)`, async () => {
    const router = await startTestRouter();
    try {
      const [command, args] = await commandFor([router.url, "dispose"]);
      const result = await runBounded(command, args);
      const exitedAt = Date.now();
      assert.notEqual(result, "hung", `${runtime} did not exit within ${HANG_MILLIS} ms`);
      if (result === "hung") return;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^done$/m);
      const disposedAt = Number(/^disposed-at (\d+)$/m.exec(result.stdout)?.[1]);
      assert.ok(Number.isFinite(disposedAt), "the child reported when dispose() returned");
      console.log(`[measure] ${runtime}: exit ${exitedAt - disposedAt} ms after dispose()`);
      const sealed = router.requests.filter((r) => r.path === "/v1/chat/secure_completion");
      assert.equal(sealed.length, 1);
    } finally {
      await router.close();
    }
  });
  for (const used of [false, true]) {
    Deno.test(`a ${used ? "used" : "never used"} client without dispose() lets ${runtime} exit`, async () => {
      const router = used ? await startTestRouter() : undefined;
      try {
        const [command, args] = await commandFor(router === undefined ? [] : [router.url]);
        const result = await runBounded(command, args);
        assert.notEqual(result, "hung", `${runtime} did not exit within ${HANG_MILLIS} ms`);
        if (result === "hung") return;
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^done$/m);
      } finally {
        await router?.close();
      }
    });
  }
}

Deno.test("dispose() of a fresh client returns while its key generation is still running", async () => {
  const generation = Effect.runSync(Deferred.make<RsaKeyPair>());
  let started = 0;
  const slowGenerate = Effect.suspend(() => {
    started++;
    return Deferred.await(generation); // never completed: generation never finishes
  });
  const runtime = new ClientRuntime(
    layerKeyRing({ generate: slowGenerate, rotation: Schedule.spaced("1 hour") }).pipe(
      Layer.provideMerge(Layer.empty),
    ),
  );
  // Builds the layer: the first pair starts generating (the spare waits for its lead time).
  const pending = runtime.run(Effect.flatMap(KeyRing, (ring) => ring.current));
  pending.catch(() => undefined);
  while (started < 1) await new Promise((r) => setTimeout(r, 1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    runtime.dispose().then(() => "disposed"),
    new Promise((resolve) => timer = setTimeout(() => resolve("hung"), HANG_MILLIS)),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, "disposed");
  assert.equal(await Effect.runPromise(Deferred.isDone(generation)), false);
  await assert.rejects(pending, (e: Error) => e.name === "DisposedError");
});
