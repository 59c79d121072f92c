/**
 * Test helpers shared by the suites: vector loading and a PEM reader written independently of
 * `src/keys` (so that tests of the cipher do not depend on the code under test for keys).
 */
import { Cause, Effect, Exit, type Layer, Option } from "effect";
import { readFile } from "node:fs/promises";

/** Reads a file under tests/vectors as text. */
export const vectorText = (path: string): Promise<string> =>
  readFile(new URL(`./vectors/${path}`, import.meta.url), "utf8");

/** Reads and parses a JSON file under tests/vectors. */
export const vectorJson = async <T = unknown>(path: string): Promise<T> =>
  JSON.parse(await vectorText(path)) as T;

/** DER bytes of the first PEM block (test-only, independent of src/keys). */
export const pemToDer = (pem: string): Uint8Array<ArrayBuffer> => {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
};

/** Imports a PKCS#8 PEM as an RSA-OAEP-SHA256 private key with plain WebCrypto. */
export const importTestPrivateKey = (pem: string): Promise<CryptoKey> =>
  crypto.subtle.importKey("pkcs8", pemToDer(pem), { name: "RSA-OAEP", hash: "SHA-256" }, false, [
    "decrypt",
    "unwrapKey",
  ]);

/** Imports an SPKI PEM as an RSA-OAEP-SHA256 public key with plain WebCrypto. */
export const importTestPublicKey = (pem: string): Promise<CryptoKey> =>
  crypto.subtle.importKey("spki", pemToDer(pem), { name: "RSA-OAEP", hash: "SHA-256" }, true, [
    "encrypt",
    "wrapKey",
  ]);

/** Hex to bytes. */
export const hex = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Runs an effect with a layer and returns its Exit. */
export const runExit = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  layer: Layer.Layer<R, never, never>,
): Promise<Exit.Exit<A, E>> => Effect.runPromiseExit(Effect.provide(effect, layer));

/** The failure value of an Exit (throws when it succeeded or died). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success");
  const failure = Cause.failureOption(exit.cause);
  if (Option.isNone(failure)) {
    throw new Error(`expected a typed failure: ${Cause.pretty(exit.cause)}`);
  }
  return failure.value;
};

/** mulberry32: a small seeded PRNG, so generated cases are the same on every run. */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** `length` random bytes from a seeded PRNG. */
export const randomBytes = (next: () => number, length: number): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
};

/**
 * Waits until a recording `SecureBytes` has lent `count` buffers; fails after 5 s instead of
 * hanging when the code under test lends fewer.
 */
export const untilLent = (
  recorder: { readonly lent: ReadonlyArray<Uint8Array> },
  count: number,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let waited = 0; recorder.lent.length < count; waited++) {
      if (waited >= 5000) {
        return yield* Effect.die(
          new Error(`expected ${count} lent buffers, saw ${recorder.lent.length}`),
        );
      }
      yield* Effect.sleep("1 millis");
    }
  });

/**
 * A client `fetch` that answers the completion endpoint with `answer()` (a redirect, an error
 * with router headers, …) and passes every other request (the router key) to the real `fetch`.
 * Counts the completion requests it answered.
 */
export const answeringCompletions = (
  answer: () => Response,
): { readonly fetch: typeof fetch; readonly calls: () => number } => {
  let calls = 0;
  const fake = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    if (!new URL(url).pathname.endsWith("/chat/secure_completion")) return fetch(input, init);
    calls++;
    return Promise.resolve(answer());
  };
  return { fetch: fake as typeof fetch, calls: () => calls };
};

/** The console methods {@linkcode captureConsole} can capture. */
export type ConsoleLevel = "log" | "info" | "warn" | "error" | "debug" | "trace";

/**
 * Runs `body` with the console methods of `levels` captured (not printed) and gives the lines
 * they printed, in order (a non-string argument as `Deno.inspect` shows it).
 */
export const captureConsole = async (
  levels: ReadonlyArray<ConsoleLevel>,
  body: () => unknown,
): Promise<string[]> => {
  const lines: string[] = [];
  const original = { ...console };
  for (const level of levels) {
    console[level] = (...args: unknown[]) =>
      void lines.push(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "));
  }
  try {
    await body();
  } finally {
    Object.assign(console, original);
  }
  return lines;
};
