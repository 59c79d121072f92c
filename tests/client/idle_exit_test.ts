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

/** Longer than any key generation and request here; only a hang reaches it. */
const HANG_MILLIS = 20_000;
const child = new URL("./_idle_child.ts", import.meta.url).pathname;

/** Runs a command; `"hung"` when it is still running after {@linkcode HANG_MILLIS}. */
const runBounded = async (
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string } | "hung"> => {
  const process = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), HANG_MILLIS);
  });
  const output = process.output().then((o) => ({
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  }));
  const result = await Promise.race([output, hung]);
  clearTimeout(timer);
  if (result === "hung") {
    process.kill("SIGKILL");
    await output;
  }
  return result;
};

let bundled: Promise<string> | undefined;
/** The child bundled for Node and Bun, as .ci/run bundles its smoke test. */
const bundle = (): Promise<string> =>
  bundled ??= (async () => {
    const out = `${await Deno.makeTempDir({ prefix: "nomyo_idle_" })}/idle_child.mjs`;
    const result = await runBounded("deno", ["bundle", "--platform", "browser", "-o", out, child]);
    assert.ok(result !== "hung" && result.code === 0, `bundling failed: ${JSON.stringify(result)}`);
    return out;
  })();

const runtimes: Record<string, (args: string[]) => Promise<[string, string[]]>> = {
  deno: (args) =>
    Promise.resolve(["deno", ["run", "--no-check", "--allow-net=127.0.0.1", child, ...args]]),
  node: async (args) => ["node", [await bundle(), ...args]],
  bun: async (args) => ["npx", ["--yes", "bun@1", await bundle(), ...args]],
};

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
