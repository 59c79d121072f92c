import assert from "node:assert/strict";
import { Effect, Exit, Fiber } from "effect";
import {
  defaultKeyPairThread,
  generateKeyPairOffThread,
  type WorkerConstructor,
} from "../../src/keys/key_pair_worker.ts";

const RSA_2048: RsaHashedKeyGenParams = {
  name: "RSA-OAEP",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};
const USAGES: KeyUsage[] = ["encrypt", "decrypt", "wrapKey", "unwrapKey"];

/** Wraps an AES key to the pair and unwraps it: the pair works. */
const assertWorks = async (pair: CryptoKeyPair): Promise<void> => {
  const aes = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const wrapped = await crypto.subtle.wrapKey("raw", aes, pair.publicKey, { name: "RSA-OAEP" });
  const back = await crypto.subtle.unwrapKey(
    "raw",
    wrapped,
    pair.privateKey,
    { name: "RSA-OAEP" },
    "AES-GCM",
    true,
    ["encrypt"],
  );
  assert.deepEqual(
    new Uint8Array(await crypto.subtle.exportKey("raw", back)),
    new Uint8Array(await crypto.subtle.exportKey("raw", aes)),
  );
};

/** A fake Worker that behaves as told and records what happened to it. */
const fakeWorkers = (
  behave: (worker: FakeWorker, message: unknown) => void,
  { throwOnConstruct = false } = {},
) => {
  const made: FakeWorker[] = [];
  class FakeWorker extends EventTarget {
    onmessage: ((event: MessageEvent) => void) | null = null;
    onerror: ((event: ErrorEvent) => void) | null = null;
    onmessageerror: ((event: MessageEvent) => void) | null = null;
    terminated = false;
    constructor(readonly url: string, readonly options: WorkerOptions) {
      super();
      if (throwOnConstruct) throw new DOMException("blocked", "SecurityError");
      made.push(this);
    }
    postMessage(message: unknown): void {
      queueMicrotask(() => behave(this, message));
    }
    terminate(): void {
      this.terminated = true;
    }
  }
  return { made, Worker: FakeWorker as unknown as WorkerConstructor };
};
type FakeWorker = EventTarget & {
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  terminated: boolean;
  url: string;
  options: WorkerOptions;
};

// The real Worker path runs where it is used, under Bun, in .ci/smoke.ts (a timer must keep
// ticking while a 4096-bit pair is made). Deno never takes it (its generateKey already runs
// off the main thread), and starting and terminating Workers in its test runner once crashed
// Deno 2.9.6 ("attempt to access disposed Isolate").

Deno.test("generateKeyPairOffThread() starts a module worker and terminates it after use", async () => {
  const fake = fakeWorkers(async (worker, message) => {
    const { algorithm, extractable, usages } = message as {
      algorithm: RsaHashedKeyGenParams;
      extractable: boolean;
      usages: KeyUsage[];
    };
    const pair = await crypto.subtle.generateKey(algorithm, extractable, usages);
    worker.onmessage?.(new MessageEvent("message", { data: { pair } }));
  });
  const pair = await Effect.runPromise(
    generateKeyPairOffThread(RSA_2048, false, USAGES, { thread: "worker", Worker: fake.Worker }),
  );
  await assertWorks(pair);
  assert.equal(fake.made.length, 1);
  assert.equal(fake.made[0]!.options.type, "module");
  assert.ok(fake.made[0]!.url.startsWith("blob:"));
  assert.ok(fake.made[0]!.terminated);
});

Deno.test("generateKeyPairOffThread() falls back to the caller's thread on any Worker failure", async () => {
  const behaviours: Array<[string, (w: FakeWorker) => void]> = [
    ["garbage answer", (w) => w.onmessage?.(new MessageEvent("message", { data: { pair: 1 } }))],
    ["null answer", (w) => w.onmessage?.(new MessageEvent("message", { data: null }))],
    [
      "fake keys",
      (w) =>
        w.onmessage?.(
          new MessageEvent("message", { data: { pair: { privateKey: {}, publicKey: {} } } }),
        ),
    ],
    [
      "failure report",
      (w) => w.onmessage?.(new MessageEvent("message", { data: { failed: true } })),
    ],
    ["error event", (w) => w.onerror?.(new ErrorEvent("error", { cancelable: true }))],
  ];
  for (const [name, behave] of behaviours) {
    const fake = fakeWorkers(behave);
    const pair = await Effect.runPromise(
      generateKeyPairOffThread(RSA_2048, false, USAGES, { thread: "worker", Worker: fake.Worker }),
    );
    await assertWorks(pair);
    assert.equal(fake.made.length, 1, name);
    assert.ok(fake.made[0]!.terminated, `${name}: worker terminated`);
  }
  // A Worker that cannot even start (a Content-Security-Policy without blob:).
  const blocked = fakeWorkers(() => {}, { throwOnConstruct: true });
  await assertWorks(
    await Effect.runPromise(
      generateKeyPairOffThread(RSA_2048, false, USAGES, {
        thread: "worker",
        Worker: blocked.Worker,
      }),
    ),
  );
  assert.equal(blocked.made.length, 0);
});

Deno.test("generateKeyPairOffThread() terminates the worker when interrupted", async () => {
  const fake = fakeWorkers(() => {}); // never answers
  const exit = await Effect.runPromiseExit(Effect.gen(function* () {
    const fiber = yield* Effect.fork(
      generateKeyPairOffThread(RSA_2048, false, USAGES, { thread: "worker", Worker: fake.Worker }),
    );
    while (fake.made.length === 0) yield* Effect.yieldNow();
    yield* Fiber.interrupt(fiber);
  }));
  assert.ok(Exit.isSuccess(exit));
  assert.equal(fake.made.length, 1);
  assert.ok(fake.made[0]!.terminated);
});

Deno.test("generateKeyPairOffThread() on the caller's thread starts no worker; Deno's default is the caller", async () => {
  assert.equal(defaultKeyPairThread(), "caller");
  const fake = fakeWorkers(() => assert.fail("no worker expected"));
  const pair = await Effect.runPromise(
    generateKeyPairOffThread(RSA_2048, false, USAGES, { thread: "caller", Worker: fake.Worker }),
  );
  await assertWorks(pair);
  assert.equal(fake.made.length, 0);
  // WebCrypto's own refusal comes through when it is not a Worker problem.
  const exit = await Effect.runPromiseExit(
    generateKeyPairOffThread({ ...RSA_2048, hash: "MD5" }, false, USAGES, { thread: "caller" }),
  );
  assert.ok(Exit.isFailure(exit));
});
