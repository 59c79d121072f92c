/**
 * Smoke run of the bundled module under plain Node and Bun: generate a key pair, seal a package
 * to it, open it again. Prints "smoke: ok <runtime>" or exits non-zero.
 */
import { Effect, Layer } from "effect";
import {
  encodePackage,
  generateRsaKeyPair,
  HybridCipher,
  layerHybridCipher,
  layerSecureBytes,
  parsePackage,
} from "../mod.ts";

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "deno"
  : "node";
const text = JSON.stringify({ model: "m", messages: [{ role: "user", content: "smoke 🚀" }] });
const program = Effect.gen(function* () {
  const cipher = yield* HybridCipher;
  const keys = yield* generateRsaKeyPair({ bits: 2048 });
  const pkg = yield* cipher.seal(new TextEncoder().encode(text), keys.publicKey.key);
  const decoded = yield* parsePackage(encodePackage(pkg));
  return yield* Effect.scoped(
    Effect.map(cipher.open(decoded, keys.privateKey), (b) => new TextDecoder().decode(b)),
  );
});
const opened: string = await Effect.runPromise(
  Effect.provide(program, layerHybridCipher.pipe(Layer.provide(layerSecureBytes))),
);
if (opened !== text) {
  console.error(`smoke: FAILED ${runtime}: round trip changed the plaintext`);
  throw new Error("smoke failed");
}
console.log(`smoke: ok ${runtime} (RSA-2048 key pair, sealed and opened ${opened.length} chars)`);

// Key generation keeps the event loop turning (Bun: in a Worker; elsewhere WebCrypto's own
// thread pool): a 1 ms timer must tick while a 4096-bit pair is made.
let ticks = 0;
const timer = setInterval(() => ticks++, 1);
const began = performance.now();
const bigPair = await Effect.runPromise(generateRsaKeyPair({ bits: 4096 }));
clearInterval(timer);
const keygenMs = performance.now() - began;
if (bigPair.publicKey.bits !== 4096 || ticks < Math.min(10, keygenMs / 20)) {
  console.error(`smoke: FAILED ${runtime}: key generation blocked the event loop (${ticks} ticks)`);
  throw new Error("smoke failed");
}
console.log(
  `smoke: ok ${runtime} (RSA-4096 pair in ${
    keygenMs.toFixed(0)
  } ms, event loop ticked ${ticks} times)`,
);

// The whole client, through fetch and the test router (node:http), in this runtime.
const { SecureChatCompletion } = await import("../mod.ts");
const { startTestRouter } = await import("../src/testing/mod.ts");
const router = await startTestRouter();
try {
  const client = new SecureChatCompletion({ baseUrl: router.url, allowHttp: true, keySize: 2048 });
  const answer = await client.create({
    model: "m",
    messages: [{ role: "user", content: "smoke" }],
  });
  await client.dispose();
  if (answer.choices[0]?.message.content !== "Echo: smoke") throw new Error("smoke failed");
  console.log(`smoke: ok ${runtime} (encrypted round trip through the test router)`);
} finally {
  await router.close();
}
